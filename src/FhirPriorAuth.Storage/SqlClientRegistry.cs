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
    public Task SaveAsync(ClientRegistration client, CancellationToken ct) =>
        dialect.WriteAsync(async (connection, tx) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteClient, new { client.ClientId }, tx, cancellationToken: ct));
            return await connection.ExecuteAsync(new CommandDefinition(dialect.InsertClient,
                new { client.ClientId, Detail = JsonSerializer.Serialize(client) }, tx, cancellationToken: ct));
        }, ct);

    /// <inheritdoc />
    public Task<bool> UseAssertionAsync(string clientId, string jti, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken ct) =>
        dialect.WriteAsync(async (connection, tx) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.DeleteExpiredAssertions, new { Now = now.UtcTicks }, tx, cancellationToken: ct));
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(dialect.InsertAssertion,
                    new { ClientId = clientId, Jti = jti, ExpiresAt = expiresAt.UtcTicks }, tx, cancellationToken: ct));
                return true;
            }
            catch (DbException e) when (dialect.IsUniqueViolation(e))
            {
                return false;
            }
        }, ct);
}
