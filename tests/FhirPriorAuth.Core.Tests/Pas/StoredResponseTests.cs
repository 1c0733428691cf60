using System.Buffers;
using FhirPriorAuth.Core.Pas;

namespace FhirPriorAuth.Core.Tests.Pas;

/// <summary>The compaction an echo and a restored response rely on, against the byte-by-byte rule it replaces.</summary>
public sealed class StoredResponseTests
{
    private static readonly byte[] Alphabet = " \n\"\\a{\t"u8.ToArray();

    [Fact]
    public void Compacting_drops_exactly_the_whitespace_outside_strings_for_every_short_input_and_long_random_ones()
    {
        var checkedInputs = 0;
        foreach (var input in ShortInputs(6).Concat(LongInputs()))
        {
            var output = new ArrayBufferWriter<byte>();
            StoredResponse.Compact(input, output);
            if (!output.WrittenSpan.SequenceEqual(ByteByByte(input)))
            {
                Assert.Fail($"compacted differently: [{string.Join(",", input)}]");
            }
            checkedInputs++;
        }
        Assert.True(checkedInputs > 100_000, $"{checkedInputs} inputs");
    }

    /// <summary>Every string of up to <paramref name="maxLength"/> bytes over the bytes that matter and one that does not.</summary>
    private static IEnumerable<byte[]> ShortInputs(int maxLength)
    {
        for (var length = 0; length <= maxLength; length++)
        {
            var digits = new int[length];
            while (true)
            {
                yield return digits.Select(d => Alphabet[d]).ToArray();
                var at = 0;
                while (at < length && ++digits[at] == Alphabet.Length)
                {
                    digits[at++] = 0;
                }
                if (at == length)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Longer inputs, mostly plain bytes, so that the vectorized search runs over long stretches.</summary>
    private static IEnumerable<byte[]> LongInputs()
    {
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var input = new byte[random.Next(0, 400)];
            for (var j = 0; j < input.Length; j++)
            {
                input[j] = random.Next(10) == 0 ? Alphabet[random.Next(Alphabet.Length)] : (byte)('b' + random.Next(20));
            }
            yield return input;
        }
    }

    private static byte[] ByteByByte(byte[] json)
    {
        var output = new List<byte>();
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                if (b == '\\')
                {
                    output.Add(b);
                    if (++i == json.Length)
                    {
                        break;
                    }
                    b = json[i];
                }
                else if (b == '"')
                {
                    inString = false;
                }
            }
            else if (b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                continue;
            }
            else if (b == '"')
            {
                inString = true;
            }
            output.Add(b);
        }
        return output.ToArray();
    }
}
