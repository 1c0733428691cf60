namespace FhirPriorAuth.Server.Security;

/// <summary>Configuration section <c>Security</c> (docs/security.md).</summary>
public sealed class SecurityOptions
{
    /// <summary>The default: every FHIR request needs a bearer token.</summary>
    public const string TokensMode = "Tokens";

    /// <summary>Development only: no authentication; the server refuses to run unless it listens on loopback only.</summary>
    public const string NoneMode = "None";

    /// <summary><see cref="TokensMode"/> or <see cref="NoneMode"/>.</summary>
    public string Mode { get; set; } = TokensMode;

    /// <summary>Accepted token audiences. Empty: the server's FHIR base URLs (from <c>Fhir:PublicBaseUrl</c> or the listening address).</summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>Trusted external token issuers, besides the built-in authorization server.</summary>
    public List<TrustedIssuer> Issuers { get; set; } = [];

    /// <summary>The claim naming the caller's organization identifiers (<c>system|value</c>, one or several).</summary>
    public string OrganizationClaim { get; set; } = "organization";

    /// <summary>The claim carrying payer roles (<c>admin</c>, <c>reviewer</c>).</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>Clock skew allowed on <c>exp</c>/<c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The built-in SMART Backend Services authorization server.</summary>
    public TokenServerOptions TokenServer { get; set; } = new();

    /// <summary>
    /// A SMART configuration document (JSON file) to serve instead of the built-in server's, when an external
    /// authorization server issues the tokens.
    /// </summary>
    public string? SmartConfigurationFile { get; set; }

    /// <summary>Browser origins allowed to call the FHIR API (SMART apps). Discovery documents allow any origin.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Requests per minute per client, unless its registration says otherwise.</summary>
    public int RateLimitPerMinute { get; set; } = 60_000;
}

/// <summary>An external issuer whose tokens are accepted: keys from a discovery document or a static JWKS.</summary>
public sealed class TrustedIssuer
{
    /// <summary>The exact <c>iss</c> value of its tokens.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>An OpenID (<c>.well-known/openid-configuration</c>) or SMART (<c>.well-known/smart-configuration</c>) document naming <c>jwks_uri</c>.</summary>
    public string? Discovery { get; set; }

    /// <summary>A JWKS file.</summary>
    public string? JwksFile { get; set; }

    /// <summary>A JWKS as inline JSON.</summary>
    public string? Jwks { get; set; }
}

/// <summary>Configuration of the built-in authorization server.</summary>
public sealed class TokenServerOptions
{
    /// <summary>False when only external issuers are used.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The PEM file of the server's token-signing key (EC P-384). Empty: <c>token-signing-key.pem</c> in the data
    /// directory, created on first start. Replicas must share one key.
    /// </summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>Access-token lifetime; SMART Backend Services caps it at 5 minutes.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
