using System.Data.Common;
using System.Text.Json;
using Dapper;
using FhirPriorAuth.Core.Security;

namespace FhirPriorAuth.Storage;

/// <summary>Client registrations and used client-assertion ids over Dapper.</summary>
public sealed class SqlClientRegistry(SqlDialect dialect) : IClientRegistry
{
    /// <inheritdoc />
    public async Task<ClientRegistration?> FindAsync(string clientId, CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        var detail = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(dialect.ReadClient, new { ClientId = clientId }, cancellationToken: ct));
        return detail is null ? null : JsonSerializer.Deserialize<ClientRegistration>(detail);
    }

    /// <inheritdoc />
    public async Task SaveAsync(ClientRegistration client, CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteClient, new { client.ClientId }, tx, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(dialect.InsertClient,
            new { client.ClientId, Detail = JsonSerializer.Serialize(client) }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    /// <inheritdoc />
    public async Task<bool> UseAssertionAsync(string clientId, string jti, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteExpiredAssertions, new { Now = now.UtcTicks }, cancellationToken: ct));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.InsertAssertion,
                new { ClientId = clientId, Jti = jti, ExpiresAt = expiresAt.UtcTicks }, cancellationToken: ct));
            return true;
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }
}
