using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// In-memory IAsyncResourceResolver over the conformance resources of a set of FHIR packages,
/// with the R4 core specification (Firely ZipSource over specification.zip) as fallback.
///
/// Canonical resolution rules:
///  - "url|version": exact version match among package resources (Canonical.MatchesVersion, so "6.1" matches "6.1.0");
///    when no package holds that version the lookup falls through to core (core only knows 4.0.1 resources) and usually fails.
///    Versioned-canonical problems are therefore fixed by CORRECTIONS on the StructureDefinitions, not silently here.
///  - "url" (no version): the first package registered wins (packages are registered in priority order).
///  - "#fragment" suffixes are stripped.
/// Every miss is recorded in <see cref="Misses"/> for diagnostics.
/// Thread-safe after construction (read-only dictionaries + concurrent caches).
/// </summary>
internal sealed class PackageResolver : IAsyncResourceResolver
{
    private readonly Dictionary<string, List<Loaded>> _byUrl = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Loaded> _byTypeAndId = new(StringComparer.Ordinal);
    private readonly List<Loaded> _all = [];
    private readonly Func<Resource, Resource> _prepare;
    private readonly IAsyncResourceResolver _core;
    private readonly ConcurrentDictionary<string, ResolverResult> _coreCache = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> Misses { get; } = new(StringComparer.Ordinal);

    /// <param name="core">The R4 specification, asked for what no package holds.</param>
    /// <param name="prepare">Applied to each package resource when it is first parsed (the profile corrections).</param>
    public PackageResolver(IAsyncResourceResolver core, Func<Resource, Resource>? prepare = null)
    {
        _core = core;
        _prepare = prepare ?? (r => r);
    }

    /// <summary>Every package resource, parsed (and prepared) now if it was not yet: for tests and tools, not for serving.</summary>
    public IEnumerable<Resource> AllPackageResources => _all.Select(l => l.Resource).OfType<Resource>();

    public void AddPackage(IEnumerable<PackageEntry> entries)
    {
        foreach (var entry in entries)
        {
            Add(new Loaded(entry.ResourceType, entry.Id, entry.Url, entry.Version, new Lazy<Resource?>(() => FhirPackageLocator.Parse(entry) is { } r ? _prepare(r) : null)));
        }
    }

    public void AddPackage(IEnumerable<Resource> resources)
    {
        foreach (var r in resources)
        {
            Add(new Loaded(r.TypeName, r.Id, (r as IConformanceResource)?.Url, (r as IVersionableConformanceResource)?.Version, new Lazy<Resource?>(() => _prepare(r))));
        }
    }

    private void Add(Loaded loaded)
    {
        _all.Add(loaded);
        if (!string.IsNullOrEmpty(loaded.Url))
        {
            if (!_byUrl.TryGetValue(loaded.Url, out var list)) _byUrl[loaded.Url] = list = [];
            list.Add(loaded);
        }
        if (!string.IsNullOrEmpty(loaded.Id)) _byTypeAndId.TryAdd(loaded.ResourceType + "/" + loaded.Id, loaded);
    }

    /// <summary>A package resource, parsed on first use (thread-safe: Lazy's default mode).</summary>
    private sealed record Loaded(string ResourceType, string? Id, string? Url, string? Version, Lazy<Resource?> Parsed)
    {
        public Resource? Resource => Parsed.Value;
    }

    public Task<ResolverResult> TryResolveByCanonicalUriAsync(string uri)
    {
        var hit = FindInPackages(uri);
        if (hit is not null) return Task.FromResult(new ResolverResult(hit));
        return ResolveCoreAsync(uri, canonical: true);
    }

    public Task<ResolverResult> TryResolveByUriAsync(string uri)
    {
        var hit = FindInPackages(uri);
        if (hit is null)
        {
            // "http://.../StructureDefinition/x" style uris can also be type/id references
            var idx = uri.LastIndexOf('/');
            var idx2 = idx > 0 ? uri.LastIndexOf('/', idx - 1) : -1;
            var key = idx2 >= 0 ? uri[(idx2 + 1)..] : uri;
            hit = _byTypeAndId.TryGetValue(key, out var loaded) ? loaded.Resource : null;
        }
        if (hit is not null) return Task.FromResult(new ResolverResult(hit));
        return ResolveCoreAsync(uri, canonical: false);
    }

    // The interface still requires these two obsolete members.
    public async Task<Resource?> ResolveByUriAsync(string uri) => (await TryResolveByUriAsync(uri).ConfigureAwait(false)).Value;
    public async Task<Resource?> ResolveByCanonicalUriAsync(string uri) => (await TryResolveByCanonicalUriAsync(uri).ConfigureAwait(false)).Value;

    private Resource? FindInPackages(string uri)
    {
        var (url, version) = Split(uri);
        if (!_byUrl.TryGetValue(url, out var list)) return null;
        if (version is null) return list[0].Resource;
        return list.FirstOrDefault(l => Hl7.Fhir.Model.Canonical.MatchesVersion(l.Version, version))?.Resource;
    }

    private async Task<ResolverResult> ResolveCoreAsync(string uri, bool canonical)
    {
        var key = (canonical ? "c:" : "u:") + uri;
        if (_coreCache.TryGetValue(key, out var cached)) return cached;
        var res = canonical ? await _core.TryResolveByCanonicalUriAsync(uri).ConfigureAwait(false)
                            : await _core.TryResolveByUriAsync(uri).ConfigureAwait(false);
        if (!res.Success) Misses.AddOrUpdate(uri, 1, (_, n) => n + 1);
        return _coreCache.GetOrAdd(key, res);
    }

    public static (string Url, string? Version) Split(string uri)
    {
        var hash = uri.IndexOf('#');
        if (hash >= 0) uri = uri[..hash];
        var bar = uri.IndexOf('|');
        return bar < 0 ? (uri, null) : (uri[..bar], uri[(bar + 1)..]);
    }
}
