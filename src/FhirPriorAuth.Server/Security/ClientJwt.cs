using System.Collections.Concurrent;
using System.Text.Json;
using FhirPriorAuth.Core.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>Who signed a JWT and where its keys are: a registered SMART client, or an EHR allowed to call the CDS services.</summary>
/// <param name="Issuer">The required <c>iss</c>.</param>
/// <param name="JwksUrl">Its JWK Set URL: the only <c>jku</c> accepted, and where keys are read when none are inline.</param>
/// <param name="Jwks">Its JWKS document, when configured inline.</param>
public sealed record JwtSigner(string Issuer, string? JwksUrl, string? Jwks);

/// <summary>
/// A JWT a client signs itself to prove who it is (a SMART Backend Services client assertion, a CDS Hooks call): signed
/// with RS384 or ES384 by a key of its issuer, for one audience, expiring within 5 minutes, with a <c>jti</c> used once
/// (kept in the database, so replicas share it).
/// </summary>
public static class ClientJwt
{
    /// <summary>The algorithms accepted.</summary>
    public static readonly string[] Algorithms = [SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha384];

    private static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);
    private static readonly ConcurrentDictionary<string, (JsonWebKeySet Keys, DateTimeOffset At)> RemoteKeys = new();

    /// <summary>Null when <paramref name="token"/> is valid and its jti was not used before; otherwise why not, naming it <paramref name="what"/>.</summary>
    public static async Task<string?> VerifyAsync(JsonWebToken token, string what, JwtSigner signer, string audience, IClientRegistry registry,
        IHttpClientFactory httpClients, TimeSpan skew, DateTimeOffset now, CancellationToken ct)
    {
        if (token.TryGetHeaderValue<string>("jku", out var jku) && jku != signer.JwksUrl)
        {
            return $"The {what}'s jku is not the registered JWKS URL of {signer.Issuer}.";
        }
        IList<SecurityKey> keys;
        try
        {
            keys = await KeysAsync(signer, httpClients, now, ct);
        }
        catch (Exception e) when (e is HttpRequestException or ArgumentException or JsonException or TaskCanceledException)
        {
            return $"The keys of {signer.Issuer} could not be read.";
        }
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = signer.Issuer,
            ValidAudience = audience,
            IssuerSigningKeys = keys,
            ValidAlgorithms = Algorithms,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = skew,
        });
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenExpiredException => $"The {what} has expired.",
                SecurityTokenInvalidAudienceException => $"The {what}'s aud must be {audience}.",
                SecurityTokenInvalidAlgorithmException => $"The {what} must be signed with RS384 or ES384.",
                _ => $"The {what}'s signature or claims are not valid.",
            };
        }
        if (token.ValidTo - now.UtcDateTime > MaxLifetime + skew)
        {
            return $"The {what}'s exp is more than 5 minutes ahead.";
        }
        if (string.IsNullOrEmpty(token.Id))
        {
            return $"The {what} has no jti.";
        }
        return await registry.UseAssertionAsync(signer.Issuer, token.Id, new DateTimeOffset(token.ValidTo, TimeSpan.Zero) + skew, now, ct)
            ? null
            : $"The {what}'s jti was already used.";
    }

    /// <summary>The signer's keys: inline, or read from its URL (https, or loopback) and cached for 5 minutes.</summary>
    private static async Task<IList<SecurityKey>> KeysAsync(JwtSigner signer, IHttpClientFactory httpClients, DateTimeOffset now, CancellationToken ct)
    {
        if (signer.Jwks is { } inline)
        {
            return new JsonWebKeySet(inline).GetSigningKeys();
        }
        var url = signer.JwksUrl ?? throw new ArgumentException("The signer has no keys.");
        if (!url.StartsWith("https://", StringComparison.Ordinal) && !BearerTokens.IsLoopback(url))
        {
            throw new ArgumentException("A JWKS URL must use https.");
        }
        if (!RemoteKeys.TryGetValue(url, out var cached) || now - cached.At > TimeSpan.FromMinutes(5))
        {
            using var http = httpClients.CreateClient("jwks");
            http.Timeout = TimeSpan.FromSeconds(5);
            cached = (new JsonWebKeySet(await http.GetStringAsync(url, ct)), now);
            RemoteKeys[url] = cached;
        }
        return cached.Keys.GetSigningKeys();
    }
}
