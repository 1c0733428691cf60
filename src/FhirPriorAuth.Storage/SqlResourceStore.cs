using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;

namespace FhirPriorAuth.Storage;

/// <summary>The resource store over Dapper, for SQLite and SQL Server alike; the dialect supplies what differs.</summary>
public sealed class SqlResourceStore(SqlDialect dialect) : IResourceStore
{
    private const int MaxTransientAttempts = 4;
    private readonly SqlSearchBuilder _builder = new(dialect);

    /// <summary>The dialect in use.</summary>
    public SqlDialect Dialect => dialect;

    /// <inheritdoc />
    public async Task<StoredResource?> ReadAsync(string resourceType, string id, int? version, CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<ResourceRow>(new CommandDefinition(
            version is null ? dialect.ReadCurrent : dialect.ReadVersion,
            new { Type = resourceType, Id = id, Version = version }, cancellationToken: ct));
        return row?.ToStored();
    }

    /// <inheritdoc />
    public async Task<SearchPage> SearchAsync(SearchQuery query, CancellationToken ct)
    {
        await dialect.IndexedAsync();
        await using var connection = await dialect.OpenAsync(ct);
        return await SearchAsync(connection, null, query, ct);
    }

    /// <inheritdoc />
    public async Task<SearchPage> HistoryAsync(HistoryQuery query, CancellationToken ct)
    {
        var (sql, parameters) = _builder.History(query);
        await using var connection = await dialect.OpenAsync(ct);
        var rows = (await connection.QueryAsync<ResourceRow>(new CommandDefinition(sql, parameters, cancellationToken: ct))).ToList();
        var next = rows.Count > query.Count ? new SearchCursor(0, rows[query.Count - 1].Sequence) : (SearchCursor?)null;
        return new SearchPage(rows.Take(query.Count).Select(r => r.ToStored()).ToList(), next);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WriteResult>> CommitAsync(IReadOnlyList<ResourceWrite> changes, CancellationToken ct) =>
        RetryTransientAsync(() => CommitOnceAsync(changes, ct), ct);

    /// <summary>Runs a whole transaction again when the database reports a transient failure (deadlock, failover).</summary>
    internal async Task<T> RetryTransientAsync<T>(Func<Task<T>> transaction, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await transaction();
            }
            catch (DbException e) when (dialect.IsTransient(e) && attempt < MaxTransientAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 50) * attempt), ct);
            }
        }
    }

    private Task<IReadOnlyList<WriteResult>> CommitOnceAsync(IReadOnlyList<ResourceWrite> changes, CancellationToken ct)
    {
        var bodies = changes.Select(BodyCodec.Encode).ToList();
        return dialect.WriteAsync<IReadOnlyList<WriteResult>>(async (connection, tx) =>
        {
            var results = new List<WriteResult>(changes.Count);
            for (var i = 0; i < changes.Count; i++)
            {
                results.Add(await WriteAsync(connection, tx, changes[i], bodies[i], ct));
            }
            return results;
        }, ct);
    }

    /// <summary>
    /// Writes one version inside the caller's transaction (the authorization store writes resources with its own rows).
    /// The body comes encoded (<see cref="BodyCodec.Encode(ResourceWrite)"/>): deflating is done before the transaction,
    /// off SQLite's one writer.
    /// </summary>
    internal async Task<WriteResult> WriteAsync(DbConnection connection, DbTransaction tx, ResourceWrite write, EncodedBody encoded, CancellationToken ct)
    {
        if (write.IfNoneExist is { } criteria)
        {
            var existing = await ClaimConditionalKeyAsync(connection, tx, write, criteria, ct);
            if (existing is not null)
            {
                return new WriteResult(existing, Created: false);
            }
        }

        var current = await connection.QuerySingleOrDefaultAsync<CurrentRow>(new CommandDefinition(
            dialect.ReadCurrentForWrite, new { Type = write.ResourceType, Id = write.Id }, tx, cancellationToken: ct));
        if ((current?.Version ?? 0) != write.ExpectedCurrentVersion)
        {
            throw new VersionConflictException(write.ResourceType, write.Id, write.ExpectedCurrentVersion, current?.Version ?? 0);
        }
        if (current is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.RetireVersion, new { current.SurrogateId }, tx, cancellationToken: ct));
        }
        if (write.Json is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteConditionalKeysOf,
                new { Type = write.ResourceType, Id = write.Id }, tx, cancellationToken: ct));
        }

        long surrogateId;
        try
        {
            surrogateId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(dialect.InsertResource, dialect.Row(new
            {
                Type = write.ResourceType,
                Id = write.Id,
                write.Version,
                LastUpdated = write.LastUpdated.UtcTicks,
                IsDeleted = write.Json is null,
                encoded.Compression,
                encoded.Body,
            }), tx, cancellationToken: ct));
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            // Another writer inserted this version between our read and our insert (SQL Server; SQLite serializes writers).
            throw new VersionConflictException(write.ResourceType, write.Id, write.ExpectedCurrentVersion, write.Version);
        }
        await dialect.WriteIndexAsync(connection, tx, surrogateId, write.ResourceType, write.LastUpdated.UtcTicks, write.Index, ct);
        return new WriteResult(new StoredResource(write.ResourceType, write.Id, write.Version, write.LastUpdated,
            write.Json is null, write.Json ?? ReadOnlyMemory<byte>.Empty), Created: true);
    }

    /// <summary>
    /// Race-safe conditional create: a match is returned; otherwise the (type, criteria) key is claimed by a unique
    /// insert, so of two concurrent creates with the same criteria exactly one succeeds.
    /// </summary>
    private async Task<StoredResource?> ClaimConditionalKeyAsync(DbConnection connection, DbTransaction tx,
        ResourceWrite write, ConditionalCriteria criteria, CancellationToken ct)
    {
        await dialect.CatchUpIndexAsync(connection, tx, ct);
        var matches = await SearchAsync(connection, tx, criteria.Query, ct);
        if (matches.Resources.Count > 1)
        {
            throw new ConditionalCreateException($"The criteria '{criteria.CanonicalText}' match several resources.", isRace: false);
        }
        if (matches.Resources.Count == 1)
        {
            return matches.Resources[0];
        }
        var key = new { Type = write.ResourceType, Hash = Hash(criteria.CanonicalText), Criteria = criteria.CanonicalText, write.Id };
        var holder = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(dialect.ReadConditionalKey, key, tx, cancellationToken: ct));
        if (holder is not null)
        {
            // The holder no longer matches (it was changed), so the key is stale: release exactly that claim.
            await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteConditionalKey, key with { Id = holder }, tx, cancellationToken: ct));
        }
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.InsertConditionalKey, key, tx, cancellationToken: ct));
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            throw new ConditionalCreateException($"Another create with criteria '{criteria.CanonicalText}' won the race.", isRace: true);
        }
        return null;
    }

    private async Task<SearchPage> SearchAsync(DbConnection connection, DbTransaction? tx, SearchQuery query, CancellationToken ct)
    {
        var (sql, parameters) = _builder.Search(query);
        var rows = (await connection.QueryAsync<ResourceRow>(new CommandDefinition(sql, parameters, tx, cancellationToken: ct))).ToList();
        SearchCursor? next = null;
        if (rows.Count > query.Count && query.Count > 0)
        {
            var last = rows[query.Count - 1];
            next = new SearchCursor(last.SortKey, last.Sequence);
        }
        return new SearchPage(rows.Take(query.Count).Select(r => r.ToStored()).ToList(), next);
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed class CurrentRow
    {
        public long SurrogateId { get; set; }
        public int Version { get; set; }
        public bool IsDeleted { get; set; }
    }
}
