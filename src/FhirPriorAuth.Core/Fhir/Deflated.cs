using System.Buffers;
using System.IO.Compression;
using System.Text;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// JSON and XML kept deflated at the fastest level: about a seventh of their size for little CPU. Conformance resources
/// stay so until parsed (most never are; as text they held the server's RSS at ready 55 MB higher), and the store keeps
/// resource and submission bodies so (16 times cheaper than Brotli for a fifth more bytes).
/// </summary>
public static class Deflated
{
    /// <summary>Deflates UTF-8 bytes.</summary>
    public static byte[] Pack(ReadOnlySpan<byte> utf8)
    {
        // The output stream is kept per thread and reused, unless a large body grew it: a new one per body was a second
        // copy of every body's output.
        var packed = t_packed ?? new MemoryStream(16 * 1024);
        t_packed = null;
        try
        {
            using (var deflate = new DeflateStream(packed, CompressionLevel.Fastest, leaveOpen: true))
            {
                deflate.Write(utf8);
            }
            return packed.ToArray();
        }
        finally
        {
            packed.SetLength(0);
            if (packed.Capacity <= KeptPacked)
            {
                t_packed = packed;
            }
        }
    }

    private const int KeptPacked = 256 * 1024;

    [ThreadStatic]
    private static MemoryStream? t_packed;

    /// <summary>Deflates text as UTF-8.</summary>
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

    /// <summary>The text that <see cref="Pack(string)"/> deflated.</summary>
    public static string Unpack(byte[] packed)
    {
        using var reader = new StreamReader(new DeflateStream(new MemoryStream(packed), CompressionMode.Decompress), Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
