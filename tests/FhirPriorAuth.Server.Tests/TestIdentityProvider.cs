using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// A payer identity provider on loopback that publishes an OpenID discovery document and a JWKS, so the server's
/// discovery-based issuer configuration is tested over real HTTP. It signs with RS256.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    private WebApplication? _app;

    public RsaSecurityKey Key { get; } = new(RSA.Create(2048)) { KeyId = "idp-rs256" };

    public string Issuer { get; private set; } = "";

    public string Discovery => Issuer + "/.well-known/openid-configuration";

    public async Task StartAsync()
    {
        _app = Loopback.Create();
        var publicJwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(Key.Rsa.ExportParameters(false)) { KeyId = Key.KeyId });
        _app.MapGet("/.well-known/openid-configuration", () => Results.Json(new { issuer = Issuer, jwks_uri = Issuer + "/jwks" }));
        _app.MapGet("/jwks", () => Results.Json(new { keys = new[] { new { kty = "RSA", kid = publicJwk.Kid, use = "sig", n = publicJwk.N, e = publicJwk.E } } }));
        Issuer = await Loopback.StartAsync(_app);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
