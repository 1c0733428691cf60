using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Security;
using Hl7.Fhir.Model;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Crd;

/// <summary>An EHR allowed to call the CDS services, and where its keys are.</summary>
public sealed class CdsClient
{
    /// <summary>The JWT <c>iss</c> it signs with.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Its JWK Set URL: the only <c>jku</c> accepted from it, and where its keys are read when none are given inline.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>Its public keys as a JWKS document.</summary>
    public string? Jwks { get; set; }

    /// <summary>A file holding its JWKS document, read once at start.</summary>
    public string? JwksFile { get; set; }
}

/// <summary>Settings of section <c>Crd</c>.</summary>
public sealed class CrdOptions
{
    /// <summary>Whether hook and feedback calls must carry a CDS Hooks JWT (on unless turned off).</summary>
    public bool RequireAuthentication { get; set; } = true;

    /// <summary>Whether discovery needs one too (off: discovery describes public services).</summary>
    public bool DiscoveryRequiresAuthentication { get; set; }

    /// <summary>The EHRs allowed to call.</summary>
    public List<CdsClient> Clients { get; set; } = [];

    /// <summary>How long a hook call may spend reading the EHR's FHIR API.</summary>
    public TimeSpan EhrBudget { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// CDS Hooks 2.0 client authentication: <c>Authorization: Bearer</c> a JWT signed with RS384 or ES384 by an allowed
/// issuer (keys from its configured JWKS, or from its <c>jku</c> when that is its registered URL), with <c>aud</c> the
/// URL called, <c>exp</c>, <c>iat</c> and a <c>jti</c> used once. Anything else is a 401 OperationOutcome.
/// </summary>
public sealed class CdsClientAuthentication(CrdOptions options, ServerUrls urls, IClientRegistry registry, IHttpClientFactory httpClients,
    SecurityOptions security, TimeProvider clock)
{
    /// <summary>Checks the call; returns the issuer that made it.</summary>
    public async Task<string> AuthenticateAsync(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw Unauthorized("A CDS Hooks call needs 'Authorization: Bearer <JWT>' signed by an allowed EHR.");
        }
        JsonWebToken token;
        try
        {
            token = new JsonWebToken(header[7..].Trim());
        }
        catch (ArgumentException)
        {
            throw Unauthorized("The bearer token is not a JWT.");
        }
        var client = options.Clients.FirstOrDefault(c => c.Issuer == token.Issuer)
            ?? throw Unauthorized($"The issuer '{token.Issuer}' is not allowed to call these services.");
        if (string.IsNullOrEmpty(token.Kid))
        {
            throw Unauthorized("The JWT header needs a kid.");
        }
        if (!token.TryGetPayloadValue<long>("iat", out _))
        {
            throw Unauthorized("The JWT has no iat.");
        }
        if (await ClientJwt.VerifyAsync(token, "JWT", new JwtSigner(client.Issuer, client.JwksUrl, client.Jwks), urls.Root + http.Request.Path.Value,
                registry, httpClients, security.ClockSkew, clock.GetUtcNow(), http.RequestAborted) is { } problem)
        {
            throw Unauthorized(problem);
        }
        return client.Issuer;
    }

    private static FhirException Unauthorized(string message) => new(401, Outcomes.Error(OperationOutcome.IssueType.Login, message));
}
