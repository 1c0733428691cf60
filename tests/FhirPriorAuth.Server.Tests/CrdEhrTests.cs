// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// Hook calls without prefetch: the service reads the calling EHR's FHIR API with the token it was given (a batch, or
/// one GET at a time), and answers in its budget, with a card, when the EHR is slow or failing.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CrdEhrTests(ServerHost server) : IAsyncLifetime
{
    private const string Token = "ehr-issued-token";
    private WebApplication _ehr = null!;
    private string _ehrBase = "";
    private readonly ConcurrentQueue<string> _requests = new();
    private volatile bool _refuseBatch;
    private volatile bool _failing;
    private TimeSpan _delay;

    private static readonly Resource[] Records =
    [
        new Patient { Id = "pat-9", Identifier = [new Identifier("http://davinci-pas.org/MIN", "M-9")], BirthDate = "1960-05-05" },
        new Coverage
        {
            Id = "cov-9", Status = FinancialResourceStatusCodes.Active, Beneficiary = new ResourceReference("Patient/pat-9"), SubscriberId = "M-9",
            Payor = [new ResourceReference { Display = "Payer" }],
            Class = [new Coverage.ClassComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), Value = "plan-a" }],
        },
        CrdTests.ServiceRequest("15780", "Dermabrasion") is var order ? Identified(order, "sr-dispatch") : null!,
        // What Inferno's order-dispatch fixture names: its patient and its order.
        new Patient { Id = "example", Identifier = [new Identifier("http://davinci-pas.org/MIN", "M-10")] },
        CrdTests.ServiceRequest("E0601", "CPAP device") is var cpap ? Identified(cpap, "example") : null!,
    ];

    private static ServiceRequest Identified(ServiceRequest order, string id)
    {
        order.Id = id;
        order.Subject = new ResourceReference("Patient/pat-9");
        return order;
    }

    public async Task InitializeAsync()
    {
        _ehr = Loopback.Create();
        _ehr.Use(async (http, next) =>
        {
            _requests.Enqueue($"{http.Request.Method} {http.Request.Path}{http.Request.QueryString}");
            if (_delay > TimeSpan.Zero) await Task.Delay(_delay, http.RequestAborted);
            if (_failing) { http.Response.StatusCode = 503; return; }
            if (http.Request.Headers.Authorization.ToString() != $"Bearer {Token}") { http.Response.StatusCode = 401; return; }
            await next(http);
        });
        _ehr.MapPost("/fhir", async (HttpContext http) =>
        {
            if (_refuseBatch) return Results.BadRequest();
            var batch = (Bundle)FhirJson.Parse(Encoding.UTF8.GetBytes(await new StreamReader(http.Request.Body).ReadToEndAsync()));
            var answer = new Bundle { Type = Bundle.BundleType.BatchResponse };
            foreach (var entry in batch.Entry)
            {
                var found = Find(entry.Request.Url);
                answer.Entry.Add(new Bundle.EntryComponent { Resource = found, Response = new Bundle.ResponseComponent { Status = found is null ? "404" : "200" } });
            }
            return Results.Text(FhirJson.ToJson(answer), "application/fhir+json");
        });
        _ehr.MapGet("/fhir/{**path}", (HttpContext http, string path) =>
            Find(path + http.Request.QueryString) is { } found ? Results.Text(FhirJson.ToJson(found), "application/fhir+json") : Results.NotFound());
        _ehrBase = await Loopback.StartAsync(_ehr) + "/fhir";
    }

    public async Task DisposeAsync() => await _ehr.DisposeAsync();

    private static Resource Find(string request)
    {
        if (request.StartsWith("Coverage?", StringComparison.Ordinal))
            return new Bundle { Type = Bundle.BundleType.Searchset, Entry = Records.OfType<Coverage>().Select(c => new Bundle.EntryComponent { Resource = c }).ToList() };
        return Records.FirstOrDefault(r => $"{r.TypeName}/{r.Id}" == request.TrimStart('/'));
    }

    private JsonObject Dispatch() => new()
    {
        ["hook"] = "order-dispatch",
        ["hookInstance"] = Guid.NewGuid().ToString(),
        ["fhirServer"] = _ehrBase,
        ["fhirAuthorization"] = new JsonObject { ["access_token"] = Token, ["token_type"] = "Bearer", ["expires_in"] = 30, ["scope"] = "system/*.read", ["subject"] = "crd" },
        ["context"] = new JsonObject { ["patientId"] = "pat-9", ["performer"] = "Practitioner/p", ["order"] = "ServiceRequest/sr-dispatch" },
    };

    private async Task<JsonNode> Call(JsonObject body)
    {
        var response = await server.Cds.PostAsync("cds-services/crd-order-dispatch", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithoutPrefetch_TheOrderPatientAndCoverageAreReadFromTheEhr_InABatchOrOneByOne(bool refuseBatch)
    {
        _refuseBatch = refuseBatch;
        var answer = await Call(Dispatch());

        var order = (ServiceRequest)FhirJson.Parse(Encoding.UTF8.GetBytes(answer["systemActions"]![0]!["resource"]!.ToJsonString()));
        var information = order.Extension.Single(e => e.Url == CrdUrls.CoverageInformation);
        Assert.Equal("Coverage/cov-9", ((ResourceReference)information.GetExtension("coverage").Value).Reference);
        Assert.Equal("not-covered", ((Code)information.GetExtension("covered").Value).Value);
        Assert.DoesNotContain(answer["cards"]!.AsArray(), c => c!["summary"]!.GetValue<string>().Contains("could not"));
        var seen = _requests.ToList();
        if (refuseBatch)
            Assert.Contains("GET /fhir/ServiceRequest/sr-dispatch", seen);
        else
            Assert.Equal(["POST /fhir"], seen);
    }

    [Fact]
    public async Task InfernosOrderDispatchRequest_ReadsItsOrderFromTheEhr_AndAnswersWithValidCoverageInformation()
    {
        var body = JsonNode.Parse(File.ReadAllText(Path.Combine(FhirPriorAuth.Tests.RepoPaths.Conformance, "inferno-crd", "order_dispatch_hook_request.json")))!.AsObject();
        body["fhirServer"] = _ehrBase;
        body["fhirAuthorization"]!["access_token"] = Token;
        var answer = await Call(body);
        var action = answer["systemActions"]!.AsArray().Single()!;
        var order = CrdTests.AssertCoverageInformation(server, action["resource"]!, primary: true);
        Assert.Equal("example", order.Id);
    }

    [Fact]
    public async Task ACrd22OrderDispatch_WithDispatchedOrders_IsAnsweredToo()
    {
        var body = Dispatch();
        var context = body["context"]!.AsObject();
        context.Remove("order");
        context["dispatchedOrders"] = new JsonArray("ServiceRequest/sr-dispatch");
        var answer = await Call(body);
        Assert.Equal("sr-dispatch", answer["systemActions"]![0]!["resource"]!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("slow")]
    [InlineData("failing")]
    public async Task ASlowOrFailingEhr_StillGetsAnAnswer_WithACardSayingWhatCouldNotBeChecked(string trouble)
    {
        if (trouble == "slow") _delay = TimeSpan.FromSeconds(30); else _failing = true;
        // order-sign carries its draft orders in the context: only the patient's data is missing.
        var body = CrdTests.OrderSign(CrdTests.ServiceRequest("99213", "Office visit"));
        body["prefetch"]!.AsObject().Remove("coverage");
        body["fhirServer"] = _ehrBase;
        body["fhirAuthorization"] = new JsonObject { ["access_token"] = Token, ["token_type"] = "Bearer", ["expires_in"] = 30, ["scope"] = "system/*.read", ["subject"] = "crd" };
        var response = await server.Cds.PostAsync("cds-services/crd-order-sign", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var problem = answer["cards"]!.AsArray().Single(c => c!["summary"]!.GetValue<string>().Contains("could not be fully checked"))!;
        Assert.Contains(trouble == "slow" ? "no answer within" : "503", problem["detail"]!.GetValue<string>());
        // Without the member's coverage nothing is definitely covered, even what needs no authorization.
        var information = ((ServiceRequest)FhirJson.Parse(Encoding.UTF8.GetBytes(answer["systemActions"]![0]!["resource"]!.ToJsonString())))
            .Extension.Single(e => e.Url == CrdUrls.CoverageInformation);
        Assert.Equal(("conditional", "no-auth"), (((Code)information.GetExtension("covered").Value).Value, ((Code)information.GetExtension("pa-needed").Value).Value));
    }
}
