using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>The built-in SMART Backend Services token endpoint (client_credentials with a private_key_jwt assertion).</summary>
[Collection(ServerCollection.Name)]
public sealed class TokenEndpointTests(ServerHost server)
{
    private readonly ECDsaSecurityKey _clientKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "client-es384" };

    private string TokenUrl => new Uri(server.BaseAddress, "auth/token").ToString();

    private async Task<string> Register(SecurityKey publicKey, string scopes = "system/Claim.c system/ClaimResponse.rs system/Patient.rs",
        string[]? roles = null, int? rateLimit = null)
    {
        var clientId = "client-" + Guid.NewGuid().ToString("N")[..8];
        await server.Services.GetRequiredService<IClientRegistry>().SaveAsync(new ClientRegistration(clientId,
            TestTokens.PublicJwks(publicKey),
            null, scopes, [new IdentifierKey("http://hl7.org/fhir/sid/us-npi", "1234567893")], roles ?? [], rateLimit), CancellationToken.None);
        return clientId;
    }

    private string Assertion(string clientId, SecurityKey? key = null, string? audience = null, string? jti = null,
        DateTime? expires = null, string? subject = null, string algorithm = SecurityAlgorithms.EcdsaSha384)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience ?? TokenUrl,
            Claims = new Dictionary<string, object> { ["sub"] = subject ?? clientId, ["jti"] = jti ?? Guid.NewGuid().ToString("N") },
            IssuedAt = now,
            Expires = expires ?? now.AddMinutes(4),
            SigningCredentials = new SigningCredentials(key ?? _clientKey, algorithm),
        });
    }

    private Task<HttpResponseMessage> RequestToken(string assertion, string scope = "system/Claim.c system/ClaimResponse.rs",
        string grantType = "client_credentials", string assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") =>
        server.Anonymous.PostAsync("auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = grantType,
            ["scope"] = scope,
            ["client_assertion_type"] = assertionType,
            ["client_assertion"] = assertion,
        }));

    [Fact]
    public async Task AValidAssertion_GetsAShortLivedToken_ThatTheFhirApiAccepts()
    {
        var clientId = await Register(_clientKey);
        var response = await RequestToken(Assertion(clientId), scope: "system/Claim.c system/ClaimResponse.rs system/Task.rs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl!.NoStore);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("bearer", body["token_type"]!.GetValue<string>());
        Assert.InRange(body["expires_in"]!.GetValue<int>(), 1, 300);
        // Task.rs was not pre-authorized: the grant is the allowed subset of the request.
        Assert.Equal("system/Claim.c system/ClaimResponse.rs", body["scope"]!.GetValue<string>());

        var token = new JsonWebToken(body["access_token"]!.GetValue<string>());
        Assert.Equal("ES384", token.Alg);
        Assert.True(token.ValidTo - DateTime.UtcNow <= TimeSpan.FromMinutes(5));
        var search = new HttpRequestMessage(HttpMethod.Get, "fhir/ClaimResponse?_count=1")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", body["access_token"]!.GetValue<string>()) },
        };
        Assert.Equal(HttpStatusCode.OK, (await server.Anonymous.SendAsync(search)).StatusCode);
        // The token carries no Patient scope, so Patient search is forbidden.
        var patients = new HttpRequestMessage(HttpMethod.Get, "fhir/Patient?_count=1")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", body["access_token"]!.GetValue<string>()) },
        };
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Anonymous.SendAsync(patients)).StatusCode);
    }

    [Fact]
    public async Task AnRs384Client_IsAcceptedToo()
    {
        var rsa = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "client-rs384" };
        var clientId = await Register(rsa);
        Assert.Equal(HttpStatusCode.OK, (await RequestToken(Assertion(clientId, rsa, algorithm: SecurityAlgorithms.RsaSha384))).StatusCode);
    }

    [Fact]
    public async Task AReusedJti_IsRefused()
    {
        var clientId = await Register(_clientKey);
        var assertion = Assertion(clientId);
        Assert.Equal(HttpStatusCode.OK, (await RequestToken(assertion)).StatusCode);
        await AssertInvalidClient(await RequestToken(assertion), "jti");
    }

    public static TheoryData<string> BadAssertions => new() { "expired", "wrong-aud", "unknown-client", "bad-signature", "sub-not-iss", "exp-too-far", "es256", "malformed" };

    [Theory]
    [MemberData(nameof(BadAssertions))]
    public async Task ABadAssertion_IsRefusedAsInvalidClient(string kind)
    {
        var clientId = await Register(_clientKey);
        var assertion = kind switch
        {
            "expired" => Assertion(clientId, expires: DateTime.UtcNow.AddMinutes(-2)),
            "wrong-aud" => Assertion(clientId, audience: "https://other.example/token"),
            "unknown-client" => Assertion("nobody-" + Guid.NewGuid().ToString("N")),
            "bad-signature" => Assertion(clientId, key: new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "client-es384" }),
            "sub-not-iss" => Assertion(clientId, subject: "someone-else"),
            "exp-too-far" => Assertion(clientId, expires: DateTime.UtcNow.AddMinutes(30)),
            "es256" => Assertion(clientId, key: new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "client-es384" }, algorithm: SecurityAlgorithms.EcdsaSha256),
            _ => "not.a.jwt",
        };
        await AssertInvalidClient(await RequestToken(assertion), null);
    }

    [Fact]
    public async Task WrongGrantTypeIs400_WrongAssertionTypeIs401_AndAScopeOutsideTheRegistrationIs400()
    {
        var clientId = await Register(_clientKey);
        var grant = await RequestToken(Assertion(clientId), grantType: "authorization_code");
        Assert.Equal(HttpStatusCode.BadRequest, grant.StatusCode);
        Assert.Equal("unsupported_grant_type", JsonNode.Parse(await grant.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        await AssertInvalidClient(await RequestToken(Assertion(clientId), assertionType: "urn:example:other"), null);
        var scope = await RequestToken(Assertion(clientId), scope: "system/*.cruds");
        Assert.Equal(HttpStatusCode.BadRequest, scope.StatusCode);
        Assert.Equal("invalid_scope", JsonNode.Parse(await scope.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task SmartConfiguration_DescribesTheTokenEndpoint_AndJwksPublishesTheVerifyingKey()
    {
        var config = JsonNode.Parse(await server.Anonymous.GetStringAsync("fhir/.well-known/smart-configuration"))!;
        Assert.Equal(TokenUrl, config["token_endpoint"]!.GetValue<string>());
        Assert.Contains("client_credentials", config["grant_types_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("private_key_jwt", config["token_endpoint_auth_methods_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("permission-v2", config["capabilities"]!.AsArray().Select(n => n!.GetValue<string>()));

        var jwks = new JsonWebKeySet(await server.Anonymous.GetStringAsync(config["jwks_uri"]!.GetValue<string>()));
        var key = Assert.Single(jwks.Keys);
        Assert.Null(key.D); // public only

        var clientId = await Register(_clientKey);
        var body = JsonNode.Parse(await (await RequestToken(Assertion(clientId))).Content.ReadAsStringAsync())!;
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(body["access_token"]!.GetValue<string>(), new TokenValidationParameters
        {
            ValidIssuer = config["issuer"]!.GetValue<string>(),
            ValidAudience = server.Audience,
            IssuerSigningKeys = jwks.GetSigningKeys(),
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
    }

    [Fact]
    public async Task AClientOverItsRateLimit_Gets429WithRetryAfter()
    {
        var clientId = await Register(_clientKey, rateLimit: 2);
        var token = server.Token(clientId: clientId, scope: "system/Patient.rs", roles: ["admin"]);
        HttpResponseMessage? last = null;
        for (int i = 0; i < 3; i++)
        {
            last = await server.Anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Get, "fhir/Patient?_count=1")
            {
                Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
            });
        }
        await last!.AssertOutcome(429);
        Assert.True(last!.Headers.RetryAfter!.Delta > TimeSpan.Zero);
    }

    private static async Task AssertInvalidClient(HttpResponseMessage response, string? mentions)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(response.Headers.CacheControl!.NoStore);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("invalid_client", body["error"]!.GetValue<string>());
        if (mentions is not null)
        {
            Assert.Contains(mentions, body["error_description"]!.GetValue<string>());
        }
    }
}
