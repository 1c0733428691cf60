using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using static FhirPriorAuth.Server.Tests.Fhir;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>Every kind of bad input gets an OperationOutcome with a 4xx status; the server stays up.</summary>
[Collection(ServerCollection.Name)]
public class BadInputTests(ServerHost server)
{
    private HttpClient Http => server.Client;

    [Theory]
    [InlineData("{\"resourceType\":\"Patient\",")]
    [InlineData("not json at all")]
    [InlineData("{\"resourceType\":\"Patient\",\"birthDate\":\"yesterday\"}")]
    [InlineData("{\"resourceType\":\"Patient\",\"unknownElement\":true}")]
    [InlineData("{\"resourceType\":\"Claim\",\"status\":\"active\"}")]
    [InlineData("[]")]
    [InlineData("1")]
    [InlineData("{}")]
    [InlineData("")]
    public async Task GivenABodyThatIsNotAPatient_WhenPosted_Then400(string body) =>
        await (await Http.PostAsync("fhir/Patient", Json(body))).AssertOutcome(400);

    [Fact]
    public async Task GivenAnUnknownElement_WhenPosted_ThenTheOutcomePointsAtIt()
    {
        var outcome = await (await Http.PostAsync("fhir/Patient", Json("{\"resourceType\":\"Patient\",\"shoeSize\":1}"))).AssertOutcome(400);
        Assert.Contains("Patient.shoeSize", outcome.Issue.SelectMany(i => i.Expression));
    }

    [Fact]
    public async Task GivenAnIdMismatch_WhenPut_Then400()
    {
        var patient = Member(NewId());
        patient.Id = "one";
        await (await Http.PutAsync("fhir/Patient/two", Json(patient))).AssertOutcome(400);
        patient.Id = null;
        await (await Http.PutAsync("fhir/Patient/two", Json(patient))).AssertOutcome(400);
    }

    [Theory]
    [InlineData("fhir/Patient/bad$id")]
    [InlineData("fhir/Patient/" + "a123456789a123456789a123456789a123456789a123456789a123456789abcde")]
    public async Task GivenAnInvalidId_WhenRead_Then400(string url) => await (await Http.GetAsync(url)).AssertOutcome(400);

    [Theory]
    [InlineData("fhir/Foo/1")]
    [InlineData("fhir/Observation")]
    [InlineData("fhir/Patient/does-not-exist")]
    [InlineData("fhir/Patient/does-not-exist/_history/1")]
    [InlineData("fhir/Patient/does-not-exist/_history")]
    [InlineData("nothing/here")]
    public async Task GivenSomethingUnknown_WhenRead_Then404(string url) => await (await Http.GetAsync(url)).AssertOutcome(404);

