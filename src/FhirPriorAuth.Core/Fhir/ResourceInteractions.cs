using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// The FHIR RESTful interactions (create, read, vread, update, delete, history, search) over an
/// <see cref="IResourceStore"/>: ids, versions, preconditions and indexing are decided here, so every store and every
/// caller (REST endpoints, PAS operations, workers) gets the same behaviour. Each interaction takes the caller's
/// <see cref="AccessScope"/> (default: unrestricted, for the server's own work); what it may not see does not exist.
/// </summary>
public sealed partial class ResourceInteractions(
    IResourceStore store,
    SearchParameterRegistry registry,
    TimeProvider clock)
{
    private const int MaxWriteAttempts = 3;
    private readonly SearchIndexer _indexer = new(registry);
    private readonly SearchQueryParser _parser = new(registry);

    /// <summary>The registry of owned types and their search parameters.</summary>
    public SearchParameterRegistry Registry => registry;

    /// <summary>Creates a resource with a server-assigned id, or returns the match of <paramref name="ifNoneExist"/>.</summary>
    public async Task<WriteResult> CreateAsync(string resourceType, Resource resource, string? ifNoneExist, CancellationToken ct,
        AccessScope? access = null)
    {
        access ??= AccessScope.All;
        RequireType(resourceType);
        RequireBodyType(resourceType, resource);
        var criteria = ifNoneExist is null ? null : ParseCondition(resourceType, ifNoneExist, access);

        for (int attempt = 1; ; attempt++)
        {
            var write = PrepareCreate(resource, access, criteria);
            try
            {
                return (await store.CommitAsync([write], ct))[0];
            }
            catch (ConditionalCreateException e) when (!e.IsRace)
            {
                throw FhirException.PreconditionFailed($"If-None-Exist '{ifNoneExist}' matches more than one {resourceType}.");
            }
            catch (ConditionalCreateException) when (attempt < MaxWriteAttempts)
            {
                // Another create with the same criteria committed first; the next attempt finds its resource.
            }
            catch (ConditionalCreateException)
            {
                throw FhirException.Conflict($"Creates with If-None-Exist '{ifNoneExist}' keep colliding; retry the create.");
            }
        }
    }

    /// <summary>
    /// Creates or replaces the resource with the given id. <paramref name="ifMatch"/> is the version the client last saw.
    /// A restricted caller can only replace what it can see (update-as-create is for unrestricted callers, so that a 404
    /// never tells whether an id exists); the new version keeps the previous version's access labels.
    /// </summary>
    public async Task<WriteResult> UpdateAsync(string resourceType, string id, Resource resource, int? ifMatch, CancellationToken ct,
        AccessScope? access = null)
    {
        access ??= AccessScope.All;
        RequireType(resourceType);
        RequireId(id);
        RequireBodyType(resourceType, resource);
        if (resource.Id is null)
        {
            throw FhirException.BadRequest("An update must carry the resource id in the body.", $"{resourceType}.id");
        }
        if (resource.Id != id)
        {
            throw FhirException.BadRequest($"The body's id '{resource.Id}' does not match the URL's id '{id}'.", $"{resourceType}.id");
        }

        var (result, previous) = await WriteNextVersionAsync(resourceType, id, ifMatch, "update", current =>
        {
            var previousLabels = current is null ? [] : AccessLabels.Read(current.Json.Span);
            if (!access.Unrestricted && (current is null || current.IsDeleted || !access.Allows(previousLabels)))
            {
                throw NotKnown(resourceType, id);
            }
            int currentVersion = current?.Version ?? 0;
            return PrepareWrite(resource, id, currentVersion + 1, currentVersion, null,
                previousLabels.Concat(access.LabelsForWrites).Concat(AccessLabels.FromContent(resource)));
        }, ct);
        return result! with { Created = previous is null || previous.IsDeleted };
    }

    /// <summary>
    /// Deletes a resource (a new, deleted version; history is kept). Deleting what is absent, deleted or not visible
    /// to the caller is a no-op.
    /// </summary>
    public async Task DeleteAsync(string resourceType, string id, CancellationToken ct, AccessScope? access = null)
    {
        access ??= AccessScope.All;
        RequireType(resourceType);
        RequireId(id);
        await WriteNextVersionAsync(resourceType, id, null, "delete", current => current is null || current.IsDeleted
            || !access.Allows(AccessLabels.Read(current.Json.Span))
            ? null
            : new ResourceWrite(resourceType, id, current.Version + 1, Now(), null, [], current.Version), ct);
    }

    /// <summary>
    /// Reads the current version, lets <paramref name="next"/> build the next one (null: nothing to write) and commits it
    /// expecting that version still to be current. A collision is a 412 when the client named a version
    /// (<paramref name="ifMatch"/>); otherwise the last writer wins after a re-read, and a 409 ends persistent contention.
    /// </summary>
    private async Task<(WriteResult? Result, StoredResource? Previous)> WriteNextVersionAsync(string resourceType, string id,
        int? ifMatch, string action, Func<StoredResource?, ResourceWrite?> next, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            var current = await store.ReadAsync(resourceType, id, null, ct);
            if (ifMatch is { } expected && expected != (current?.Version ?? 0))
            {
                throw FhirException.PreconditionFailed(
                    $"If-Match names version {expected} of {resourceType}/{id}, but version {current?.Version ?? 0} is current.");
            }
            if (next(current) is not { } write)
            {
                return (null, current);
            }
            try
            {
                return ((await store.CommitAsync([write], ct))[0], current);
            }
            catch (VersionConflictException e) when (ifMatch is not null)
            {
                throw FhirException.PreconditionFailed(
                    $"{resourceType}/{id} was changed concurrently; version {e.ActualVersion} is now current.");
            }
            catch (VersionConflictException) when (attempt < MaxWriteAttempts)
            {
            }
            catch (VersionConflictException e)
            {
                throw FhirException.Conflict($"{resourceType}/{id} is being changed concurrently (version {e.ActualVersion}); retry the {action}.");
            }
        }
    }

    /// <summary>Reads the current version; 404 when unknown or not visible to the caller, 410 when deleted.</summary>
    public async Task<StoredResource> ReadAsync(string resourceType, string id, CancellationToken ct, AccessScope? access = null)
    {
        access ??= AccessScope.All;
        RequireType(resourceType);
        RequireId(id);
        var stored = await store.ReadAsync(resourceType, id, null, ct);
        if (stored is null || !await IsVisibleAsync(stored, access, ct))
        {
            throw NotKnown(resourceType, id);
        }
        return stored.IsDeleted ? throw FhirException.Gone($"{resourceType}/{id} was deleted.") : stored;
    }

    /// <summary>A version is visible when its labels allow it; a deleted version, when the version before it was.</summary>
    private async Task<bool> IsVisibleAsync(StoredResource stored, AccessScope access, CancellationToken ct)
    {
        if (access.Unrestricted)
        {
            return true;
        }
        if (stored.IsDeleted)
        {
            return stored.Version > 1 && await store.ReadAsync(stored.ResourceType, stored.Id, stored.Version - 1, ct) is { } before
                && await IsVisibleAsync(before, access, ct);
        }
        return access.Allows(AccessLabels.Read(stored.Json.Span));
    }

    private static FhirException NotKnown(string resourceType, string id) => FhirException.NotFound($"{resourceType}/{id} is not known.");

    /// <summary>Reads one version; 404 when unknown, 410 when that version is a deletion.</summary>
    public async Task<StoredResource> VReadAsync(string resourceType, string id, string version, CancellationToken ct,
        AccessScope? access = null)
    {
        access ??= AccessScope.All;
        RequireType(resourceType);
        RequireId(id);
        if (!int.TryParse(version, out var v) || v < 1)
        {
            throw FhirException.NotFound($"{resourceType}/{id} has no version '{version}'.");
        }
        var stored = await store.ReadAsync(resourceType, id, v, ct);
        if (stored is null || !await IsVisibleAsync(stored, access, ct))
        {
            throw FhirException.NotFound($"{resourceType}/{id} has no version {v}.");
        }
        return stored.IsDeleted ? throw FhirException.Gone($"Version {v} of {resourceType}/{id} is a deletion.") : stored;
    }

    /// <summary>Searches current resources of a type.</summary>
    public async Task<(SearchPage Page, SearchQuery Query, IReadOnlyList<string> Ignored)> SearchAsync(
        string resourceType, IEnumerable<KeyValuePair<string, string>> parameters, bool strict, CancellationToken ct,
        AccessScope? access = null)
    {
        RequireType(resourceType);
        var (query, ignored) = _parser.Parse(resourceType, parameters, strict);
        var restricted = Restrict(query, access);
        // The query without the access criteria is what the caller asked for, and what its links repeat.
        return (await store.SearchAsync(restricted, ct), query, ignored);
    }

    private SearchQuery Restrict(SearchQuery query, AccessScope? access) => access is null || access.Unrestricted
        ? query
        : query with { Criteria = [.. query.Criteria, .. access.Criteria(registry.Find(query.ResourceType, SearchParameterNames.Security)!)] };

    /// <summary>
    /// History of the whole server (type null), a type, or one resource; newest first. A restricted caller sees only
    /// the versions it may see (a page can then be shorter than <c>_count</c>), and no deletions of other resources.
    /// </summary>
    public async Task<SearchPage> HistoryAsync(string? resourceType, string? id, IEnumerable<KeyValuePair<string, string>> parameters,
        CancellationToken ct, AccessScope? access = null)
    {
        access ??= AccessScope.All;
        if (resourceType is not null)
        {
            RequireType(resourceType);
        }
        if (id is not null)
        {
            RequireId(id);
        }
        DateTimeOffset? since = null;
        int count = SearchQueryParser.DefaultCount;
        SearchCursor? after = null;
        foreach (var (key, value) in parameters)
        {
            switch (key)
            {
                case "_since" when FhirDateRange.TryParse(value, out var range):
                    since = range.Start;
                    break;
                case "_since":
                    throw FhirException.BadRequest($"_since must be a FHIR instant, not '{value}'.", "_since");
                case "_count":
                    count = SearchQueryParser.ParseCount(value);
                    break;
                case "ct":
                    after = SearchQueryParser.ParseCursor(value);
                    break;
            }
        }
        if (id is not null && !access.Unrestricted)
        {
            // One resource's history is visible as a whole when its current version (or the last before a delete) is.
            var current = await store.ReadAsync(resourceType!, id, null, ct);
            if (current is null || !await IsVisibleAsync(current, access, ct))
            {
                throw NotKnown(resourceType!, id);
            }
        }
        var page = await store.HistoryAsync(new HistoryQuery(resourceType, id, since, count, after), ct);
        if (id is not null && page.Resources.Count == 0 && after is null && since is null
            && await store.ReadAsync(resourceType!, id, null, ct) is null)
        {
            throw NotKnown(resourceType!, id);
        }
        return access.Unrestricted || id is not null ? page
            : page with { Resources = page.Resources.Where(r => !r.IsDeleted && access.Allows(AccessLabels.Read(r.Json.Span))).ToList() };
    }

    /// <summary>
    /// Runs each owned type once through search, indexing and parsing, so that FHIRPath compilation, SQL plans and
    /// serializer caches are built before the first real request.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken ct)
    {
        foreach (var type in registry.ResourceTypes)
        {
            await SearchAsync(type, [KeyValuePair.Create("_count", "1")], strict: false, ct);
            _indexer.Extract((Resource)Activator.CreateInstance(ModelInfo.GetTypeForFhirType(type)!)!);
        }
        FhirJson.Parse(FhirJson.ToBytes(new Patient { Id = "warm-up", BirthDate = "1970-01-01" }), "Patient");
    }

    /// <summary>Throws 404 unless the server owns <paramref name="resourceType"/>.</summary>
    public void RequireType(string resourceType)
    {
        if (!registry.IsSupported(resourceType))
        {
            throw FhirException.NotFound(ModelInfo.IsKnownResource(resourceType)
                ? $"This server does not serve {resourceType} resources."
                : $"'{resourceType}' is not a FHIR resource type.");
        }
    }

    /// <summary>Throws 400 unless <paramref name="id"/> is a valid FHIR id.</summary>
    public static void RequireId(string id)
    {
        if (!IdPattern().IsMatch(id))
        {
            throw FhirException.BadRequest($"'{id}' is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-' and '.').");
        }
    }

    private static void RequireBodyType(string resourceType, Resource resource)
    {
        if (resource.TypeName != resourceType)
        {
            throw FhirException.BadRequest($"The body is a {resource.TypeName}, but the URL names {resourceType}.", "resourceType");
        }
    }

    private ConditionalCriteria ParseCondition(string resourceType, string ifNoneExist, AccessScope access)
    {
        var pairs = ParseQueryString(ifNoneExist.TrimStart('?'));
        var (query, _) = _parser.Parse(resourceType, pairs, strict: true);
        if (query.Criteria.Count == 0)
        {
            throw FhirException.BadRequest("If-None-Exist has no search criteria.");
        }
        var canonical = string.Join('&', pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
        // A restricted caller's condition only matches what it may see; its canonical text is kept per scope so that
        // two organizations' identical conditions do not collide.
        var scoped = Restrict(query, access);
        if (!access.Unrestricted)
        {
            canonical += "&_security=" + string.Join(',', access.LabelsForWrites.Order(StringComparer.Ordinal));
        }
        return new ConditionalCriteria(scoped with { Count = 2 }, canonical);
    }

    /// <summary>Splits a query string into decoded pairs, keeping repeated keys.</summary>
    public static List<KeyValuePair<string, string>> ParseQueryString(string query) =>
        query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('=', 2))
            .Select(kv => KeyValuePair.Create(Uri.UnescapeDataString(kv[0].Replace('+', ' ')),
                kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : ""))
            .ToList();

    /// <summary>Prepares the first version of a new resource under a new id, labelled for the caller and by its content.</summary>
    public ResourceWrite PrepareCreate(Resource resource, AccessScope access, ConditionalCriteria? criteria = null)
    {
        var id = NewId();
        resource.Id = id; // A Patient's labels name its id.
        return PrepareWrite(resource, id, version: 1, expectedCurrent: 0, criteria, access.LabelsForWrites.Concat(AccessLabels.FromContent(resource)).ToList());
    }

    /// <summary>
    /// Stamps id, version and time on a resource and prepares its write with index rows. The stored version carries
    /// the access labels <paramref name="access"/>; labels the resource arrived with are dropped, and the ones added
    /// are removed again after serializing, so the caller's object does not show them.
    /// </summary>
    public ResourceWrite PrepareWrite(Resource resource, string id, int version, int expectedCurrent, ConditionalCriteria? criteria = null,
        IEnumerable<string>? access = null)
    {
        var now = Now();
        resource.Id = id;
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        resource.Meta.LastUpdated = now;
        AccessLabels.Strip(resource);
        var index = _indexer.Extract(resource).ToList();
        var labels = Labelled(index, access);
        AccessLabels.Apply(resource, labels);
        var json = FhirJson.ToBytes(resource);
        AccessLabels.Strip(resource);
        return new ResourceWrite(resource.TypeName, id, version, now, json, index, expectedCurrent, criteria);
    }

    /// <summary>
    /// Prepares the first version of a resource a client sent, as <see cref="PrepareWrite"/> would, but with the JSON it
    /// was sent in (<paramref name="asSent"/>: that JSON with the given id and meta), so the resource is neither copied nor
    /// serialized, and is left as it was. Null when the sent JSON cannot stand in: then write a copy with PrepareWrite.
    /// </summary>
    public ResourceWrite? PrepareWriteAsSent(Resource resource, string id, IEnumerable<string> access, Func<string, Meta, byte[]?> asSent)
    {
        if (resource.Meta?.Security.Any(c => c.System == AccessLabels.System) == true)
        {
            return null; // labels the client set are stripped from a copy, and its index, by PrepareWrite
        }
        var now = Now();
        var meta = (Meta?)resource.Meta?.DeepCopy() ?? new Meta();
        meta.VersionId = "1";
        meta.LastUpdated = now;
        // The sent meta differs from the stored one only in what is not indexed: version, time and access labels.
        var index = _indexer.Extract(resource).ToList();
        AccessLabels.Apply(meta, Labelled(index, access));
        return asSent(id, meta) is { } json ? new ResourceWrite(resource.TypeName, id, 1, now, json, index, 0) : null;
    }

    /// <summary>The access labels a write carries, in order, each added to its index rows as <c>_security</c>.</summary>
    private static List<string> Labelled(List<IndexValue> index, IEnumerable<string>? access)
    {
        var labels = (access ?? []).Distinct().Order(StringComparer.Ordinal).ToList();
        index.AddRange(labels.Select(l => new TokenIndexValue(SearchParameterNames.Security, AccessLabels.System, l)));
        return labels;
    }

    // Milliseconds are what FHIR instants carry; truncating keeps the stored JSON and the indexed time equal.
    /// <summary>The current time, truncated to milliseconds.</summary>
    public DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }

    /// <summary>A new server-assigned logical id (time-ordered).</summary>
    public static string NewId() => Guid.CreateVersion7().ToString();

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex IdPattern();
}
