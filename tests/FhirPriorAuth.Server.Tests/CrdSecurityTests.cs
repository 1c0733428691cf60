using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Tests;

/// <summary>CDS Hooks client authentication on the hook and feedback endpoints: the JWT matrix.</summary>
[Collection(ServerCollection.Name)]
public sealed class CrdSecurityTests(ServerHost server)
{
    private string Url(string path = "cds-services/crd-order-sign") => new Uri(server.BaseAddress, path).ToString();

    private static StringContent Body() =>
        new(CrdTests.OrderSign(CrdTests.ServiceRequest("99213", "Office visit"), ("cov-1", "plan-a")).ToJsonString(), Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> Call(string? token, string path = "cds-services/crd-order-sign")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Body() };
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        return server.Anonymous.SendAsync(request);
    }

    public static TheoryData<string> Refused => new()
    {
        "none", "not-a-jwt", "unknown-issuer", "wrong-audience", "expired", "too-long", "hs256", "unknown-key", "foreign-jku", "no-jti",
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task AHookCallWithoutAValidJwt_Is401_WithAnOutcome(string problem)
    {
        var other = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "test-es384" };
        var token = problem switch
        {
            "none" => null,
            "not-a-jwt" => "abc.def",
            "unknown-issuer" => TestTokens.MintCds(Url(), issuer: "https://intruder.test/"),
            "wrong-audience" => TestTokens.MintCds(Url("cds-services/crd-order-select")),
            "expired" => TestTokens.MintCds(Url(), expires: DateTime.UtcNow.AddMinutes(-5)),
            "too-long" => TestTokens.MintCds(Url(), expires: DateTime.UtcNow.AddHours(2)),
            "hs256" => TestTokens.MintCds(Url(), key: new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64)) { KeyId = "test-es384" }, algorithm: SecurityAlgorithms.HmacSha256),
            "unknown-key" => TestTokens.MintCds(Url(), key: other),
            "foreign-jku" => TestTokens.MintCds(Url(), jku: "https://intruder.test/jwks.json"),
            "no-jti" => NoJti(),
            _ => throw new ArgumentException(problem),
        };
        var response = await Call(token);
        await response.AssertOutcome(401);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task RS384AndES384_AreAccepted_AndAJtiWorksOnce()
    {
        Assert.Equal(HttpStatusCode.OK, (await Call(TestTokens.MintCds(Url(), key: TestTokens.RsaKey, algorithm: SecurityAlgorithms.RsaSha384))).StatusCode);
        var once = TestTokens.MintCds(Url());
        Assert.Equal(HttpStatusCode.OK, (await Call(once)).StatusCode);
        await (await Call(once)).AssertOutcome(401);
    }

    [Fact]
    public async Task Feedback_NeedsAJwtForItsOwnUrl()
    {
        const string path = "cds-services/crd-order-sign/feedback";
        var feedback = new StringContent("""{"feedback":[{"card":"c","outcome":"accepted","acceptedSuggestions":[{"id":"s"}],"outcomeTimestamp":"2026-11-27T10:00:00Z"}]}""", Encoding.UTF8, "application/json");
        var refused = new HttpRequestMessage(HttpMethod.Post, path) { Content = feedback };
        refused.Headers.Authorization = new("Bearer", TestTokens.MintCds(Url()));
        await (await server.Anonymous.SendAsync(refused)).AssertOutcome(401);
        Assert.Equal(HttpStatusCode.OK, (await server.Cds.PostAsync(path, new StringContent(await feedback.ReadAsStringAsync(), Encoding.UTF8, "application/json"))).StatusCode);
    }

    private string NoJti()
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TestTokens.CdsIssuer,
            Audience = Url(),
            IssuedAt = DateTime.UtcNow,
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(TestTokens.EcKey, SecurityAlgorithms.EcdsaSha384),
        });
    }
}
