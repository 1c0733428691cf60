// Firely annotates nearly every element as nullable; these tests read response shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;
using Microsoft.IdentityModel.Tokens;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>Who may call what: tokens, scopes, organization and patient binding, and the audit record of each request.</summary>
[Collection(ServerCollection.Name)]
public sealed class SecurityTests(ServerHost server)
{
    private static readonly string SubmitBody = PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-1.json");
    private static readonly string InquireBody = PasHttp.Example("2.2.1", "must_support_pa_inquire_request_payload-1.json");

    /// <summary>One request of each endpoint group, with the scope-free part of what it sends.</summary>
    public static TheoryData<string> Groups => new() { "read", "search", "create", "history", "submit", "inquire", "subscription", "audit" };

    private static HttpRequestMessage GroupRequest(string group) => group switch
    {
        "read" => new(HttpMethod.Get, "fhir/Patient/some-id"),
        "search" => new(HttpMethod.Get, "fhir/ClaimResponse?status=active"),
        "create" => new(HttpMethod.Post, "fhir/Patient") { Content = Fhir.Json(Fhir.Member("M-" + Fhir.NewId())) },
        "history" => new(HttpMethod.Get, "fhir/_history"),
        "submit" => new(HttpMethod.Post, "fhir/Claim/$submit") { Content = Fhir.Json(PasHttp.Fresh(SubmitBody)) },
        "inquire" => new(HttpMethod.Post, "fhir/Claim/$inquire") { Content = Fhir.Json(InquireBody) },
        "subscription" => new(HttpMethod.Post, "fhir/Subscription") { Content = Fhir.Json(new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested,
            Reason = "test",
            Criteria = "Claim",
            Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = "https://ehr.example/hook" },
        }) },
        "audit" => new(HttpMethod.Get, "fhir/AuditEvent?outcome=4"),
        _ => throw new ArgumentException(group),
    };

    /// <summary>A scope that the group's request does not get from <c>system/Patient.r</c>-style scopes of another type.</summary>
    private static string UnrelatedScope(string group) => group == "read" || group == "create" ? "system/Claim.cruds" : "system/Patient.cruds";

    public static IEnumerable<object[]> BadTokens() =>
        from g in new[] { "read", "search", "create", "history", "submit", "inquire", "subscription", "audit" }
        from t in new[] { "none", "malformed", "expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "bad-signature", "alg-none", "hmac-with-public-key", "unknown-key" }
        select new object[] { g, t };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task EveryEndpointGroup_RefusesABadToken_With401_WwwAuthenticate_AndAnOutcome_AndAuditsIt(string group, string kind)
    {
        var request = GroupRequest(group);
        var token = BadToken(kind);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        var correlation = Tag(request);

        var response = await server.Anonymous.SendAsync(request);

        var outcome = await response.AssertOutcome(401);
        Assert.Equal(OperationOutcome.IssueType.Login, outcome.Issue.Single().Code);
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Equal(token is not null, challenge.Parameter!.Contains("error=\"invalid_token\""));
        var audit = await AuditOf(correlation);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, audit.Outcome);
        Assert.Equal("unauthenticated", audit.Agent[0].Who.Identifier.Value);
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task EveryEndpointGroup_RefusesAValidTokenWithoutItsScope_With403(string group)
    {
        var request = GroupRequest(group);
        request.Headers.Authorization = Bearer(server.Token(scope: UnrelatedScope(group), roles: ["admin"]));
        var correlation = Tag(request);

        var response = await server.Anonymous.SendAsync(request);

        var outcome = await response.AssertOutcome(403);
        Assert.Equal(OperationOutcome.IssueType.Forbidden, outcome.Issue.Single().Code);
        Assert.Contains("scope", outcome.Issue.Single().Diagnostics);
        var audit = await AuditOf(correlation);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, audit.Outcome);
        Assert.Equal("test-admin", audit.Agent[0].Who.Identifier.Value);
    }

    [Theory]
    [InlineData("system/Claim.write system/Claim.read system/ClaimResponse.read")]
    [InlineData("system/Claim.cr system/ClaimResponse.r")]
    [InlineData("system/*.*")]
    [InlineData("system/*.cruds")]
    [InlineData("system/Claim.c?status=active system/Claim.r system/ClaimResponse.r")] // granular scopes grant their permission
    public async Task SubmitAndInquire_AcceptV1AndV2Scopes(string scope)
    {
        var (submit, inquire, providers) = ForNewMember();
        var token = server.Token(scope: scope, organization: providers);
        var submitted = await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$submit", token, Fhir.Json(submit)));
        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        var inquired = await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$inquire", token, Fhir.Json(inquire)));
        Assert.Equal(HttpStatusCode.OK, inquired.StatusCode);
        Assert.Single((await inquired.ReadAs<Parameters>()).Parameter);
    }

    [Theory]
    [InlineData("system/Claim.rs")] // read but not create
    [InlineData("system/Claim.sd")] // out of order: grants nothing
    [InlineData("patient/Claim.c")] // patient scope without a patient in context
    public async Task Submit_RefusesScopesThatDoNotGrantCreateOnClaim(string scope)
    {
        var (submit, _, providers) = ForNewMember();
        var response = await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$submit",
            server.Token(scope: scope, organization: providers), Fhir.Json(submit)));
        await response.AssertOutcome(403);
    }

    [Fact]
    public async Task AnOrganization_SubmitsOnlyAsItself_AndSeesOnlyItsOwnAuthorizations()
    {
        var (submit, inquire, providers) = ForNewMember();
        var own = server.Token(clientId: "clinic-a", organization: providers);
        var other = server.Token(clientId: "clinic-b", organization: ["http://hl7.org/fhir/sid/us-npi|9999999991"]);

        // Submitting as somebody else is refused; as itself it works.
        await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$submit", other, Fhir.Json(submit)))).AssertOutcome(403);
        var submitted = await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$submit", own, Fhir.Json(submit))))
            .AssertResponseBundle(submit);
        var claimResponseId = submitted.Entry[0].Resource.Id;
        var url = $"fhir/ClaimResponse/{claimResponseId}";

        // The owner reads, vreads, sees history and finds it by search; the other organization gets 404 and empty results.
        Assert.Equal(HttpStatusCode.OK, (await Get(url, own)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get(url + "/_history/1", own)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get(url + "/_history", own)).StatusCode);
        Assert.Contains(await Ids($"fhir/ClaimResponse?_id={claimResponseId}", own), id => id == claimResponseId);
        await (await Get(url, other)).AssertOutcome(404);
        await (await Get(url + "/_history/1", other)).AssertOutcome(404);
        await (await Get(url + "/_history", other)).AssertOutcome(404);
        Assert.Empty(await Ids($"fhir/ClaimResponse?_id={claimResponseId}", other));
        Assert.DoesNotContain(claimResponseId, await Ids("fhir/_history?_count=200", other));
        Assert.DoesNotContain(claimResponseId, await Ids("fhir/ClaimResponse/_history?_count=200", other));

        // $inquire: the other organization cannot ask as itself about this member, nor as the submitter.
        await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$inquire", other, Fhir.Json(inquire)))).AssertOutcome(403);
        var answer = await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$inquire", own, Fhir.Json(inquire)))).ReadAs<Parameters>();
        Assert.Single(answer.Parameter);

        // Payer roles see everything.
        Assert.Equal(HttpStatusCode.OK, (await Get(url, server.Token(clientId: "nurse", roles: ["reviewer"]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get(url, server.Token())).StatusCode);
    }

    [Fact]
    public async Task RestWrites_BelongToTheWritingOrganization_AndOthersCannotSeeChangeOrDeleteThem()
    {
        var a = server.Token(clientId: "clinic-a", organization: ["http://hl7.org/fhir/sid/us-npi|1111111112"]);
        var b = server.Token(clientId: "clinic-b", organization: ["http://hl7.org/fhir/sid/us-npi|2222222223"]);
        var patient = Fhir.Member("M-" + Fhir.NewId());
        var created = await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Patient", a, Fhir.Json(patient)))).ReadAs<Patient>();
        var url = $"fhir/Patient/{created.Id}";

        Assert.Equal(HttpStatusCode.OK, (await Get(url, a)).StatusCode);
        await (await Get(url, b)).AssertOutcome(404);

        // Clients cannot forge access labels: B's label in A's body is dropped.
        created.Meta.Security.Add(new Coding(Core.Security.AccessLabels.System, "organization:http://hl7.org/fhir/sid/us-npi|2222222223"));
        Assert.Equal(HttpStatusCode.OK, (await server.Anonymous.SendAsync(WithToken(HttpMethod.Put, url, a, Fhir.Json(created)))).StatusCode);
        await (await Get(url, b)).AssertOutcome(404);

        // B can neither replace nor delete it, and cannot tell whether it exists.
        await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Put, url, b, Fhir.Json(created)))).AssertOutcome(404);
        var unknownId = "unknown-" + Fhir.NewId()[..8];
        await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Put, $"fhir/Patient/{unknownId}", b, Fhir.Json(new Patient { Id = unknownId })))).AssertOutcome(404);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Anonymous.SendAsync(WithToken(HttpMethod.Delete, url, b))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get(url, a)).StatusCode);
    }

    [Fact]
    public async Task APatientContextToken_SeesOnlyThatPatientsRecords()
    {
        var (submit, _, _) = ForNewMember();
        var member = MemberOf(submit);
        var submitted = await (await server.Client.Submit("2.2.1", submit)).AssertResponseBundle(submit);
        var claimResponseId = submitted.Entry[0].Resource.Id;
        var patient = await (await server.Client.PostAsync("fhir/Patient", Fhir.Json(new Patient
        {
            Identifier = [new Identifier(member.System, member.Value)],
        }))).ReadAs<Patient>();
        var stranger = await (await server.Client.PostAsync("fhir/Patient", Fhir.Json(Fhir.Member("M-" + Fhir.NewId())))).ReadAs<Patient>();

        var mine = server.Token(clientId: "member-app", scope: "patient/*.rs", patient: patient.Id);
        var theirs = server.Token(clientId: "member-app", scope: "patient/*.rs", patient: stranger.Id);

        Assert.Equal(HttpStatusCode.OK, (await Get($"fhir/ClaimResponse/{claimResponseId}", mine)).StatusCode);
        Assert.Equal([claimResponseId], await Ids($"fhir/ClaimResponse?_id={claimResponseId}", mine));
        Assert.Equal(HttpStatusCode.OK, (await Get($"fhir/Patient/{patient.Id}", mine)).StatusCode);
        await (await Get($"fhir/ClaimResponse/{claimResponseId}", theirs)).AssertOutcome(404);
        await (await Get($"fhir/Patient/{patient.Id}", theirs)).AssertOutcome(404);
        Assert.Empty(await Ids($"fhir/ClaimResponse?_id={claimResponseId}", theirs));
        // A patient-context token cannot submit: submitting is for the requesting organization.
        await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Claim/$submit",
            server.Token(scope: "patient/*.cruds", patient: patient.Id), Fhir.Json(PasHttp.Fresh(submit))))).AssertOutcome(403);
    }

    [Fact]
    public async Task TheAuditTrail_IsForAdminsOnly_AppendOnly_AndSearchableByAgentEntityDateAndOutcome()
    {
        var clientId = "auditor-check-" + Fhir.NewId()[..8];
        var patient = await (await server.Anonymous.SendAsync(WithToken(HttpMethod.Post, "fhir/Patient", server.Token(clientId: clientId),
            Fhir.Json(Fhir.Member("M-" + Fhir.NewId()))))).ReadAs<Patient>();
        var read = new HttpRequestMessage(HttpMethod.Get, $"fhir/Patient/{patient.Id}") { Headers = { Authorization = Bearer(server.Token(clientId: clientId)) } };
        var correlation = Tag(read);
        await server.Anonymous.SendAsync(read);

        var audit = await AuditOf(correlation);
        Assert.Equal(AuditEvent.AuditEventAction.R, audit.Action);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, audit.Outcome);
        Assert.Equal("Read", audit.Subtype.Single().Code);
        Assert.Contains(audit.Entity, e => e.What?.Reference == $"Patient/{patient.Id}");
        Assert.NotNull(audit.Agent[0].Network?.Address);

        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        Assert.Equal(2, (await Search($"fhir/AuditEvent?agent={AuditSystem}|{clientId}&date=ge{today}&outcome=0", server.Token())).Count);
        Assert.Equal(2, (await Search($"fhir/AuditEvent?entity=Patient/{patient.Id}", server.Token())).Count);

        await (await Get("fhir/AuditEvent", server.Token(clientId: "nurse", roles: ["reviewer"]))).AssertOutcome(403);
        await (await server.Client.PostAsync("fhir/AuditEvent", Fhir.Json(audit))).AssertOutcome(405);
        await (await server.Client.PutAsync($"fhir/AuditEvent/{audit.Id}", Fhir.Json(audit))).AssertOutcome(405);
        await (await server.Client.DeleteAsync($"fhir/AuditEvent/{audit.Id}")).AssertOutcome(405);
        Assert.Equal(HttpStatusCode.OK, (await Get($"fhir/AuditEvent/{audit.Id}", server.Token())).StatusCode);
    }

    [Fact]
    public async Task TheAuditOfASubmission_IsWrittenOnce_AndNamesTheClaimResponseItAnswered_AsAReplaysDoes()
    {
        var (submit, _, _) = ForNewMember();
        var body = PasHttp.Fresh(submit);
        async Task<(string Correlation, Bundle Response)> Submit()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "fhir/Claim/$submit")
            {
                Headers = { Authorization = Bearer(server.Token()) },
                Content = Fhir.Json(body),
            };
            var correlation = Tag(request);
            return (correlation, await (await server.Anonymous.SendAsync(request)).ReadAs<Bundle>());
        }

        // The first is committed with the submission; the replay, which writes nothing else, gets the trail's own.
        var (first, response) = await Submit();
        var (replay, replayed) = await Submit();
        var claimResponse = $"ClaimResponse/{response.Entry[0].Resource.Id}";
        Assert.Equal(claimResponse, $"ClaimResponse/{replayed.Entry[0].Resource.Id}");
        foreach (var correlation in new[] { first, replay })
        {
            var audit = await AuditOf(correlation); // exactly one
            Assert.Equal(AuditEvent.AuditEventOutcome.N0, audit.Outcome);
            Assert.Equal(AuditEvent.AuditEventAction.C, audit.Action);
            Assert.Single(audit.Entity, e => e.What?.Reference == claimResponse);
        }
    }

    [Fact]
    public async Task TokensOfEveryConfiguredIssuer_AreAccepted_EachOnlyWithItsOwnKeys()
    {
        var idp = server.IdentityProvider;
        var fromDiscovery = TestTokens.Mint(server.Audience, issuer: idp.Issuer, key: idp.Key, algorithm: SecurityAlgorithms.RsaSha256, roles: ["admin"]);
        var fromFile = TestTokens.Mint(server.Audience, issuer: ServerHost.FileIssuer, algorithm: SecurityAlgorithms.RsaSha384, key: TestTokens.RsaKey, roles: ["admin"]);
        // The static issuer's key is valid, but not for the discovery issuer's tokens.
        var confused = TestTokens.Mint(server.Audience, issuer: idp.Issuer, roles: ["admin"]);

        Assert.Equal(HttpStatusCode.OK, (await Get("fhir/Patient?_count=1", fromDiscovery)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get("fhir/Patient?_count=1", fromFile)).StatusCode);
        await (await Get("fhir/Patient?_count=1", confused)).AssertOutcome(401);
    }

    [Fact]
    public async Task Responses_CarrySecurityHeaders_AndDiscoveryAllowsAnyOrigin()
    {
        var response = await server.Client.GetAsync("fhir/Patient?_count=1");
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.True(response.Headers.CacheControl!.NoStore);

        foreach (var path in new[] { "fhir/metadata", "fhir/.well-known/smart-configuration", ".well-known/smart-configuration" })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", "https://app.example");
            var discovery = await server.Anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, discovery.StatusCode);
            Assert.Equal("*", discovery.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
    }

    private const string AuditSystem = "urn:fhirpriorauth:client";

    private string BadToken(string kind)
    {
        var now = DateTime.UtcNow;
        switch (kind)
        {
            case "none":
                return null;
            case "malformed":
                return "not-a-jwt";
            case "expired":
                return TestTokens.Mint(server.Audience, expires: now.AddMinutes(-5), notBefore: now.AddMinutes(-10));
            case "not-yet-valid":
                return TestTokens.Mint(server.Audience, notBefore: now.AddMinutes(5), expires: now.AddMinutes(10));
            case "wrong-issuer":
                return TestTokens.Mint(server.Audience, issuer: "https://evil.example/");
            case "wrong-audience":
                return TestTokens.Mint("https://other-payer.example/fhir");
            case "bad-signature":
                var good = TestTokens.Mint(server.Audience);
                var parts = good.Split('.');
                var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("test-admin", "test-admjn");
                return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
            case "alg-none":
                var header = Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}");
                var body = Base64UrlEncoder.Encode($"{{\"iss\":\"{TestTokens.Issuer}\",\"aud\":\"{server.Audience}\",\"exp\":{new DateTimeOffset(now.AddMinutes(5)).ToUnixTimeSeconds()},\"scope\":\"system/*.cruds\",\"roles\":[\"admin\"]}}");
                return $"{header}.{body}.";
            case "hmac-with-public-key":
                // The classic key-confusion attack: HS256 keyed with the issuer's public key material.
                var publicBytes = Encoding.UTF8.GetBytes(TestTokens.Jwks);
                return TestTokens.Mint(server.Audience, key: new SymmetricSecurityKey(publicBytes) { KeyId = "test-es384" }, algorithm: SecurityAlgorithms.HmacSha256);
            case "unknown-key":
                return TestTokens.Mint(server.Audience, key: new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "test-es384" });
            default:
                throw new ArgumentException(kind);
        }
    }

    private (string Submit, string Inquire, string[] Providers) ForNewMember()
    {
        var member = "M-" + Guid.NewGuid().ToString("N")[..10];
        var submit = PasHttp.WithMember(PasHttp.Fresh(SubmitBody), member);
        var request = PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(submit)), PasOperation.Submit);
        return (submit, PasHttp.WithMember(InquireBody, member), request.Providers.Select(p => p.ToString()).ToArray());
    }

    private static IdentifierKey MemberOf(string submit) =>
        PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(submit)), PasOperation.Submit).Members[0];

    private static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    private static HttpRequestMessage WithToken(HttpMethod method, string url, string token, HttpContent content = null) =>
        new(method, url) { Content = content, Headers = { Authorization = Bearer(token) } };

    private Task<HttpResponseMessage> Get(string url, string token) => server.Anonymous.SendAsync(WithToken(HttpMethod.Get, url, token));

    private async Task<List<Resource>> Search(string url, string token)
    {
        var response = await Get(url, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadAs<Bundle>()).Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource).ToList();
    }

    private async Task<List<string>> Ids(string url, string token) => (await Search(url, token)).Select(r => r.Id).ToList();

    private static string Tag(HttpRequestMessage request)
    {
        var correlation = Guid.NewGuid().ToString("N");
        request.Headers.Add("X-Correlation-Id", correlation);
        return correlation;
    }

    /// <summary>The AuditEvent of a request; it is written as the response completes, so it may lag a moment.</summary>
    private async Task<AuditEvent> AuditOf(string correlation)
    {
        for (int attempt = 0; ; attempt++)
        {
            var found = await Search($"fhir/AuditEvent?entity-identifier=urn:fhirpriorauth:correlation-id|{correlation}", server.Token());
            if (found.Count > 0 || attempt == 50)
            {
                return (AuditEvent)Assert.Single(found);
            }
            await Task.Delay(100);
        }
    }
}
