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
    private readonly Dictionary<string, List<Resource>> _byUrl = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Resource> _byTypeAndId = new(StringComparer.Ordinal);
    private readonly IAsyncResourceResolver _core;
    private readonly ConcurrentDictionary<string, ResolverResult> _coreCache = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> Misses { get; } = new(StringComparer.Ordinal);

    public PackageResolver(IAsyncResourceResolver core) => _core = core;

    public IEnumerable<Resource> AllPackageResources => _byUrl.Values.SelectMany(v => v).Distinct();

    public void AddPackage(IEnumerable<Resource> resources)
    {
        foreach (var r in resources)
        {
            if (r is IConformanceResource cr && !string.IsNullOrEmpty(cr.Url))
            {
                if (!_byUrl.TryGetValue(cr.Url, out var list)) _byUrl[cr.Url] = list = new List<Resource>();
                list.Add(r);
            }
            if (!string.IsNullOrEmpty(r.Id)) _byTypeAndId.TryAdd(r.TypeName + "/" + r.Id, r);
        }
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
            _byTypeAndId.TryGetValue(key, out hit);
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
        if (version is null) return list[0];
        return list.FirstOrDefault(r => r is IVersionableConformanceResource vr && Hl7.Fhir.Model.Canonical.MatchesVersion(vr.Version, version));
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
