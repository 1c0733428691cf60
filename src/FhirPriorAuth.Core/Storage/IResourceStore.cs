using FhirPriorAuth.Core.Search;

namespace FhirPriorAuth.Core.Storage;

/// <summary>
/// Durable storage of resource versions and their search indexes. Deliberately small: everything FHIR-specific
/// (ids, versions, preconditions, what to index) is decided in Core before a write reaches it.
/// </summary>
public interface IResourceStore
{
    /// <summary>Reads the current version (<paramref name="version"/> null) or a given version; null when there is none.</summary>
    Task<StoredResource?> ReadAsync(string resourceType, string id, int? version, CancellationToken ct);

    /// <summary>
    /// Writes every change in one transaction: all or nothing. Throws <see cref="VersionConflictException"/> when a
    /// resource's current version is not the one a write expects, and <see cref="ConditionalCreateException"/> when
    /// conditional-create criteria match more than one resource or race with another create.
    /// </summary>
    Task<IReadOnlyList<WriteResult>> CommitAsync(IReadOnlyList<ResourceWrite> changes, CancellationToken ct);

    /// <summary>One page of current, non-deleted resources matching the query.</summary>
    Task<SearchPage> SearchAsync(SearchQuery query, CancellationToken ct);

    /// <summary>One page of history, newest first.</summary>
    Task<SearchPage> HistoryAsync(HistoryQuery query, CancellationToken ct);
}

/// <summary>A stored version of a resource.</summary>
/// <param name="ResourceType">The FHIR type.</param>
/// <param name="Id">The logical id.</param>
/// <param name="Version">The version number, from 1.</param>
/// <param name="LastUpdated">When this version was written.</param>
/// <param name="IsDeleted">True for the version a delete wrote; it has no <see cref="Json"/>.</param>
/// <param name="Json">The resource as stored (UTF-8 JSON, with meta.versionId and meta.lastUpdated).</param>
public sealed record StoredResource(string ResourceType, string Id, int Version, DateTimeOffset LastUpdated,
    bool IsDeleted, ReadOnlyMemory<byte> Json);

/// <summary>One new version to write.</summary>
/// <param name="ResourceType">The FHIR type.</param>
/// <param name="Id">The logical id.</param>
/// <param name="Version">The new version number.</param>
/// <param name="LastUpdated">The new version's time.</param>
/// <param name="Json">The serialized resource, or null for a delete.</param>
/// <param name="Index">The index rows of the new version (empty for a delete).</param>
/// <param name="ExpectedCurrentVersion">The version that must be current when the write commits; 0 when the resource must not exist yet.</param>
/// <param name="IfNoneExist">Conditional-create criteria: when one resource matches, nothing is written and it is returned.</param>
public sealed record ResourceWrite(string ResourceType, string Id, int Version, DateTimeOffset LastUpdated,
    byte[]? Json, IReadOnlyList<IndexValue> Index, int ExpectedCurrentVersion, ConditionalCriteria? IfNoneExist = null);

/// <summary>Conditional-create criteria and their canonical text, which the store keeps unique per type.</summary>
public sealed record ConditionalCriteria(SearchQuery Query, string CanonicalText);

/// <summary>What happened to one write.</summary>
/// <param name="Resource">The version now current (the new one, or the existing match of a conditional create).</param>
/// <param name="Created">False when a conditional create found an existing match and wrote nothing.</param>
public sealed record WriteResult(StoredResource Resource, bool Created);

/// <summary>A history request: all types (<see cref="ResourceType"/> null), one type, or one resource.</summary>
public sealed record HistoryQuery(string? ResourceType, string? Id, DateTimeOffset? Since, int Count, SearchCursor? After);

/// <summary>A page of results and where the next page starts, if there is one.</summary>
public sealed record SearchPage(IReadOnlyList<StoredResource> Resources, SearchCursor? Next);

/// <summary>The current version of a resource is not the one a write expected.</summary>
public sealed class VersionConflictException(string resourceType, string id, int expected, int actual)
    : Exception($"{resourceType}/{id}: expected version {expected} to be current, found {actual}.")
{
    /// <summary>The version that is current.</summary>
    public int ActualVersion { get; } = actual;
}

/// <summary>Conditional-create criteria matched several resources, or another create with the same criteria won a race.</summary>
public sealed class ConditionalCreateException(string message, bool isRace) : Exception(message)
{
    /// <summary>True when another transaction created a match concurrently; retrying finds it.</summary>
    public bool IsRace { get; } = isRace;
}
