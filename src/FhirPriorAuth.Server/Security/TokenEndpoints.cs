using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>
/// The built-in SMART Backend Services authorization server: <c>client_credentials</c> with a <c>private_key_jwt</c>
/// client assertion (RFC 7523), its public keys, and SMART discovery. JWT and JWK handling is
/// Microsoft.IdentityModel's; this class holds the protocol rules only (ADR 0005).
/// </summary>
public static class TokenEndpoints
{
    private const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Maps <c>/auth/token</c>, <c>/auth/jwks</c> and the SMART configuration at the root and at every FHIR base.</summary>
    public static void MapTokenEndpoints(this IEndpointRouteBuilder app, IEnumerable<string> fhirBases)
    {
        app.MapPost("/auth/token", IssueAsync).WithMetadata(new AuditedAs("token"));
        app.MapGet("/auth/jwks", (SigningKey key) => Results.Json(new { keys = new[] { key.PublicJwk } }))
            .RequireCors(SecuritySetup.AnyOriginPolicy);
        foreach (var prefix in fhirBases.Prepend(""))
        {
            app.MapGet(prefix + "/.well-known/smart-configuration", SmartConfiguration).RequireCors(SecuritySetup.AnyOriginPolicy);
        }
    }

    private static IResult SmartConfiguration(SecurityOptions options, ServerUrls urls, IWebHostEnvironment environment)
    {
        if (options.SmartConfigurationFile is { } file)
        {
            return Results.Text(File.ReadAllText(Path.Combine(environment.ContentRootPath, file)), "application/json");
        }
        return Results.Json(new
        {
            issuer = urls.Issuer,
            jwks_uri = urls.JwksUri,
            token_endpoint = urls.TokenEndpoint,
            grant_types_supported = new[] { "client_credentials" },
            token_endpoint_auth_methods_supported = new[] { "private_key_jwt" },
            token_endpoint_auth_signing_alg_values_supported = ClientJwt.Algorithms,
            scopes_supported = new[] { "system/Claim.c", "system/Claim.r", "system/ClaimResponse.rs", "system/Task.rs", "system/DocumentReference.c",
                "system/Subscription.cruds", "user/*.rs", "patient/*.rs", "system/*.cruds" },
            response_types_supported = Array.Empty<string>(),
            capabilities = new[] { "client-confidential-asymmetric", "permission-v1", "permission-v2", "permission-patient", "permission-user" },
            code_challenge_methods_supported = new[] { "S256" },
        });
    }

    private static async Task<IResult> IssueAsync(HttpContext http, IClientRegistry registry, SigningKey key, ServerUrls urls,
        SecurityOptions options, TimeProvider clock, IHttpClientFactory httpClients)
    {
        if (!options.TokenServer.Enabled)
        {
            return Results.NotFound();
        }
        if (!http.Request.HasFormContentType)
        {
            return Error(400, "invalid_request", "Send the token request as application/x-www-form-urlencoded.");
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (form["grant_type"] != "client_credentials")
        {
            return Error(400, "unsupported_grant_type", "Only client_credentials is supported (SMART Backend Services).");
        }
        if (form["client_assertion_type"] != AssertionType)
        {
            return Error(401, "invalid_client", $"client_assertion_type must be {AssertionType}.");
        }
        var assertion = form["client_assertion"].ToString();
        JsonWebToken unverified;
        try
        {
            unverified = new JsonWebToken(assertion);
        }
        catch (ArgumentException)
        {
            return Error(401, "invalid_client", "client_assertion is not a well-formed JWT.");
        }
        var clientId = unverified.Issuer;
        http.Features.Get<AuditDetails>()?.SetClient(clientId);
        var client = string.IsNullOrEmpty(clientId) ? null : await registry.FindAsync(clientId, http.RequestAborted);
        if (client is null)
        {
            return Error(401, "invalid_client", "The client is not registered.");
        }
        if (unverified.Subject != client.ClientId)
        {
            return Error(401, "invalid_client", "The client assertion's sub must equal its iss (the client id).");
        }
        var now = clock.GetUtcNow();
        if (await ClientJwt.VerifyAsync(unverified, "client assertion", new JwtSigner(client.ClientId, client.JwksUrl, client.Jwks), urls.TokenEndpoint,
                registry, httpClients, options.ClockSkew, now, http.RequestAborted) is { } problem)
        {
            return Error(401, "invalid_client", problem);
        }

        var granted = GrantedScope(form["scope"].ToString(), client.Scopes);
        if (granted.Count == 0)
        {
            return Error(400, "invalid_scope", "None of the requested scopes is allowed for this client.");
        }
        var lifetime = options.TokenServer.TokenLifetime < MaxTokenLifetime ? options.TokenServer.TokenLifetime : MaxTokenLifetime;
        var claims = new Dictionary<string, object>
        {
            ["client_id"] = client.ClientId,
            ["scope"] = string.Join(' ', granted),
            ["aud"] = urls.Audiences.ToArray(),
        };
        if (client.Organization.Count > 0)
        {
            claims[options.OrganizationClaim] = client.Organization.Select(o => o.ToString()).ToArray();
        }
        if (client.Roles.Count > 0)
        {
            claims[options.RoleClaim] = client.Roles.ToArray();
        }
        var accessToken = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = urls.Issuer,
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", client.ClientId),
                new System.Security.Claims.Claim("jti", Guid.NewGuid().ToString("N"))]),
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(key.Private, SecurityAlgorithms.EcdsaSha384),
            TokenType = "at+jwt",
        });
        NoStore(http);
        return Results.Json(new
        {
            access_token = accessToken,
            token_type = "bearer",
            expires_in = (int)lifetime.TotalSeconds,
            scope = string.Join(' ', granted),
        });
    }

    /// <summary>The requested scopes that one of the client's allowed scopes covers (same context, type and letters).</summary>
    public static IReadOnlyList<string> GrantedScope(string requested, string allowed)
    {
        var allowedScopes = GrantedScopes.Parse(allowed);
        return requested.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct().Where(text =>
            allowedScopes.All.Contains(text) || (SmartScope.TryParse(text, out var scope) && allowedScopes.ResourceScopes.Any(a => Covers(a, scope!))))
            .ToList();

        // An allowed scope without constraints covers any narrower one: same context, its type (or *), a subset of its letters.
        static bool Covers(SmartScope allowed, SmartScope wanted) =>
            allowed.Context == wanted.Context && allowed.Constraints.Count == 0
            && (allowed.ResourceType == "*" || allowed.ResourceType == wanted.ResourceType)
            && (allowed.Permissions & wanted.Permissions) == wanted.Permissions;
    }

    private static void NoStore(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
    }

    /// <summary>An OAuth error response (RFC 6749 §5.2), never cached.</summary>
    private static IResult Error(int status, string error, string description) => new OAuthError(status, error, description);

    private sealed class OAuthError(int status, string error, string description) : IResult
    {
        public System.Threading.Tasks.Task ExecuteAsync(HttpContext http)
        {
            NoStore(http);
            http.Response.StatusCode = status;
            if (status == 401)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer realm=\"FhirPriorAuth\"";
            }
            var body = new JsonObject { ["error"] = error, ["error_description"] = description };
            return http.Response.WriteAsJsonAsync(body);
        }
    }
}
