using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirPriorAuth.Core.Validation;

/// <summary>A required FHIR package that none of the configured directories holds.</summary>
public sealed class MissingPackageException(string message) : Exception(message);

/// <summary>A FHIR NPM package name and version.</summary>
/// <param name="Name">e.g. <c>hl7.fhir.us.davinci-pas</c>.</param>
/// <param name="Version">e.g. <c>2.2.1</c>.</param>
public sealed record PackageId(string Name, string Version)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}#{Version}";
}

/// <summary>A package read into memory: its conformance resources, still as JSON, and its example JSON.</summary>
internal sealed record FhirPackage(PackageId Id, IReadOnlyList<PackageEntry> Entries, IReadOnlyDictionary<string, string> Examples);

/// <summary>
/// One conformance resource of a package: what it is, from a scan of its top-level properties, and its JSON (deflated), parsed
/// only when first asked for (a PAS version needs a few hundred of the thousands its packages hold).
/// </summary>
internal sealed record PackageEntry(string ResourceType, string? Id, string? Url, string? Version, byte[] PackedJson);

/// <summary>
/// Finds and reads FHIR packages from a list of directories searched in order. A directory may hold
/// <c>name-version.tgz</c> files or the standard package cache layout <c>name#version/package/*.json</c>.
/// </summary>
public sealed class FhirPackageLocator(IReadOnlyList<string> directories)
{
    private static readonly HashSet<string> ConformanceTypes =
        ["StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter", "OperationDefinition", "CapabilityStatement", "NamingSystem", "ConceptMap"];

    // IG conformance resources sometimes carry elements the R4 model lacks; keep what can be read.
    private static readonly FhirJsonDeserializer Recoverable = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    // Read once per locator: both PAS versions share US Core and CRD packages.
    private readonly ConcurrentDictionary<PackageId, Lazy<FhirPackage>> _read = new();

    /// <summary>The directories searched, in order.</summary>
    public IReadOnlyList<string> Directories => directories;

    /// <summary>Where a package is, or throws <see cref="MissingPackageException"/> saying how to install it.</summary>
    public string Locate(PackageId id)
    {
        foreach (var directory in directories.Where(Directory.Exists))
        {
            var tgz = Path.Combine(directory, $"{id.Name}-{id.Version}.tgz");
            if (File.Exists(tgz)) return tgz;
            var cached = Path.Combine(directory, $"{id.Name}#{id.Version}", "package");
            if (Directory.Exists(cached)) return cached;
        }
        throw new MissingPackageException(
            $"FHIR package {id} is required for profile validation and was not found in: {string.Join(", ", directories)}. " +
            $"Install it into the FHIR package cache (e.g. 'npx fhir install {id.Name} {id.Version}', or 'npm pack {id.Name}@{id.Version} --registry https://packages.fhir.org' " +
            $"and copy the .tgz there), or add its directory to Validation:PackageDirectories.");
    }

    /// <summary>Checks that every package is present, naming all that are missing at once.</summary>
    public void RequireAll(IEnumerable<PackageId> ids)
    {
        var missing = new List<string>();
        foreach (var id in ids)
        {
            try { Locate(id); }
            catch (MissingPackageException e) { missing.Add(e.Message); }
        }
        if (missing.Count > 0) throw new MissingPackageException(string.Join(Environment.NewLine, missing));
    }

    internal FhirPackage Load(PackageId id) => _read.GetOrAdd(id, i => new Lazy<FhirPackage>(() => Read(i))).Value;

    /// <summary>Parses a package entry into a resource (recoverably), or null when it cannot be read.</summary>
    internal static Resource? Parse(PackageEntry entry)
    {
        Recoverable.TryDeserializeResource(Deflated.Unpack(entry.PackedJson), out var resource, out _);
        return resource;
    }

    private FhirPackage Read(PackageId id)
    {
        var path = Locate(id);
        var entries = new List<PackageEntry>();
        var examples = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, json) in path.EndsWith(".tgz", StringComparison.Ordinal) ? ReadTgz(path) : ReadFolder(path))
        {
            if (name.StartsWith("example/", StringComparison.Ordinal))
            {
                examples[name["example/".Length..]] = Encoding.UTF8.GetString(json);
            }
            else if (!name.Contains('/') && !name.EndsWith(".index.json", StringComparison.Ordinal) && name != "package.json" &&
                     Header(json) is { } header && ConformanceTypes.Contains(header.ResourceType))
            {
                entries.Add(header with { PackedJson = Deflated.Pack(json) });
            }
        }
        return new FhirPackage(id, entries, examples);
    }

    private static IEnumerable<(string Name, byte[] Json)> ReadTgz(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            var name = entry.Name.Replace('\\', '/');
            if (entry.DataStream is null || !name.StartsWith("package/", StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            using var buffer = new MemoryStream();
            entry.DataStream.CopyTo(buffer);
            yield return (name["package/".Length..], buffer.ToArray());
        }
    }

    private static IEnumerable<(string Name, byte[] Json)> ReadFolder(string packageFolder) =>
        Directory.EnumerateFiles(packageFolder, "*.json", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(packageFolder, f).Replace('\\', '/'), File.ReadAllBytes(f)));

    /// <summary>The top-level resourceType, id, url and version of a JSON resource, without building it.</summary>
    private static PackageEntry? Header(byte[] json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            string? type = null, id = null, url = null, version = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    switch (property)
                    {
                        case "resourceType": type = reader.GetString(); break;
                        case "id": id = reader.GetString(); break;
                        case "url": url = reader.GetString(); break;
                        case "version": version = reader.GetString(); break;
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            return type is null ? null : new PackageEntry(type, id, url, version, []);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
