using System.Buffers;
using System.Buffers.Binary;
using FhirPriorAuth.Core.Fhir;

namespace FhirPriorAuth.Core.Pas;

/// <summary>
/// A part of a response that is a request resource echoed as sent: <paramref name="Length"/> bytes at
/// <paramref name="At"/> in the response, the request's bytes at <paramref name="SentAt"/> (<paramref name="SentLength"/>
/// of them) without the whitespace between tokens.
/// </summary>
public readonly record struct EchoedSpan(int At, int Length, int SentAt, int SentLength);

/// <summary>
/// A PAS response as stored beside its request: without the request resources it echoes, which the request's stored
/// body already holds. Most of a response is that echo; stored whole, it was stored twice (docs/performance.md,
/// "Twenty-first pass").
/// </summary>
public static class StoredResponse
{
    private const byte Format = 1;
    private const int SpanSize = 16;

    /// <summary>The response with its echoed spans cut out, and where they were, for <see cref="Restore"/>.</summary>
    public static byte[] Cut(ReadOnlySpan<byte> response, IReadOnlyList<EchoedSpan> echoed)
    {
        var header = 5 + echoed.Count * SpanSize;
        var cut = new byte[header + response.Length - echoed.Sum(e => e.Length)];
        cut[0] = Format;
        BinaryPrimitives.WriteInt32LittleEndian(cut.AsSpan(1), echoed.Count);
        var written = header;
        var copied = 0;
        for (var i = 0; i < echoed.Count; i++)
        {
            var span = echoed[i];
            if (span.At < copied || span.Length < 0 || span.At + span.Length > response.Length)
            {
                throw new ArgumentException("Echoed spans must be in order, apart, and inside the response.", nameof(echoed));
            }
            var at = cut.AsSpan(5 + i * SpanSize);
            BinaryPrimitives.WriteInt32LittleEndian(at, span.At);
            BinaryPrimitives.WriteInt32LittleEndian(at[4..], span.Length);
            BinaryPrimitives.WriteInt32LittleEndian(at[8..], span.SentAt);
            BinaryPrimitives.WriteInt32LittleEndian(at[12..], span.SentLength);
            response[copied..span.At].CopyTo(cut.AsSpan(written));
            written += span.At - copied;
            copied = span.At + span.Length;
        }
        response[copied..].CopyTo(cut.AsSpan(written));
        return cut;
    }

    /// <summary>The response <see cref="Cut"/> made <paramref name="cut"/> from, with the request it was the answer to.</summary>
    /// <exception cref="InvalidDataException">The stored parts do not fit together.</exception>
    public static byte[] Restore(ReadOnlyMemory<byte> cut, ReadOnlyMemory<byte> request)
    {
        var header = cut.Span;
        if (header.Length < 5 || header[0] != Format || BinaryPrimitives.ReadInt32LittleEndian(header[1..]) is var count && count < 0
            || 5 + (long)count * SpanSize > header.Length)
        {
            throw new InvalidDataException("Not a stored response.");
        }
        return KeptBuffer.ToArray(output =>
        {
            var spans = cut.Span;
            var sent = request.Span;
            var rest = spans[(5 + count * SpanSize)..];
            var restored = 0;
            for (var i = 0; i < count; i++)
            {
                var at = spans[(5 + i * SpanSize)..];
                var (spanAt, length, sentAt, sentLength) = (BinaryPrimitives.ReadInt32LittleEndian(at), BinaryPrimitives.ReadInt32LittleEndian(at[4..]),
                    BinaryPrimitives.ReadInt32LittleEndian(at[8..]), BinaryPrimitives.ReadInt32LittleEndian(at[12..]));
                var before = spanAt - restored;
                if (before < 0 || before > rest.Length || sentAt < 0 || sentLength < 0 || (long)sentAt + sentLength > sent.Length)
                {
                    throw new InvalidDataException("A stored response's echoed span does not fit it or its request.");
                }
                output.Write(rest[..before]);
                rest = rest[before..];
                var start = output.WrittenCount;
                Compact(sent.Slice(sentAt, sentLength), output);
                if (output.WrittenCount - start != length)
                {
                    throw new InvalidDataException("A stored response's echoed span differs from its request.");
                }
                restored = spanAt + length;
            }
            output.Write(rest);
        });
    }

    private static readonly SearchValues<byte> OutsideStrings = SearchValues.Create(" \n\r\t\""u8);
    private static readonly SearchValues<byte> InsideStrings = SearchValues.Create("\"\\"u8);

    /// <summary>Copies JSON without the whitespace between its tokens.</summary>
    /// <remarks>
    /// Runs between the bytes that matter (whitespace and quotes outside strings, quotes and escapes inside them) are
    /// found by vectorized search and copied whole: most bodies are compact already, and a byte loop was most of an
    /// echo's cost.
    /// </remarks>
    internal static void Compact(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        var target = output.GetSpan(json.Length);
        var length = 0;
        var rest = json;
        while (!rest.IsEmpty)
        {
            var stop = rest.IndexOfAny(OutsideStrings);
            var run = stop < 0 ? rest.Length : stop;
            rest[..run].CopyTo(target[length..]);
            length += run;
            if (stop < 0)
            {
                break;
            }
            var quote = rest[stop] == '"';
            rest = rest[(stop + 1)..];
            if (!quote)
            {
                continue; // whitespace between tokens
            }
            // A string, through its closing quote; an escape and the byte after it are copied together.
            target[length++] = (byte)'"';
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOfAny(InsideStrings);
                var through = end < 0 ? rest.Length : Math.Min(end + (rest[end] == '"' ? 1 : 2), rest.Length);
                rest[..through].CopyTo(target[length..]);
                length += through;
                var closed = end >= 0 && rest[end] == '"';
                rest = rest[through..];
                if (closed)
                {
                    break;
                }
            }
        }
        output.Advance(length);
    }
}
