using System.Collections.Concurrent;
using System.IO.Compression;
using System.Xml;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Source;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// The R4 core definitions (StructureDefinitions, ValueSets, CodeSystems) from the SDK's <c>specification.zip</c>,
/// indexed by canonical url in one pass over its bundle files. Firely's ZipSource finds a resource by reading its
/// bundle file from the start every time, which made compiling the PAS profiles take seconds; here each resource is
/// kept as its XML, deflated, and parsed when asked for (a new object each time: callers cache, and may correct what they get).
/// The index is saved in a cache directory and read back by the next process while the zip is the same file: building
/// it tokenizes 48 MB of XML, about 1.3 s of CPU of a 6 s start-up.
/// </summary>
internal sealed class CoreSpecification : IAsyncResourceResolver
{
    private static readonly string[] Files =
        ["profiles-types.xml", "profiles-resources.xml", "profiles-others.xml", "extension-definitions.xml", "valuesets.xml", "v3-codesystems.xml", "v2-tables.xml"];

    private static readonly HashSet<string> IndexedTypes = ["StructureDefinition", "ValueSet", "CodeSystem"];

    // The core definitions carry a few literal oddities (whitespace in mapping values) a strict parser refuses.
    private static readonly FhirXmlDeserializer Deserializer = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    private readonly Lazy<Dictionary<string, byte[]>> _byUrl;

    private const string CacheFormat = "fhirpriorauth-core-index-1";

    /// <summary>An index over <paramref name="zipPath"/>, kept in <paramref name="cacheDirectory"/> between processes (null: not kept).</summary>
    internal CoreSpecification(string zipPath, string? cacheDirectory) => _byUrl = new(() => Load(zipPath, cacheDirectory));

    private static readonly string Zip = Path.Combine(AppContext.BaseDirectory, "specification.zip");
    private static readonly ConcurrentDictionary<string, CoreSpecification> ByCacheDirectory = new(StringComparer.Ordinal);

    /// <summary>The directory the index is kept in unless configured: <c>fhirpriorauth</c> in the temporary directory.</summary>
    public static string DefaultCacheDirectory { get; } = Path.Combine(Path.GetTempPath(), "fhirpriorauth");

    /// <summary>The process's index (it is immutable), kept in the default cache directory; built or read on first use.</summary>
    public static CoreSpecification Shared => For(DefaultCacheDirectory);

    /// <summary>The process's index kept in <paramref name="cacheDirectory"/>: one per directory.</summary>
    public static CoreSpecification For(string cacheDirectory) =>
        ByCacheDirectory.GetOrAdd(Path.GetFullPath(cacheDirectory), directory => new CoreSpecification(Zip, directory));

    /// <summary>How many definitions the index holds.</summary>
    internal int Count => _byUrl.Value.Count;

    public Task<ResolverResult> TryResolveByCanonicalUriAsync(string uri) => Task.FromResult(Resolve(uri));

    public Task<ResolverResult> TryResolveByUriAsync(string uri) => Task.FromResult(Resolve(uri));

    // The interface still requires these two obsolete members.
    public Task<Resource?> ResolveByUriAsync(string uri) => Task.FromResult(Resolve(uri).Value);

    public Task<Resource?> ResolveByCanonicalUriAsync(string uri) => Task.FromResult(Resolve(uri).Value);

    private ResolverResult Resolve(string uri)
    {
        var (url, version) = PackageResolver.Split(uri);
        if (version is not null && version != "4.0.1" && version != "4.0")
        {
            return new ResolverResult(new ResolverException(ResolverException.NOT_FOUND, $"{uri}: the core specification is 4.0.1"));
        }
        if (_byUrl.Value.TryGetValue(url, out var xml))
        {
            Deserializer.TryDeserializeResource(Deflated.Unpack(xml), out var resource, out _);
            if (resource is not null)
            {
                return new ResolverResult(resource);
            }
        }
        return new ResolverResult(new ResolverException(ResolverException.NOT_FOUND, $"{uri} is not in the R4 core specification"));
    }

    private static Dictionary<string, byte[]> Load(string zipPath, string? cacheDirectory)
    {
        if (cacheDirectory is null)
        {
            return Index(zipPath);
        }
        var zip = new FileInfo(zipPath);
        // Named by the zip's identity, so another SDK version (another zip) never reads this one's index.
        var cache = Path.Combine(cacheDirectory, $"core-index-{zip.Length}-{zip.LastWriteTimeUtc.Ticks}.bin");
        if (TryRead(cache) is { } cached)
        {
            return cached;
        }
        var index = Index(zipPath);
        TryWrite(cache, index);
        return index;
    }

    private static Dictionary<string, byte[]>? TryRead(string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadString() != CacheFormat)
            {
                return null;
            }
            var count = reader.ReadInt32();
            var index = new Dictionary<string, byte[]>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var url = reader.ReadString();
                index[url] = reader.ReadBytes(reader.ReadInt32());
            }
            // A file cut short reads as end of stream above; one with more after its entries was not written by us.
            return reader.BaseStream.Position == reader.BaseStream.Length ? index : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            return null; // absent, unreadable or damaged: built again
        }
    }

    private static void TryWrite(string path, Dictionary<string, byte[]> index)
    {
        // Written beside and renamed into place, so a concurrent reader sees the whole file or none.
        var partial = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var writer = new BinaryWriter(File.Create(partial)))
            {
                writer.Write(CacheFormat);
                writer.Write(index.Count);
                foreach (var (url, xml) in index)
                {
                    writer.Write(url);
                    writer.Write(xml.Length);
                    writer.Write(xml);
                }
            }
            File.Move(partial, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full disk only costs the next start its second.
            if (File.Exists(partial))
            {
                File.Delete(partial);
            }
        }
    }

    private static Dictionary<string, byte[]> Index(string zipPath)
    {
        // One reader per file, two at a time (the machines this runs on have two cores).
        var parts = new Dictionary<string, byte[]>[Files.Length];
        Parallel.For(0, Files.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            using var zip = ZipFile.OpenRead(zipPath);
            using var stream = (zip.GetEntry(Files[i]) ?? throw new FileNotFoundException($"{Files[i]} is missing from {zipPath}")).Open();
            parts[i] = IndexFile(stream);
        });
        var all = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (url, xml) in part)
            {
                all.TryAdd(url, xml);
            }
        }
        return all;
    }

    private static Dictionary<string, byte[]> IndexFile(Stream stream)
    {
        var index = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = XmlReader.Create(stream, new XmlReaderSettings { IgnoreWhitespace = true, IgnoreComments = true });
        while (reader.Read())
        {
            // Bundle/entry/resource/X: X is the resource.
            if (reader.NodeType != XmlNodeType.Element || reader.LocalName != "resource" || reader.Depth != 2 || !reader.Read())
            {
                continue;
            }
            var type = reader.LocalName;
            var xml = reader.ReadOuterXml();
            // The url is the resource's first <url>: it precedes any element that could nest one.
            var at = xml.IndexOf("<url value=\"", StringComparison.Ordinal);
            if (IndexedTypes.Contains(type) && at >= 0)
            {
                var end = xml.IndexOf('"', at + 12);
                index.TryAdd(xml[(at + 12)..end], Deflated.Pack(xml));
            }
        }
        return index;
    }
}
