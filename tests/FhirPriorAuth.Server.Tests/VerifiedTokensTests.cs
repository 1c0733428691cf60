using FhirPriorAuth.Server.Security;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Tests;

/// <summary>An accepted access token is accepted again without a signature check, but only while it may be.</summary>
public sealed class VerifiedTokensTests
{
    private const string Audience = "https://server.test/fhir";

    private static readonly TokenValidationParameters Parameters = new()
    {
        ValidIssuer = TestTokens.Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = TestTokens.EcKey,
        RequireExpirationTime = true,
        ValidAlgorithms = BearerTokens.Algorithms,
    };

    [Fact]
    public async Task An_accepted_token_is_accepted_again_without_a_check_until_it_expires_or_is_remembered_too_long()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var handler = new VerifiedTokens(clock) { MapInboundClaims = false };
        var token = TestTokens.Mint(Audience, clientId: "ehr-1", expires: DateTime.UtcNow.AddMinutes(20));

        var first = await handler.ValidateTokenAsync(token, Parameters);
        var again = await handler.ValidateTokenAsync(token, Parameters);
        Assert.True(first.IsValid);
        Assert.True(again.IsValid);
        Assert.Equal("ehr-1", again.ClaimsIdentity.FindFirst("client_id")?.Value);
        Assert.NotSame(first.ClaimsIdentity, again.ClaimsIdentity);
        Assert.Equal(1, handler.Checks);

        clock.Advance(VerifiedTokens.RememberFor);
        Assert.True((await handler.ValidateTokenAsync(token, Parameters)).IsValid);
        Assert.Equal(2, handler.Checks);
    }

    [Fact]
    public async Task A_remembered_token_is_checked_again_once_it_has_expired()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var handler = new VerifiedTokens(clock) { MapInboundClaims = false };
        var token = TestTokens.Mint(Audience, expires: DateTime.UtcNow.AddMinutes(2));
        Assert.True((await handler.ValidateTokenAsync(token, Parameters)).IsValid);

        clock.Advance(TimeSpan.FromMinutes(3));
        await handler.ValidateTokenAsync(token, Parameters);
        Assert.Equal(2, handler.Checks);
    }

    [Fact]
    public async Task A_refused_token_is_checked_every_time()
    {
        var handler = new VerifiedTokens(TimeProvider.System) { MapInboundClaims = false };
        var forged = TestTokens.Mint(Audience, key: new ECDsaSecurityKey(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384)) { KeyId = TestTokens.EcKey.KeyId });

        Assert.False((await handler.ValidateTokenAsync(forged, Parameters)).IsValid);
        Assert.False((await handler.ValidateTokenAsync(forged, Parameters)).IsValid);
        Assert.Equal(2, handler.Checks);
    }
}
