using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>
/// Validates access tokens as <see cref="JsonWebTokenHandler"/> does, and remembers the ones it accepted: a client sends
/// the same token with every request until it expires, and checking an ES384 signature each time was 4–5% of the server's
/// CPU under load. A remembered token is accepted again only before it expires and for at most
/// <see cref="RememberFor"/>, so a signing key withdrawn from an issuer's key set stops working within that time.
/// Refused tokens are never remembered. One instance per scheme, so a token is only ever accepted again under the
/// parameters that accepted it.
/// </summary>
public sealed class VerifiedTokens(TimeProvider clock) : JsonWebTokenHandler
{
    /// <summary>How long an accepted token is accepted again without checking its signature.</summary>
    public static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(5);

    // Bounded: when this many are remembered, all are forgotten (each then costs one check again).
    private const int MaxRemembered = 10_000;

    private readonly ConcurrentDictionary<string, Accepted> _accepted = new(StringComparer.Ordinal);
    private long _checks;

    private sealed record Accepted(ClaimsIdentity Identity, SecurityToken Token, DateTimeOffset Until);

    /// <summary>How many tokens were checked in full (signature included).</summary>
    public long Checks => Interlocked.Read(ref _checks);

    /// <inheritdoc />
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = clock.GetUtcNow();
        if (_accepted.TryGetValue(token, out var accepted))
        {
            if (now < accepted.Until)
            {
                // A copy: whoever handles the request may add claims to its identity.
                return new TokenValidationResult { IsValid = true, ClaimsIdentity = accepted.Identity.Clone(), SecurityToken = accepted.Token };
            }
            _accepted.TryRemove(token, out _);
        }
        Interlocked.Increment(ref _checks);
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result is { IsValid: true, ClaimsIdentity: { } identity, SecurityToken: { } securityToken } && securityToken.ValidTo > DateTime.MinValue)
        {
            if (_accepted.Count >= MaxRemembered)
            {
                _accepted.Clear();
            }
            var expires = new DateTimeOffset(DateTime.SpecifyKind(securityToken.ValidTo, DateTimeKind.Utc));
            _accepted[token] = new Accepted(identity.Clone(), securityToken, expires < now + RememberFor ? expires : now + RememberFor);
        }
        return result;
    }
}
