using System.IO.Compression;
using FhirPriorAuth.Core.Storage;

namespace FhirPriorAuth.Storage;

/// <summary>A row of the Resource table as Dapper reads it.</summary>
internal sealed class ResourceRow
{
    public string ResourceType { get; set; } = "";
    public string Id { get; set; } = "";
    public int Version { get; set; }
    public long LastUpdated { get; set; }
    public bool IsDeleted { get; set; }
    public int Compression { get; set; }
    public byte[]? Body { get; set; }
    public long Sequence { get; set; }

    /// <summary>The search's sort key (searches only).</summary>
    public long SortKey { get; set; }

    public StoredResource ToStored() => new(ResourceType, Id, Version, new DateTimeOffset(LastUpdated, TimeSpan.Zero),
        IsDeleted, Body is null ? ReadOnlyMemory<byte>.Empty : BodyCodec.Decode(Body, Compression));
}

/// <summary>
/// Resource bodies are Brotli-compressed when that saves at least a fifth: PAS bundles' resources are repetitive JSON,
/// small ones are not worth the CPU.
/// </summary>
internal static class BodyCodec
{
    public const int None = 0;
    public const int Brotli = 1;
    private const int MinimumSize = 1024;

    public static (byte[] Body, int Compression) Encode(byte[] json)
    {
        if (json.Length < MinimumSize)
        {
            return (json, None);
        }
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(json.Length)];
        if (BrotliEncoder.TryCompress(json, buffer, out var written, quality: 1, window: 22) && written <= json.Length * 4 / 5)
        {
            return (buffer[..written], Brotli);
        }
        return (json, None);
    }

    public static byte[] Decode(byte[] body, int compression)
    {
        if (compression == None)
        {
            return body;
        }
        using var input = new MemoryStream(body);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(body.Length * 4);
        brotli.CopyTo(output);
        return output.ToArray();
    }
}
