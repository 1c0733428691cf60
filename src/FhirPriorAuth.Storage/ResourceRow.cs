using System.IO.Compression;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
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

/// <summary>A body as stored: its bytes and how they are compressed.</summary>
internal readonly record struct EncodedBody(byte[]? Body, int Compression);

/// <summary>
/// Resource bodies are deflated when that saves at least a fifth: PAS bundles' resources are repetitive JSON, small ones
/// are not worth the CPU. Deflate at its fastest level took 30 µs for a 25 KB request against 480 µs for Brotli at
/// quality 1, for output a fifth larger (docs/performance.md). Rows written Brotli-compressed before still read.
/// </summary>
internal static class BodyCodec
{
    public const int None = 0;
    public const int Brotli = 1;
    public const int Deflate = 2;

    /// <summary>
    /// A response deflated without the request resources it echoes (<see cref="StoredResponse"/>); read back with its
    /// request's body. Only in <c>Submission.response_compression</c>.
    /// </summary>
    public const int DeflatedEchoCut = 3;
    private const int MinimumSize = 1024;

    /// <summary>A version's body as stored; a deletion has none.</summary>
    public static EncodedBody Encode(ResourceWrite write) => write.Json is { } json ? Encode(json) : new EncodedBody(null, None);

    public static EncodedBody Encode(byte[] json)
    {
        if (json.Length < MinimumSize)
        {
            return new EncodedBody(json, None);
        }
        var packed = Deflated.Pack(json);
        return packed.Length <= json.Length * 4 / 5 ? new EncodedBody(packed, Deflate) : new EncodedBody(json, None);
    }

    /// <summary>A response as stored: without the request resources it echoes when it has any (<see cref="DeflatedEchoCut"/>).</summary>
    public static EncodedBody EncodeResponse(byte[] response, IReadOnlyList<EchoedSpan> echoes) => echoes.Count == 0
        ? Encode(response)
        : new EncodedBody(Deflated.Pack(StoredResponse.Cut(response, echoes)), DeflatedEchoCut);

    public static byte[] Decode(byte[] body, int compression)
    {
        if (compression == None)
        {
            return body;
        }
        using var input = new MemoryStream(body);
        using Stream decompressor = compression switch
        {
            Brotli => new BrotliStream(input, CompressionMode.Decompress),
            Deflate => new DeflateStream(input, CompressionMode.Decompress),
            _ => throw new InvalidDataException($"Unknown body compression {compression}."),
        };
        using var output = new MemoryStream(body.Length * 4);
        decompressor.CopyTo(output);
        return output.ToArray();
    }
}
