using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// A token issuer that tests control: its public keys are configured in every test server as a trusted static JWKS,
/// so a test can mint any token it needs, good or bad.
/// </summary>
public static class TestTokens
{
    public const string Issuer = "https://issuer.test/";

    public static readonly ECDsaSecurityKey EcKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "test-es384" };
    public static readonly RsaSecurityKey RsaKey = new(RSA.Create(2048)) { KeyId = "test-rs" };

    /// <summary>The public keys as a JWKS document.</summary>
    public static string Jwks { get; } = PublicJwks(EcKey, RsaKey);

    /// <summary>The public halves of keys as a JWKS document.</summary>
    public static string PublicJwks(params SecurityKey[] keys) => JsonSerializer.Serialize(new { keys = keys.Select(Public).ToArray() });

    public const string AllScopes = "system/*.cruds";

    /// <summary>The EHR that the test servers allow to call their CDS services.</summary>
    public const string CdsIssuer = "https://ehr.test/";

    /// <summary>A CDS Hooks client JWT (CDS Hooks 2.0 §Trusting CDS Clients); everything not given is valid.</summary>
    public static string MintCds(string audience, string issuer = CdsIssuer, SecurityKey? key = null, string algorithm = SecurityAlgorithms.EcdsaSha384,
        string? jti = null, DateTime? expires = null, string? jku = null)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            Expires = expires ?? now.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["jti"] = jti ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) },
            SigningCredentials = new SigningCredentials(key ?? EcKey, algorithm),
            TokenType = "JWT",
        };
        if (jku is not null) descriptor.AdditionalHeaderClaims = new Dictionary<string, object> { ["jku"] = jku };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A token with the given claims; everything not given has a valid default.</summary>
    public static string Mint(string audience, string clientId = "test-admin", string scope = AllScopes, string[]? roles = null,
        string[]? organization = null, string? patient = null, string issuer = Issuer, SecurityKey? key = null,
        string algorithm = SecurityAlgorithms.EcdsaSha384, DateTime? expires = null, DateTime? notBefore = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["client_id"] = clientId, ["scope"] = scope, ["sub"] = clientId };
        if (roles is not null) claims["roles"] = roles;
        if (organization is not null) claims["organization"] = organization;
        if (patient is not null) claims["patient"] = patient;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.AddMinutes(-1),
            NotBefore = notBefore ?? now.AddMinutes(-1),
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(key ?? EcKey, algorithm),
        });
    }

    private static object Public(SecurityKey key)
    {
        var jwk = key switch
        {
            ECDsaSecurityKey ec => JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ECDsa.ExportParameters(false))) { KeyId = ec.KeyId }),
            RsaSecurityKey rsa => JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.Rsa.ExportParameters(false)) { KeyId = rsa.KeyId }),
            _ => throw new ArgumentException("unsupported key"),
        };
        return jwk.Kty == "EC"
            ? new Dictionary<string, string> { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["crv"] = jwk.Crv, ["x"] = jwk.X, ["y"] = jwk.Y, ["use"] = "sig" }
            : new Dictionary<string, string> { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E, ["use"] = "sig" };
    }
}

/// <summary>Adds a fresh CDS Hooks JWT, audience the URL called, to every request that does not carry a token already.</summary>
public sealed class CdsJwtHandler(Uri server) : DelegatingHandler(new HttpClientHandler())
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var url = new Uri(server, request.RequestUri!);
        request.Headers.Authorization ??= new AuthenticationHeaderValue("Bearer", TestTokens.MintCds(url.GetLeftPart(UriPartial.Path).TrimEnd('/')));
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Adds a bearer token to every request that does not carry one already.</summary>
public sealed class BearerHandler(Func<string> token) : DelegatingHandler(new HttpClientHandler())
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization ??= new AuthenticationHeaderValue("Bearer", token());
        return base.SendAsync(request, cancellationToken);
    }
}
