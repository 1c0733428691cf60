using FhirPriorAuth.Core.Pas;

namespace FhirPriorAuth.Core.Security;

/// <summary>A SMART Backend Services client registered with the built-in authorization server.</summary>
/// <param name="ClientId">The client id (the assertion's <c>iss</c> and <c>sub</c>).</param>
/// <param name="Jwks">Its public keys as an inline JWKS (JSON), or null when <paramref name="JwksUrl"/> is used.</param>
/// <param name="JwksUrl">Where its JWKS is published, or null.</param>
/// <param name="Scopes">The scopes it may be granted (space-separated); a token gets the requested ones within these.</param>
/// <param name="Organization">The identifiers of the organization it acts for (empty for payer-internal clients).</param>
/// <param name="Roles">Payer roles (<see cref="PayerRoles"/>).</param>
/// <param name="RateLimitPerMinute">Its own request limit, or null for the server default.</param>
public sealed record ClientRegistration(
    string ClientId,
    string? Jwks,
    string? JwksUrl,
    string Scopes,
    IReadOnlyList<IdentifierKey> Organization,
    IReadOnlyList<string> Roles,
    int? RateLimitPerMinute = null);

/// <summary>Registered clients and the client-assertion ids already used; SQL lives in the storage project.</summary>
public interface IClientRegistry
{
    /// <summary>The registration of a client, or null.</summary>
    Task<ClientRegistration?> FindAsync(string clientId, CancellationToken ct);

    /// <summary>Registers a client, replacing any registration with the same id.</summary>
    Task SaveAsync(ClientRegistration client, CancellationToken ct);

    /// <summary>
    /// Records that a client assertion's <c>jti</c> was used; false when that client already used it and it has not
    /// expired (a replay). Expired entries are forgotten.
    /// </summary>
    Task<bool> UseAssertionAsync(string clientId, string jti, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken ct);
}
