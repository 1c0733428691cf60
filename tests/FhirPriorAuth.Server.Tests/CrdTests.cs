// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>CRD as a CDS Hooks service: discovery, every Inferno CRD hook request, the Coverage Information it returns, and bad calls.</summary>
[Collection(ServerCollection.Name)]
public sealed class CrdTests(ServerHost server)
{
    private static string Inferno(string file) => File.ReadAllText(Path.Combine(RepoPaths.Conformance, "inferno-crd", file));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Discovery_ListsAServicePerHook_WithPrefetchAndConfigurationOptions_ForAnyOrigin()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "cds-services");
        request.Headers.Add("Origin", "https://ehr-app.example.org");
        var response = await server.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var services = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["services"]!.AsArray();
        Assert.Equal(["appointment-book", "encounter-discharge", "encounter-start", "order-dispatch", "order-select", "order-sign"],
            services.Select(s => s!["hook"]!.GetValue<string>()).Order());
        Assert.All(services, s =>
        {
            Assert.False(string.IsNullOrEmpty(s!["id"]!.GetValue<string>()));
            Assert.False(string.IsNullOrEmpty(s["description"]!.GetValue<string>()));
            Assert.Equal("Patient/{{context.patientId}}", s["prefetch"]!["patient"]!.GetValue<string>());
            Assert.StartsWith("Coverage?patient={{context.patientId}}", s["prefetch"]!["coverage"]!.GetValue<string>());
            Assert.Contains(s["extension"]![CrdUrls.ConfigurationOptions]!.AsArray(), o => o!["code"]!.GetValue<string>() == "coverage");
        });
    }

    public static TheoryData<string> InfernoRequests => new()
    {
        "order_sign_hook_request.json", "order_select_hook_request.json", "order_dispatch_hook_request.json",
        "appointment_book_hook_request.json", "encounter_start_hook_request.json", "encounter_discharge_hook_request.json",
    };

    [Theory]
    [MemberData(nameof(InfernoRequests))]
    public async Task EveryInfernoHookRequest_Gets200WithCards_AndWellFormedActions(string file)
    {
        var body = JsonNode.Parse(Inferno(file))!;
        var hook = body["hook"]!.GetValue<string>();
        var response = await server.Cds.PostAsync($"cds-services/crd-{hook}", Json(body.ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var answer = JsonNode.Parse(text)!;
        var cards = answer["cards"]!.AsArray();
        Assert.NotEmpty(cards);
        Assert.All(cards, AssertCard);
        // Inferno's fixtures point at an EHR that cannot be reached: a card says what could not be checked.
        Assert.Contains(cards, c => c!["summary"]!.GetValue<string>().Contains("could not be fully checked"));
        if (CrdHooks.Primary.Contains(hook))
        {
            Assert.NotNull(answer["systemActions"]);
        }
        foreach (var action in answer["systemActions"]?.AsArray() ?? [])
        {
            Assert.Equal("update", action!["type"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(action["description"]!.GetValue<string>()));
            var (type, id) = (action["resource"]!["resourceType"]!.GetValue<string>(), action["resource"]!["id"]!.GetValue<string>());
            var original = body["context"]!.AsObject().Select(p => (p.Value as JsonObject)?["entry"]).OfType<JsonArray>().SelectMany(e => e)
                .Select(e => e!["resource"]).Single(r => r!["resourceType"]!.GetValue<string>() == type && r["id"]!.GetValue<string>() == id);
            AssertCoverageInformation(action["resource"]!, CrdHooks.Primary.Contains(hook), original);
        }
    }

    [Fact]
    public async Task OrderSign_WithPrefetch_AnswersFromThePolicy_ForEachCoverage_AndKeepsTheOrderIntact()
    {
        var body = OrderSign(ServiceRequest("72148", "MRI lumbar spine", "M54.5"), ("cov-1", "plan-a"), ("cov-2", "plan-b"));
        var answer = await Call("order-sign", body);

        var action = answer["systemActions"]!.AsArray().Single()!;
        var order = (ServiceRequest)AssertCoverageInformation(action["resource"]!, primary: true);
        var information = order.Extension.Where(e => e.Url == CrdUrls.CoverageInformation).ToList();
        Assert.Equal(["Coverage/cov-1", "Coverage/cov-2"], information.Select(i => ((ResourceReference)i.GetExtension("coverage").Value).Reference));
        Assert.All(information, i =>
        {
            Assert.Equal("conditional", ((Code)i.GetExtension("covered").Value).Value);
            Assert.Equal("auth-needed", ((Code)i.GetExtension("pa-needed").Value).Value);
            Assert.Equal("clinical", ((Code)i.GetExtension("doc-needed").Value).Value);
            Assert.Equal("withpa", ((Code)i.GetExtension("doc-purpose").Value).Value);
        });
        Assert.NotEqual(((FhirString)information[0].GetExtension("coverage-assertion-id").Value).Value, ((FhirString)information[1].GetExtension("coverage-assertion-id").Value).Value);
        // The EHR's own data is echoed whole.
        Assert.Equal("Dr. Careful", order.Requester.Display);
        var cards = answer["cards"]!.AsArray();
        Assert.Contains(cards, c => c!["summary"]!.GetValue<string>().Contains("documentation needed") && c["detail"]!.GetValue<string>().Contains("11506-3"));
        Assert.Contains(cards, c => c!["links"]?[0]?["url"]?.GetValue<string>() == "https://payer.example.org/policies/demo-medical-policy");
        Assert.DoesNotContain(cards, c => c!["summary"]!.GetValue<string>().Contains("could not be fully checked"));
    }

    [Fact]
    public async Task AnOrderTheRuleOffersACoveredAlternativeFor_GetsASuggestionToChangeIt()
    {
        var answer = await Call("order-sign", OrderSign(ServiceRequest("72148", "MRI lumbar spine", "G89.4"), ("cov-1", "plan-a")));
        var card = answer["cards"]!.AsArray().Single(c => c!["suggestions"] is not null)!;
        Assert.Equal("at-most-one", card["selectionBehavior"]!.GetValue<string>());
        Assert.Equal("therapy-alternatives-opt", card["source"]!["topic"]!["code"]!.GetValue<string>());
        var suggestion = card["suggestions"]![0]!;
        Assert.True(Guid.TryParse(suggestion["uuid"]!.GetValue<string>(), out _));
        var action = suggestion["actions"]!.AsArray().Single()!;
        Assert.Equal("update", action["type"]!.GetValue<string>());
        var proposed = (ServiceRequest)FhirJson.Parse(Encoding.UTF8.GetBytes(action["resource"]!.ToJsonString()));
        Assert.Equal(("sr-72148", "72100"), (proposed.Id, proposed.Code.Coding.Single().Code));
        // An approved order gets no alternative.
        var approved = await Call("order-sign", OrderSign(ServiceRequest("72100", "X-ray lumbar spine", "G89.4"), ("cov-1", "plan-a")));
        Assert.DoesNotContain(approved["cards"]!.AsArray(), c => c!["suggestions"] is not null);
    }

    [Theory]
    [InlineData("{ not json", 400)]
    [InlineData("""{"hook":"order-select","hookInstance":"x","context":{}}""", 422)]
    [InlineData("""{"hook":"order-sign","context":{"userId":"Practitioner/1","patientId":"1","draftOrders":{"resourceType":"Bundle","type":"collection"}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"1"}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":7,"draftOrders":{"resourceType":"Bundle","type":"collection"}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"1","selections":"ServiceRequest/1","draftOrders":{"resourceType":"Bundle","type":"collection"}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"1","draftOrders":{"entry":[]}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"1","draftOrders":{"resourceType":"Bundle","type":"collection","entry":{"a":1}}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","fhirAuthorization":{"access_token":"t","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"crd"},"context":{"userId":"Practitioner/1","patientId":"1","draftOrders":{"resourceType":"Bundle","type":"collection"}}}""", 422)]
    [InlineData("""{"hook":"order-sign","hookInstance":"x","context":{"userId":"Practitioner/1","patientId":"1","draftOrders":{"resourceType":"Bundle","type":"collection"}}}""", 412)]
    public async Task ABadCall_GetsItsStatus_WithAnOutcome(string body, int status)
    {
        var response = await server.Cds.PostAsync("cds-services/crd-order-sign", Json(body));
        await response.AssertOutcome(status);
    }

    [Fact]
    public async Task EveryInfernoRequest_SentToAServiceOfAnotherHook_Is422_NeverA500()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Conformance, "inferno-crd"), "*_hook_request.json");
        Assert.Contains(files, f => f.EndsWith("fancy_structure_hook_request.json", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var hook = JsonNode.Parse(File.ReadAllText(file))!["hook"]!.GetValue<string>();
            foreach (var service in CrdHooks.Services.Where(s => s.Hook != hook))
            {
                await (await server.Cds.PostAsync($"cds-services/{service.Id}", Json(File.ReadAllText(file)))).AssertOutcome(422);
            }
        }
    }

    [Fact]
    public async Task AnUnknownService_Is404()
    {
        await (await server.Cds.PostAsync("cds-services/no-such-service", Json("{}"))).AssertOutcome(404);
    }

    [Fact]
    public async Task Feedback_IsStoredForAudit_AndBadFeedbackIs422()
    {
        var card = Guid.NewGuid().ToString();
        var ok = await server.Cds.PostAsync("cds-services/crd-order-sign/feedback",
            Json($$"""{"feedback":[{"card":"{{card}}","outcome":"overridden","overrideReason":{"userComment":"patient declined"},"outcomeTimestamp":"2026-11-27T10:00:00Z"}]}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var audits = await server.SearchStoredAsync("AuditEvent", "subtype=cds-feedback&_count=100");
        Assert.Contains(audits.Cast<AuditEvent>(), a => a.OutcomeDesc.Contains(card) && ((FhirString)a.Entity[0].Detail[0].Value).Value.Contains("patient declined"));
        await (await server.Cds.PostAsync("cds-services/crd-order-sign/feedback", Json("""{"feedback":[{"outcome":"maybe"}]}"""))).AssertOutcome(422);
        await (await server.Cds.PostAsync("cds-services/crd-order-sign/feedback", Json("""{"feedback":[{"card":1,"outcome":2}]}"""))).AssertOutcome(422);
        await (await server.Cds.PostAsync("cds-services/crd-order-sign/feedback", Json("""[1]"""))).AssertOutcome(422);
    }

    private const string Cpt = "http://www.ama-assn.org/go/cpt";
    private const string Hcpcs = "https://bluebutton.cms.gov/resources/codesystem/hcpcs";
    private const string ServiceType = "https://codesystem.x12.org/005010/1365";

    /// <summary>Every row of the demo policy: what CRD says at order time, and what $submit of the same order then decides.</summary>
    public static TheoryData<string, string, string, int, string, string, string> DemoPolicyRows => new()
    {
        { Cpt, "99213", "G89.4", 1, "covered", "no-auth", "A1" },
        { ServiceType, "3", "G89.4", 1, "covered", "auth-needed", "A1" },
        { Cpt, "72148", "M54.5", 1, "conditional", "auth-needed", "A4" },
        { Cpt, "72148", "G89.4", 1, "not-covered", "no-auth", "A3" },
        { Cpt, "72100", "G89.4", 1, "covered", "no-auth", "A1" },
        { Cpt, "70551", "G43.909", 1, "conditional", "auth-needed", "A4" },
        { Cpt, "70551", "G89.4", 1, "not-covered", "no-auth", "A3" },
        { Cpt, "15780", "G89.4", 1, "not-covered", "no-auth", "A3" },
        { Hcpcs, "E0601", "G89.4", 1, "covered", "auth-needed", "A1" },
        { Hcpcs, "E0601", "G89.4", 2, "conditional", "auth-needed", "A6" },
        { Hcpcs, "G0154", "G89.4", 12, "conditional", "auth-needed", "A6" },
        { Cpt, "33510", "G89.4", 1, "conditional", "auth-needed", "A4" },
        { Hcpcs, "B4185", "G89.4", 1, "conditional", "auth-needed", "A4" },
        { Cpt, "27447", "G89.4", 1, "conditional", "auth-needed", "A4" },
    };

    [Theory]
    [MemberData(nameof(DemoPolicyRows))]
    public async Task WhatCrdAssertsAtOrderTime_IsWhatSubmitDecides_AndTheDecisionNamesTheAssertion(
        string system, string code, string icd10, int quantity, string covered, string paNeeded, string reviewAction)
    {
        // The order as the PAS example carries it, with this row's code, diagnosis and units, and no coverage information yet.
        // A member of its own: authorizations other tests made for the example member must not satisfy this order.
        var member = "M" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999);
        var bundle = JsonNode.Parse(PasHttp.WithMember(PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json")), member))!;
        JsonNode Entry(string type) => bundle["entry"]!.AsArray().Single(e => e!["resource"]!["resourceType"]!.GetValue<string>() == type)!;
        var order = Entry("ServiceRequest")["resource"]!.AsObject();
        order["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = system, ["code"] = code }) };
        order["reasonCode"] = new JsonArray(new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = PolicyIcd10, ["code"] = icd10 }) });
        order["authoredOn"] = "2026-11-27";
        order["requester"] = new JsonObject { ["reference"] = "PractitionerRole/ReferralPractitionerRoleExample" };
        order["quantityQuantity"] = new JsonObject { ["value"] = quantity };
        order["extension"]!.AsArray().RemoveAll(e => e!["url"]!.GetValue<string>() == CrdUrls.CoverageInformation);

        var crd = new JsonObject
        {
            ["hook"] = "order-sign",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject
            {
                ["userId"] = "Practitioner/ReferralPractitionerExample",
                ["patientId"] = "SubscriberExample",
                ["draftOrders"] = new JsonObject { ["resourceType"] = "Bundle", ["type"] = "collection", ["entry"] = new JsonArray(new JsonObject { ["resource"] = order.DeepClone() }) },
            },
            ["prefetch"] = new JsonObject { ["patient"] = Entry("Patient")["resource"]!.DeepClone(), ["coverage"] = Entry("Coverage")["resource"]!.DeepClone() },
        };
        var answer = await Call("order-sign", crd);
        var updated = answer["systemActions"]![0]!["resource"]!;
        var information = ((ServiceRequest)AssertCoverageInformation(updated, primary: true, order)).Extension.Single(e => e.Url == CrdUrls.CoverageInformation);
        Assert.Equal(covered, ((Code)information.GetExtension("covered").Value).Value);
        Assert.Equal(paNeeded, ((Code)information.GetExtension("pa-needed").Value).Value);
        var assertionId = ((FhirString)information.GetExtension("coverage-assertion-id").Value).Value;

        // The EHR keeps the updated order and sends it with the prior-authorization request for it.
        Entry("ServiceRequest")["resource"] = updated.DeepClone();
        var claim = Entry("Claim")["resource"]!.AsObject();
        var item = claim["item"]![0]!.AsObject();
        claim["item"] = new JsonArray(item.DeepClone());
        claim["item"]![0]!["productOrService"] = order["code"]!.DeepClone();
        claim["item"]![0]!["quantity"] = new JsonObject { ["value"] = quantity };
        claim["diagnosis"]![0]!["diagnosisCodeableConcept"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = PolicyIcd10, ["code"] = icd10 }) };
        claim["diagnosis"] = new JsonArray(claim["diagnosis"]![0]!.DeepClone());
        var json = bundle.ToJsonString();
        var response = await (await server.Client.Submit("2.2.1", json)).AssertResponseBundle(json);
        Assert.Equal([reviewAction], response.ReviewActions());

        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        var record = JsonNode.Parse(await server.Client.GetStringAsync($"fhir/$decision-record?authorization={number}"))!;
        Assert.Equal(assertionId, record["items"]![0]!["coverageAssertionId"]!.GetValue<string>());

        // Ordered again, an approved service is satisfied by the authorization just made.
        crd["hookInstance"] = Guid.NewGuid().ToString();
        var again = ((ServiceRequest)AssertCoverageInformation((await Call("order-sign", crd))["systemActions"]![0]!["resource"]!, primary: true, order))
            .Extension.Single(e => e.Url == CrdUrls.CoverageInformation);
        var satisfied = reviewAction is "A1" or "A6" && paNeeded == "auth-needed";
        Assert.Equal(satisfied ? "satisfied" : paNeeded, ((Code)again.GetExtension("pa-needed").Value).Value);
        Assert.Equal(satisfied ? number : null, (again.GetExtension("satisfied-pa-id")?.Value as FhirString)?.Value);
    }

    private async Task<JsonNode> Call(string hook, JsonNode body)
    {
        var response = await server.Cds.PostAsync($"cds-services/crd-{hook}", Json(body.ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    internal static ServiceRequest ServiceRequest(string cpt, string display, string? icd10 = null, int? quantity = null)
    {
        var order = new ServiceRequest
        {
            Id = "sr-" + cpt,
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Order,
            Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", cpt, display),
            Subject = new ResourceReference("Patient/pat-1"),
            Requester = new ResourceReference { Display = "Dr. Careful" },
            AuthoredOn = "2026-11-27",
        };
        if (icd10 is not null) order.ReasonCode.Add(new CodeableConcept(PolicyIcd10, icd10));
        if (quantity is not null) order.Quantity = new Quantity { Value = quantity };
        return order;
    }

    private const string PolicyIcd10 = "http://hl7.org/fhir/sid/icd-10-cm";

    /// <summary>An order-sign call for one order, with the patient and the given coverages prefetched.</summary>
    internal static JsonObject OrderSign(Resource order, params (string Id, string Plan)[] coverages)
    {
        var draft = new Bundle { Type = Bundle.BundleType.Collection, Entry = [new Bundle.EntryComponent { Resource = order }] };
        var patient = new Patient { Id = "pat-1", BirthDate = "1970-01-01", Identifier = [new Identifier("http://davinci-pas.org/MIN", "M-1")] };
        var coverageBundle = new Bundle { Type = Bundle.BundleType.Searchset };
        foreach (var (id, plan) in coverages)
        {
            coverageBundle.Entry.Add(new Bundle.EntryComponent
            {
                Resource = new Coverage
                {
                    Id = id,
                    Status = FinancialResourceStatusCodes.Active,
                    Beneficiary = new ResourceReference("Patient/pat-1"),
                    Payor = [new ResourceReference { Display = "Payer" }],
                    SubscriberId = "M-1",
                    Class = [new Coverage.ClassComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), Value = plan }],
                },
            });
        }
        return new JsonObject
        {
            ["hook"] = "order-sign",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject
            {
                ["userId"] = "Practitioner/example",
                ["patientId"] = "pat-1",
                ["draftOrders"] = JsonNode.Parse(FhirJson.ToJson(draft)),
            },
            ["prefetch"] = new JsonObject
            {
                ["patient"] = JsonNode.Parse(FhirJson.ToJson(patient)),
                ["coverage"] = JsonNode.Parse(FhirJson.ToJson(coverageBundle)),
            },
        };
    }

    private static void AssertCard(JsonNode card)
    {
        Assert.True(card!["summary"]!.GetValue<string>().Length < 140);
        Assert.Contains(card["indicator"]!.GetValue<string>(), new[] { "info", "warning", "critical" });
        Assert.False(string.IsNullOrEmpty(card["source"]!["label"]!.GetValue<string>()));
        Assert.Equal(CrdUrls.TempCodes, card["source"]!["topic"]!["system"]!.GetValue<string>());
        Assert.True(Guid.TryParse(card["uuid"]!.GetValue<string>(), out _));
        Assert.All(card["links"]?.AsArray() ?? [], l => Assert.Equal("absolute", l!["type"]!.GetValue<string>()));
    }

    /// <summary>
    /// The resource carries coverage information and validates against its CRD 2.0.1 profile (Firely, CRD package). The
    /// order is the EHR's, echoed whole: errors it arrived with (Inferno's fixtures have some) are its own, so only errors
    /// the original (<paramref name="original"/>) does not have count.
    /// </summary>
    private DomainResource AssertCoverageInformation(JsonNode resourceJson, bool primary, JsonNode? original = null) =>
        AssertCoverageInformation(server, resourceJson, primary, original);

    internal static DomainResource AssertCoverageInformation(ServerHost server, JsonNode resourceJson, bool primary, JsonNode? original = null)
    {
        var resource = (DomainResource)FhirJson.ParseBestEffort(Encoding.UTF8.GetBytes(resourceJson.ToJsonString()));
        var information = resource.Extension.Where(e => e.Url == CrdUrls.CoverageInformation).ToList();
        Assert.NotEmpty(information);
        Assert.All(information, i =>
        {
            Assert.NotNull(i.GetExtension("coverage"));
            Assert.NotNull(i.GetExtension("covered"));
            Assert.NotNull(i.GetExtension("date"));
            Assert.False(string.IsNullOrEmpty(((FhirString)i.GetExtension("coverage-assertion-id").Value).Value));
            if (!primary) Assert.Null(i.GetExtension("doc-needed"));
        });
        var profile = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/" + (resource.TypeName switch
        {
            "Appointment" => "profile-appointment",
            var type => "profile-" + type.ToLowerInvariant(),
        });
        var validator = server.Services.GetRequiredService<FhirPriorAuth.Core.Validation.FirelyPasValidator>();
        static string Key(OperationOutcome.IssueComponent e) => $"{e.Diagnostics} @ {string.Join(",", e.Expression)}";
        var inherited = original is null ? [] : validator.ValidateAgainstCanonical(FhirJson.ParseBestEffort(Encoding.UTF8.GetBytes(original.ToJsonString())),
            PasVersion.V2_0_1, profile).Errors.Select(Key).ToHashSet();
        // CRD 2.0.1's extension definition omits Appointment as a context; Inferno suppresses that message (Firely words it its own way).
        var errors = validator.ValidateAgainstCanonical(resource, PasVersion.V2_0_1, profile).Errors
            .Where(e => !(resource is Appointment && e.Diagnostics?.Contains("outside of appropriate contexts") == true))
            .Where(e => !inherited.Contains(Key(e))).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(e => $"{e.Diagnostics} @ {string.Join(",", e.Expression)}")));
        return resource;
    }
}