    [Fact]
    public async Task GivenAMethodTheRouteDoesNotAllow_WhenSent_Then405()
    {
        await (await Http.DeleteAsync("fhir/Patient")).AssertOutcome(405);
        await (await Http.PutAsync("fhir/metadata", Json("{}"))).AssertOutcome(405);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/fhir+xml")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task GivenAMediaTypeOtherThanJson_WhenPosted_Then415(string mediaType) =>
        await (await Http.PostAsync("fhir/Patient", Json("{\"resourceType\":\"Patient\"}", mediaType))).AssertOutcome(415);

    [Fact]
    public async Task GivenXmlIsAskedFor_WhenRead_Then406()
    {
        await (await Http.GetAsync("fhir/metadata?_format=xml")).AssertOutcome(406);
        var request = Request(HttpMethod.Get, "fhir/metadata");
        request.Headers.Accept.Add(Accept("application/fhir+xml"));
        await (await Http.SendAsync(request)).AssertOutcome(406);
    }

    [Theory]
    [InlineData("fhir/Patient?birthdate=notadate")]
    [InlineData("fhir/Patient?_count=many")]
    [InlineData("fhir/Patient?_sort=family")]
    [InlineData("fhir/Patient?name:missing=true")]
    [InlineData("fhir/Patient?ct=forged")]
    [InlineData("fhir/Patient/_history?_since=nope")]
    [InlineData("fhir/Patient?birthdate=ge%D9%A2%D9%A0%D9%A2%D9%A4")] // a year in Arabic-Indic digits
    [InlineData("fhir/Patient/_history?_since=%D9%A2%D9%A0%D9%A2%D9%A4")]
    public async Task GivenAMalformedSearch_WhenSent_Then400(string url) => await (await Http.GetAsync(url)).AssertOutcome(400);

    [Fact]
    public async Task GivenStrictHandling_WhenAnUnknownParameterIsUsed_Then400()
    {
        var request = Request(HttpMethod.Get, "fhir/Patient?shoe-size=9", null, ("Prefer", "handling=strict"));
        await (await Http.SendAsync(request)).AssertOutcome(400);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("fhir/Patient?shoe-size=9")).StatusCode);
    }

    [Fact]
    public async Task GivenAMalformedIfMatch_WhenPut_Then400()
    {
        var patient = Member(NewId());
        patient.Id = NewId();
        await (await Http.SendAsync(Request(HttpMethod.Put, $"fhir/Patient/{patient.Id}", Json(patient), ("If-Match", "banana")))).AssertOutcome(400);
    }

    [Fact]
    public async Task GivenABatchBundle_WhenPostedToTheBase_Then400()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Batch };
        await (await Http.PostAsync("fhir", Json(bundle))).AssertOutcome(400);
    }

    [Fact]
    public async Task GivenA50MegabyteBody_WhenPosted_Then413AndTheServerStaysUp()
    {
        var huge = "{\"resourceType\":\"Patient\",\"text\":{\"div\":\"" + new string('x', 50 * 1024 * 1024) + "\"}}";
        // With Expect: 100-continue, as large uploads should be sent, the 413 arrives before the body is transmitted.
        var request = Request(HttpMethod.Post, "fhir/Patient", Json(huge));
        request.Headers.ExpectContinue = true;
        await (await Http.SendAsync(request)).AssertOutcome(413);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("health/live")).StatusCode);
    }

    [Fact]
    public async Task GivenABundleWith100000Entries_WhenPosted_ThenA4xxAndTheServerStaysUp()
    {
        var entries = string.Join(",", Enumerable.Repeat("{\"resource\":{\"resourceType\":\"Basic\",\"code\":{\"text\":\"x\"}}}", 100_000));
        var json = $"{{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{entries}]}}";
        foreach (var url in new[] { "fhir/Claim", "fhir" })
        {
            var response = await Http.PostAsync(url, Json(json));
            Assert.InRange((int)response.StatusCode, 400, 499);
            await response.AssertOutcome((int)response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("health/live")).StatusCode);
    }

    [Fact]
    public async Task GivenJsonNestedBeyondTheParserDepth_WhenPosted_Then400()
    {
        var deep = new StringBuilder("{\"resourceType\":\"Patient\",\"extension\":[");
        deep.Insert(deep.Length, string.Concat(Enumerable.Repeat("{\"url\":\"x\",\"extension\":[", 5000)));
        deep.Append(string.Concat(Enumerable.Repeat("]}", 5000))).Append("]}");
        await (await Http.PostAsync("fhir/Patient", Json(deep.ToString()))).AssertOutcome(400);
    }

    [Fact]
    public async Task GivenAnUnexpectedFailure_WhenItHappens_Then500WithACorrelationIdAndNoInternals()
    {
        var response = await Http.GetAsync("test/fail");
        var outcome = await response.AssertOutcome(500);
        var correlationId = response.Headers.GetValues("X-Correlation-Id").Single();
        Assert.Contains(correlationId, outcome.Issue[0].Diagnostics);
        Assert.DoesNotContain("secret internal detail", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GivenADatabaseThatStaysBusy_WhenARequestNeedsIt_Then503WithRetryAfter()
    {
        var response = await Http.GetAsync("test/busy");
        var outcome = await response.AssertOutcome(503);
        Assert.Equal(OperationOutcome.IssueType.Transient, outcome.Issue[0].Code);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task GivenACorrelationId_WhenSent_ThenItIsEchoed()
    {
        var request = Request(HttpMethod.Get, "fhir/metadata", null, ("X-Correlation-Id", "ehr-req-42"));
        var response = await Http.SendAsync(request);
        Assert.Equal("ehr-req-42", response.Headers.GetValues("X-Correlation-Id").Single());
        var unsafeId = await Http.SendAsync(Request(HttpMethod.Get, "fhir/metadata", null, ("X-Correlation-Id", "<script>")));
        Assert.NotEqual("<script>", unsafeId.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task GivenNoCorrelationId_WhenRequestsFollowEachOther_ThenTheirIdsAreInTheOrderTheyCame()
    {
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await Http.GetAsync("fhir/metadata")).Headers.GetValues("X-Correlation-Id").Single());
            await Task.Delay(2); // a later millisecond: ids of the same one are ordered only by chance
        }
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
    }
}
