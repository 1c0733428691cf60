using System.Text.Json;
using Dapper;
using FhirPriorAuth.Core.Crd;

namespace FhirPriorAuth.Storage;

/// <summary>CRD coverage assertions over Dapper, one JSON row each.</summary>
public sealed class SqlCoverageAssertionStore(SqlResourceStore resources) : ICoverageAssertionStore
{
    private SqlDialect Dialect => resources.Dialect;

    /// <inheritdoc />
    public Task SaveAsync(IReadOnlyList<CoverageAssertion> assertions, CancellationToken ct) =>
        resources.RetryTransientAsync(() => Dialect.WriteAsync((connection, tx) => connection.ExecuteAsync(new CommandDefinition(Dialect.InsertCoverageAssertion,
            assertions.Select(a => new { a.Id, a.HookInstance, AssertedAt = a.AssertedAt.UtcTicks, Detail = JsonSerializer.Serialize(a, SqlAuthorizationStore.DetailOptions) }),
            tx, cancellationToken: ct)), ct), ct);

    /// <inheritdoc />
    public async Task<CoverageAssertion?> ReadAsync(string id, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var detail = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(Dialect.ReadCoverageAssertion, new { Id = id }, cancellationToken: ct));
        return detail is null ? null : JsonSerializer.Deserialize<CoverageAssertion>(detail, SqlAuthorizationStore.DetailOptions);
    }
}
