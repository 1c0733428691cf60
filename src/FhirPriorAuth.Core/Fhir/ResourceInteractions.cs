using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// The FHIR RESTful interactions (create, read, vread, update, delete, history, search) over an
/// <see cref="IResourceStore"/>: ids, versions, preconditions and indexing are decided here, so every store and every
/// caller (REST endpoints, PAS operations, workers) gets the same behaviour.
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
    public async Task<WriteResult> CreateAsync(string resourceType, Resource resource, string? ifNoneExist, CancellationToken ct)
    {
        RequireType(resourceType);
        RequireBodyType(resourceType, resource);
        var criteria = ifNoneExist is null ? null : ParseCondition(resourceType, ifNoneExist);

        for (int attempt = 1; ; attempt++)
        {
            var write = PrepareWrite(resource, NewId(), version: 1, expectedCurrent: 0, criteria);
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

    /// <summary>Creates or replaces the resource with the given id. <paramref name="ifMatch"/> is the version the client last saw.</summary>
    public async Task<WriteResult> UpdateAsync(string resourceType, string id, Resource resource, int? ifMatch, CancellationToken ct)
    {
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
            int currentVersion = current?.Version ?? 0;
            return PrepareWrite(resource, id, currentVersion + 1, currentVersion, null);
        }, ct);
        return result! with { Created = previous is null || previous.IsDeleted };
    }

    /// <summary>Deletes a resource (a new, deleted version; history is kept). Deleting what is absent or deleted is a no-op.</summary>
    public async Task DeleteAsync(string resourceType, string id, CancellationToken ct)
    {
        RequireType(resourceType);
        RequireId(id);
        await WriteNextVersionAsync(resourceType, id, null, "delete", current => current is null || current.IsDeleted
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

    /// <summary>Reads the current version; 404 when unknown, 410 when deleted.</summary>
    public async Task<StoredResource> ReadAsync(string resourceType, string id, CancellationToken ct)
    {
        RequireType(resourceType);
        RequireId(id);
        var stored = await store.ReadAsync(resourceType, id, null, ct)
            ?? throw FhirException.NotFound($"{resourceType}/{id} is not known.");
        return stored.IsDeleted ? throw FhirException.Gone($"{resourceType}/{id} was deleted.") : stored;
    }

    /// <summary>Reads one version; 404 when unknown, 410 when that version is a deletion.</summary>
    public async Task<StoredResource> VReadAsync(string resourceType, string id, string version, CancellationToken ct)
    {
        RequireType(resourceType);
        RequireId(id);
        if (!int.TryParse(version, out var v) || v < 1)
        {
            throw FhirException.NotFound($"{resourceType}/{id} has no version '{version}'.");
        }
        var stored = await store.ReadAsync(resourceType, id, v, ct)
            ?? throw FhirException.NotFound($"{resourceType}/{id} has no version {v}.");
        return stored.IsDeleted ? throw FhirException.Gone($"Version {v} of {resourceType}/{id} is a deletion.") : stored;
    }

    /// <summary>Searches current resources of a type.</summary>
    public async Task<(SearchPage Page, SearchQuery Query, IReadOnlyList<string> Ignored)> SearchAsync(
        string resourceType, IEnumerable<KeyValuePair<string, string>> parameters, bool strict, CancellationToken ct)
    {
        RequireType(resourceType);
        var (query, ignored) = _parser.Parse(resourceType, parameters, strict);
        return (await store.SearchAsync(query, ct), query, ignored);
    }

    /// <summary>History of the whole server (type null), a type, or one resource; newest first.</summary>
    public async Task<SearchPage> HistoryAsync(string? resourceType, string? id, IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken ct)
    {
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
        var page = await store.HistoryAsync(new HistoryQuery(resourceType, id, since, count, after), ct);
        if (id is not null && page.Resources.Count == 0 && after is null && since is null
            && await store.ReadAsync(resourceType!, id, null, ct) is null)
        {
            throw FhirException.NotFound($"{resourceType}/{id} is not known.");
        }
        return page;
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

    private ConditionalCriteria ParseCondition(string resourceType, string ifNoneExist)
    {
        var pairs = ParseQueryString(ifNoneExist.TrimStart('?'));
        var (query, _) = _parser.Parse(resourceType, pairs, strict: true);
        if (query.Criteria.Count == 0)
        {
            throw FhirException.BadRequest("If-None-Exist has no search criteria.");
        }
        var canonical = string.Join('&', pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
        return new ConditionalCriteria(query with { Count = 2 }, canonical);
    }

    /// <summary>Splits a query string into decoded pairs, keeping repeated keys.</summary>
    public static List<KeyValuePair<string, string>> ParseQueryString(string query) =>
        query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('=', 2))
            .Select(kv => KeyValuePair.Create(Uri.UnescapeDataString(kv[0].Replace('+', ' ')),
                kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : ""))
            .ToList();

    /// <summary>Stamps id, version and time on a resource and prepares its write with index rows.</summary>
    public ResourceWrite PrepareWrite(Resource resource, string id, int version, int expectedCurrent, ConditionalCriteria? criteria = null)
    {
        var now = Now();
        resource.Id = id;
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        resource.Meta.LastUpdated = now;
        return new ResourceWrite(resource.TypeName, id, version, now, FhirJson.ToBytes(resource),
            _indexer.Extract(resource), expectedCurrent, criteria);
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
