// Firely annotates nearly every element as nullable; these tests read response shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class PasInquiryAndInputTests(ServerHost server)
{
    private readonly HttpClient _client = server.Client;

    /// <summary>A submit example and the matching inquiry example, both moved to a member id no other test uses.</summary>
    private static (string Submit, string Inquire) ForNewMember(string version)
    {
        var member = "M-" + Guid.NewGuid().ToString("N")[..10];
        return (PasHttp.WithMember(PasHttp.Fresh(PasHttp.Example(version, "must_support_pa_submit_request_payload-1.json")), member),
                PasHttp.WithMember(PasHttp.Example(version, "must_support_pa_inquire_request_payload-1.json"), member));
    }

    [Fact]
    public async Task Inquiry221_ReturnsParametersWithOneBundlePerAuthorization_ShowingCurrentResults()
    {
        var (submit, inquire) = ForNewMember("2.2.1");
        var submitted = await (await _client.Submit("2.2.1", submit)).AssertResponseBundle(submit);
        var response = await _client.Inquire("2.2.1", inquire);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var parameters = await response.ReadAs<Parameters>();
        var result = Assert.Single(parameters.Parameter);
        Assert.Equal("return", result.Name);
        var bundle = Assert.IsType<Bundle>(result.Resource);
        var claimResponse = Assert.IsType<ClaimResponse>(bundle.Entry[0].Resource);
        Assert.Equal(((ClaimResponse)submitted.Entry[0].Resource).PreAuthRef, claimResponse.PreAuthRef);
        Assert.Contains("profile-claiminquiryresponse", claimResponse.Meta.Profile.Single());
        PasHttp.AssertReferencesResolve(bundle);
        AssertValid(bundle, PasVersion.V2_2_1, "profile-pas-inquiry-response-bundle");
    }

    [Fact]
    public async Task Inquiry201_ReturnsOneBundle_AndNoMatchIsAnEmptyAnswer()
    {
        var (submit, inquire) = ForNewMember("2.0.1");
        await (await _client.Submit("2.0.1", submit)).AssertResponseBundle(submit);
        var bundle = await (await _client.Inquire("2.0.1", inquire)).ReadAs<Bundle>();
        Assert.Single(bundle.Entry, e => e.Resource is ClaimResponse);
        AssertValid(bundle, PasVersion.V2_0_1, "profile-pas-inquiry-response-bundle");

        var stranger = PasHttp.WithMember(PasHttp.Example("2.0.1", "must_support_pa_inquire_request_payload-1.json"), "NOBODY-" + Guid.NewGuid().ToString("N"));
        var empty = await _client.Inquire("2.0.1", stranger);
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Empty((await empty.ReadAs<Bundle>()).Entry);
        var none = await _client.Inquire("2.2.1", PasHttp.WithMember(PasHttp.Example("2.2.1", "must_support_pa_inquire_request_payload-1.json"), "NOBODY-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        Assert.Empty((await none.ReadAs<Parameters>()).Parameter);
    }

    [Fact]
    public async Task InquiryFromAnotherProvider_DoesNotSeeTheAuthorization()
    {
        var (submit, inquire) = ForNewMember("2.2.1");
        await (await _client.Submit("2.2.1", submit)).AssertResponseBundle(submit);
        var node = JsonNode.Parse(inquire)!;
        foreach (var entry in node["entry"]!.AsArray().Where(e => e!["resource"]!["resourceType"]!.GetValue<string>() is "Organization" or "Practitioner" or "PractitionerRole"))
        {
            foreach (var identifier in entry!["resource"]!["identifier"]?.AsArray() ?? [])
            {
                // Valid NPIs (check digit) that belong to nobody in the other tests.
                identifier!["value"] = identifier["system"]?.GetValue<string>() == "http://hl7.org/fhir/sid/us-npi" ? "5550001114" : "OTHER-1";
            }
        }
        node["entry"]![0]!["resource"]!.AsObject().Remove("extension");
        Assert.Empty((await (await _client.Inquire("2.2.1", node.ToJsonString())).ReadAs<Parameters>()).Parameter);
    }

    [Fact]
    public async Task BrokenInfernoInquiry221_IsRefusedWithProfileErrors()
    {
        // pas-notes §2.7: this preset is not conformant (and Inferno does not post it).
        var outcome = await (await _client.Inquire("2.2.1", PasHttp.Inferno("2.2.1", "pended_pa_inquire_request_payload-1.json"))).AssertOutcome(400);
        Assert.All(outcome.Issue, i => Assert.Equal(OperationOutcome.IssueSeverity.Error, i.Severity));
        Assert.Contains(outcome.Issue, i => i.Expression.Any(e => e.StartsWith("Bundle.entry[0].resource", StringComparison.Ordinal)));
    }

    public static TheoryData<string, string, string> BrokenRequests() => new()
    {
        { "identifier", """n.AsObject().Remove("identifier")""", "Bundle.identifier" },
        { "type", """n["type"] = "batch" """, "Bundle.type" },
        { "first entry", """(swap first two entries)""", "Bundle.entry[0].resource" },
        { "use", """claim["use"] = "claim" """, "Bundle.entry[0].resource.use" },
        { "unresolved", """claim["patient"]!["reference"] = "Patient/missing" """, "Bundle.entry[0].resource.patient" },
        { "duplicate fullUrl", """entries[2]!["fullUrl"] = entries[1]!["fullUrl"]!.GetValue<string>()""", "Bundle.entry[2].fullUrl" },
        { "supportingInfo sequence", """(duplicate supportingInfo sequence)""", "supportingInfo" },
        { "modifier", """(unknown modifierExtension on item)""", "Bundle.entry[0].resource.item[0].modifierExtension[0]" },
        { "profile", """claim.AsObject().Remove("insurer")""", "Bundle.entry[0].resource" },
    };

    [Theory]
    [MemberData(nameof(BrokenRequests))]
    public async Task BrokenRequest_Is400WithAnExpressionAtTheProblem(string rule, string _, string expression)
    {
        var n = JsonNode.Parse(PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json")))!;
        var entries = n["entry"]!.AsArray();
        var claim = entries[0]!["resource"]!;
        switch (rule)
        {
            case "identifier": n.AsObject().Remove("identifier"); break;
            case "type": n["type"] = "batch"; break;
            case "first entry":
                var first = entries[0]!.DeepClone();
                entries[0] = entries[1]!.DeepClone();
                entries[1] = first;
                break;
            case "use": claim["use"] = "claim"; break;
            case "unresolved": claim["patient"]!["reference"] = "Patient/missing"; break;
            case "duplicate fullUrl": entries[2]!["fullUrl"] = entries[1]!["fullUrl"]!.GetValue<string>(); break;
            case "supportingInfo sequence":
                var infos = claim["supportingInfo"]!.AsArray();
                infos.Add(infos[0]!.DeepClone());
                break;
            case "modifier":
                claim["item"]![0]!["modifierExtension"] = new JsonArray(new JsonObject { ["url"] = "http://example.org/dangerous", ["valueBoolean"] = true });
                break;
            case "profile": claim.AsObject().Remove("insurer"); break;
        }
        var outcome = await (await _client.Submit("2.2.1", n.ToJsonString())).AssertOutcome(400);
        Assert.Contains(outcome.Issue, i => i.Expression.Any(e => e.Contains(expression, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task UnknownElements_AreIgnored_AndParametersWrappingIsAccepted()
    {
        var n = JsonNode.Parse(PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json")))!;
        n["entry"]![0]!["resource"]!["someFutureElement"] = "ignored";
        var withUnknown = await _client.Submit("2.2.1", n.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, withUnknown.StatusCode);
        Assert.DoesNotContain("someFutureElement", await withUnknown.Content.ReadAsStringAsync());

        var wrapped = new JsonObject
        {
            ["resourceType"] = "Parameters",
            ["parameter"] = new JsonArray(new JsonObject { ["name"] = "resource", ["resource"] = JsonNode.Parse(PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json"))) }),
        };
        var response = await _client.Submit("2.2.1", wrapped.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.IsType<ClaimResponse>((await response.ReadAs<Bundle>()).Entry[0].Resource);
    }

    [Fact]
    public async Task XmlAndNonBundles_AreRefused()
    {
        var xml = await _client.PostAsync("fhir/Claim/$submit", Fhir.Json("<Bundle xmlns=\"http://hl7.org/fhir\"/>", "application/fhir+xml"));
        await xml.AssertOutcome(415);
        await (await _client.Submit("2.2.1", """{"resourceType":"Patient"}""")).AssertOutcome(400);
        await (await _client.Submit("2.2.1", "{ not json")).AssertOutcome(400);
    }

    [Theory]
    [InlineData("2.2.1", "approval_pa_submit_request_payload.json")]
    [InlineData("2.2.1", "denial_pa_submit_request_payload.json")]
    [InlineData("2.2.1", "pended_pa_submit_request_payload.json")]
    [InlineData("2.2.1", "must_support_pa_submit_request_payload-1.json")]
    [InlineData("2.2.1", "must_support_pa_submit_request_payload-2.json")]
    [InlineData("2.0.1", "approval_pa_submit_request_payload.json")]
    [InlineData("2.0.1", "pended_pa_submit_request_payload.json")]
    [InlineData("2.0.1", "must_support_pa_submit_request_payload-1.json")]
    [InlineData("2.0.1", "must_support_pa_submit_request_payload-2.json")]
    public async Task Responses_ValidateAgainstThePasResponseProfile(string version, string file)
    {
        var json = PasHttp.Fresh(PasHttp.Example(version, file));
        var bundle = await (await _client.Submit(version, json)).AssertResponseBundle(json);
        AssertValid(bundle, version == "2.0.1" ? PasVersion.V2_0_1 : PasVersion.V2_2_1, "profile-pas-response-bundle");
    }

    private void AssertValid(Resource resource, PasVersion version, string profile) => server.AssertValid(resource, version, profile);

    [Theory]
    [InlineData("fhir", "2.2.1")]
    [InlineData("pas/2.2.1/fhir", "2.2.1")]
    [InlineData("pas/2.0.1/fhir", "2.0.1")]
    public async Task EachBase_HasItsOwnCapabilityStatement(string path, string version)
    {
        var statement = await (await _client.GetAsync(path + "/metadata")).ReadAs<CapabilityStatement>();
        Assert.Contains(version, statement.Title);
        Assert.EndsWith("|" + version, statement.Instantiates.Single());
        var claim = statement.Rest[0].Resource.Single(r => r.Type == "Claim");
        Assert.Equal(["inquire", "submit"], claim.Operation.Select(o => o.Name).Order());
        Assert.All(claim.Operation, o => Assert.StartsWith("http://hl7.org/fhir/us/davinci-pas/OperationDefinition/", o.Definition));
    }
}
