using System.Buffers;
using System.IO.Compression;
using System.Text;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// Conformance resources are kept deflated until they are parsed. Most are never parsed (the core value sets and code
/// systems, the packages' other profiles); kept as text they held the server's RSS at ready 55 MB higher. Deflated at
/// the fastest level they are about a seventh of their size, and start-up time did not measurably change.
/// </summary>
internal static class Deflated
{
    public static byte[] Pack(ReadOnlySpan<byte> utf8)
    {
        using var packed = new MemoryStream(utf8.Length / 6 + 64);
        using (var deflate = new DeflateStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(utf8);
        }
        return packed.ToArray();
    }

    public static byte[] Pack(string text)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            return Pack(buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static string Unpack(byte[] packed)
    {
        using var reader = new StreamReader(new DeflateStream(new MemoryStream(packed), CompressionMode.Decompress), Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
