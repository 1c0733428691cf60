using System.Net;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Server.Fhir;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>
/// Access-token validation with ASP.NET's JwtBearer: one scheme per trusted issuer (its own keys, so a key of one
/// issuer never validates another's token) behind a selector scheme that reads the unverified <c>iss</c>.
/// </summary>
public static class BearerTokens
{
    /// <summary>The scheme endpoints authenticate with.</summary>
    public const string Scheme = "Bearer";

    private const string BuiltInScheme = "Bearer:built-in";

    /// <summary>The only signature algorithms accepted: no <c>none</c>, no HMAC (whose key could be a public key).</summary>
    public static readonly string[] Algorithms =
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384];

    /// <summary>Registers the schemes.</summary>
    public static void AddBearerTokens(this IServiceCollection services, SecurityOptions options, string contentRoot)
    {
        var issuerSchemes = new Dictionary<string, string>(StringComparer.Ordinal);
        var authentication = services.AddAuthentication(Scheme);
        for (int i = 0; i < options.Issuers.Count; i++)
        {
            var issuer = options.Issuers[i];
            var name = $"Bearer:{i}";
            issuerSchemes[issuer.Issuer] = name;
            authentication.AddJwtBearer(name, o =>
            {
                Configure(o, options);
                o.TokenValidationParameters.ValidIssuer = issuer.Issuer;
                if (issuer.Discovery is { } discovery)
                {
                    o.MetadataAddress = discovery;
                    o.RequireHttpsMetadata = !IsLoopback(discovery);
                }
                else
                {
                    var json = issuer.Jwks ?? File.ReadAllText(Path.Combine(contentRoot, issuer.JwksFile
                        ?? throw new InvalidOperationException($"Security:Issuers: {issuer.Issuer} needs Discovery, JwksFile or Jwks.")));
                    o.TokenValidationParameters.IssuerSigningKeys = new JsonWebKeySet(json).GetSigningKeys();
                }
            });
        }
        authentication.AddJwtBearer(BuiltInScheme, o => Configure(o, options));
        services.AddOptions<JwtBearerOptions>(BuiltInScheme).Configure<SigningKey, ServerUrls>((o, key, urls) =>
        {
            o.TokenValidationParameters.IssuerSigningKey = key.Public;
            o.TokenValidationParameters.IssuerValidator = (issuer, _, _) => issuer == urls.Issuer
                ? issuer
                : throw new SecurityTokenInvalidIssuerException($"Issuer '{issuer}' is not trusted.");
        });
        // Registered after every scheme's own configuration, so it applies to the parameters those created.
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, AudienceValidation>();
        authentication.AddPolicyScheme(Scheme, "SMART access token", o => o.ForwardDefaultSelector = http =>
        {
            // Unknown issuers and malformed tokens go to the built-in scheme, which refuses them with a reason.
            var token = BearerToken(http);
            return token is not null && Issuer(token) is { } iss && issuerSchemes.TryGetValue(iss, out var scheme) ? scheme : BuiltInScheme;
        });
    }

    /// <summary>The audience is one of the server's own URLs, which are known only once it listens.</summary>
    private sealed class AudienceValidation(ServerUrls urls) : IConfigureNamedOptions<JwtBearerOptions>
    {
        public void Configure(string? name, JwtBearerOptions options) =>
            options.TokenValidationParameters.AudienceValidator = (audiences, _, _) => audiences.Any(urls.Audiences.Contains);

        public void Configure(JwtBearerOptions options) => Configure(null, options);
    }

    private static void Configure(JwtBearerOptions o, SecurityOptions options)
    {
        o.MapInboundClaims = false;
        o.TokenHandlers.Clear();
        o.TokenHandlers.Add(new VerifiedTokens(TimeProvider.System) { MapInboundClaims = false });
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidAlgorithms = Algorithms,
            ClockSkew = options.ClockSkew,
            NameClaimType = "sub",
        };
        o.Events = new JwtBearerEvents { OnChallenge = ChallengeAsync };
    }

    /// <summary>401 with <c>WWW-Authenticate</c> (RFC 6750) and an OperationOutcome saying what was wrong, briefly.</summary>
    private static async System.Threading.Tasks.Task ChallengeAsync(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var hasToken = BearerToken(http) is not null;
        var reason = !hasToken ? "This endpoint needs an access token: send Authorization: Bearer <token>."
            : Reason(context.AuthenticateFailure);
        http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        http.Response.Headers.WWWAuthenticate = hasToken
            ? $"Bearer realm=\"FhirPriorAuth\", error=\"invalid_token\", error_description=\"{reason}\""
            : "Bearer realm=\"FhirPriorAuth\"";
        await FhirHttp.WriteResourceAsync(http, Outcomes.Error(OperationOutcome.IssueType.Login, reason));
    }

    private static string Reason(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException => "The access token has expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenInvalidAudienceException => "The access token is not meant for this server (aud).",
        SecurityTokenInvalidIssuerException => "The access token's issuer is not trusted.",
        SecurityTokenInvalidAlgorithmException => "The access token's signature algorithm is not accepted (RS256, RS384, ES256, ES384).",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The access token's signature is not valid.",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        SecurityTokenMalformedException or ArgumentException => "The access token is not a well-formed JWT.",
        _ => "The access token is not valid.",
    };

    /// <summary>The bearer token of the request, or null.</summary>
    public static string? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    private static string? Issuer(string token)
    {
        try
        {
            return new JsonWebToken(token).Issuer;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>True for http(s) URLs on the loopback interface (development and tests).</summary>
    public static bool IsLoopback(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.IsLoopback || uri.Host == "localhost" ||
            (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)));
}
