using System.Net;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using static FhirPriorAuth.Server.Tests.Fhir;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

[Collection(ServerCollection.Name)]
public class RestInteractionTests(ServerHost server)
{
    private HttpClient Http => server.Client;

    private async Task<string> CreateId(Resource resource) => (await Create(resource)).Id!;

    private async Task<Resource> Create(Resource resource)
    {
        var response = await Http.PostAsync($"fhir/{resource.TypeName}", Json(resource));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return FhirJson.Parse(await response.Content.ReadAsByteArrayAsync());
    }

    private async Task<List<string>> SearchIds(string query)
    {
        var response = await Http.GetAsync($"fhir/{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await response.ReadAs<Bundle>();
        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        return bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource!.Id!).ToList();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GivenABody_WhenSentWithOrWithoutItsLength_ThenItIsReadWhole(bool announced)
    {
        var patient = Member(NewId());
        var bytes = System.Text.Encoding.UTF8.GetBytes(FhirJson.ToJson(patient));
        // A stream of unknown length goes out in chunks, without Content-Length.
        HttpContent content = announced ? new ByteArrayContent(bytes) : new StreamContent(new UnseekableStream(bytes));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/fhir+json");

        var response = await Http.PostAsync("fhir/Patient", content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(announced ? bytes.Length : null, content.Headers.ContentLength);
        Assert.True((await response.ReadAs<Patient>()).Identifier[0].Matches(patient.Identifier[0]));
    }

    [Fact]
    public async Task GivenABodyShorterThanItsContentLength_WhenRead_Then400()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.ContentType = "application/fhir+json";
        context.Request.ContentLength = 100;
        context.Request.Body = new MemoryStream("""{"resourceType":"Patient"}"""u8.ToArray());

        var e = await Assert.ThrowsAsync<FhirException>(() => FhirPriorAuth.Server.Fhir.FhirHttp.ReadJsonBodyAsync(context));
        Assert.Equal(400, e.Status);
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task GivenAPatient_WhenCreatedReadUpdatedAndDeleted_ThenEachStepBehavesAsFhirSays()
    {
        var create = await Http.PostAsync("fhir/Patient", Json(Member(NewId())));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        Assert.Equal("W/\"1\"", create.Headers.ETag?.ToString());
        var created = await create.ReadAs<Patient>();
        Assert.Equal(new Uri(server.BaseAddress, $"fhir/Patient/{created.Id}/_history/1"), create.Headers.Location);

        var read = await Http.GetAsync($"fhir/Patient/{created.Id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("W/\"1\"", read.Headers.ETag?.ToString());
        Assert.NotNull(read.Content.Headers.LastModified);

        created.Name[0].Family = "Updated";
        var update = await Http.SendAsync(Request(HttpMethod.Put, $"fhir/Patient/{created.Id}", Json(created), ("If-Match", "W/\"1\"")));
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal("2", (await update.ReadAs<Patient>()).Meta!.VersionId);

        var stale = await Http.SendAsync(Request(HttpMethod.Put, $"fhir/Patient/{created.Id}", Json(created), ("If-Match", "W/\"1\"")));
        await stale.AssertOutcome(412);

        var v1 = await Http.GetAsync($"fhir/Patient/{created.Id}/_history/1");
        Assert.Equal("Okafor", (await v1.ReadAs<Patient>()).Name[0].Family);

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"fhir/Patient/{created.Id}")).StatusCode);
        await (await Http.GetAsync($"fhir/Patient/{created.Id}")).AssertOutcome(410);
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"fhir/Patient/{created.Id}")).StatusCode);

        var history = await (await Http.GetAsync($"fhir/Patient/{created.Id}/_history")).ReadAs<Bundle>();
        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal([Bundle.HTTPVerb.DELETE, Bundle.HTTPVerb.PUT, Bundle.HTTPVerb.POST], history.Entry.Select(e => e.Request!.Method!.Value));
        Assert.Null(history.Entry[0].Resource);
        Assert.Equal("Updated", (await (await Http.GetAsync($"fhir/Patient/{created.Id}/_history/2")).ReadAs<Patient>()).Name[0].Family);
    }

    [Fact]
    public async Task GivenAClientChosenId_WhenPut_ThenTheResourceIsCreated()
    {
        var id = "member-" + NewId();
        var patient = Member(NewId());
        patient.Id = id;
        var response = await Http.PutAsync($"fhir/Patient/{id}", Json(patient));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PutAsync($"fhir/Patient/{id}", Json(patient))).StatusCode);
    }

    [Fact]
    public async Task GivenClaims_WhenSearchedByEveryClaimParameter_ThenOnlyMatchesComeBack()
    {
        var patient = await CreateId(Member(NewId()));
        var provider = "org-" + NewId();
        var march = await CreateId(PriorAuthClaim(patient, provider, "2026-03-01"));
        var april = await CreateId(PriorAuthClaim(patient, "other-" + NewId(), "2026-04-15"));

        Assert.Equal([march, april], await SearchIds($"Claim?patient=Patient/{patient}"));
        Assert.Equal([march], await SearchIds($"Claim?patient={patient}&provider=Organization/{provider}"));
        Assert.Equal([april], await SearchIds($"Claim?patient={patient}&created=ge2026-04-01"));
        Assert.Equal([march, april], await SearchIds($"Claim?patient={patient}&use=preauthorization&status=active&insurer=Organization/payer-01"));
        Assert.Empty(await SearchIds($"Claim?patient={patient}&use=claim"));
        Assert.Equal([april, march], await SearchIds($"Claim?patient={patient}&_sort=-_lastUpdated"));
        Assert.Equal([march], await SearchIds($"Claim?_id={march}"));
        Assert.Equal([march, april], await SearchIds($"Claim?patient={patient}&_lastUpdated=gt2020-01-01"));
    }

    [Fact]
    public async Task GivenClaimResponsesAndTasks_WhenSearched_ThenFollowUpParametersWork()
    {
        var claimId = "claim-" + NewId();
        var response = await Create(new ClaimResponse
        {
            Status = FinancialResourceStatusCodes.Active,
            Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
            Use = ClaimUseCode.Preauthorization,
            Patient = new ResourceReference("Patient/p1"),
            Created = "2026-03-01",
            Insurer = new ResourceReference("Organization/payer-01"),
            Request = new ResourceReference($"Claim/{claimId}"),
            Outcome = ClaimProcessingCodes.Queued,
        });
        Assert.Equal([response.Id!], await SearchIds($"ClaimResponse?request=Claim/{claimId}&outcome=queued"));
        Assert.Empty(await SearchIds($"ClaimResponse?request=Claim/{claimId}&outcome=complete"));

        var owner = "queue-" + NewId();
        var task = await Create(new Hl7.Fhir.Model.Task
        {
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Code = new CodeableConcept("http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "attachment-request-code"),
            Focus = new ResourceReference($"Claim/{claimId}"),
            For = new ResourceReference("Patient/p1"),
            Owner = new ResourceReference($"Organization/{owner}"),
        });
        Assert.Equal([task.Id!], await SearchIds($"Task?focus=Claim/{claimId}&owner=Organization/{owner}&status=requested"));
        Assert.Equal([task.Id!], await SearchIds($"Task?owner={owner}&code=attachment-request-code&for=Patient/p1&patient=p1"));
        Assert.Empty(await SearchIds($"Task?owner={owner}&status=completed"));
    }

    [Fact]
    public async Task GivenMoreMatchesThanAPage_WhenFollowingNextLinks_ThenEveryMatchIsSeenOnce()
    {
        var family = "Paging" + NewId();
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add(await CreateId(Member(NewId(), family)));
        }
        var seen = new List<string>();
        string? url = $"fhir/Patient?family:exact={family}&_count=2";
        while (url is not null)
        {
            var bundle = await (await Http.GetAsync(url)).ReadAs<Bundle>();
            Assert.True(bundle.Entry.Count <= 2);
            seen.AddRange(bundle.Entry.Select(e => e.Resource!.Id!));
            url = bundle.Link.FirstOrDefault(l => l.Relation == "next")?.Url;
        }
        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task GivenAFormPostedToSearch_WhenSearched_ThenItMatchesLikeAGet()
    {
        var memberId = NewId();
        var id = await CreateId(Member(memberId));
        var response = await Http.PostAsync("fhir/Patient/_search", new FormUrlEncodedContent([KeyValuePair.Create("identifier", memberId)]));
        var bundle = await response.ReadAs<Bundle>();
        Assert.Equal([id], bundle.Entry.Select(e => e.Resource!.Id));
    }

    [Fact]
    public async Task GivenIfNoneExist_WhenTheSameCreateIsSentTwice_ThenOneResourceExists()
    {
        var memberId = NewId();
        var condition = ("If-None-Exist", $"identifier=https://payer.example/member-id|{memberId}");
        var first = await Http.SendAsync(Request(HttpMethod.Post, "fhir/Patient", Json(Member(memberId)), condition));
        var second = await Http.SendAsync(Request(HttpMethod.Post, "fhir/Patient", Json(Member(memberId)), condition));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((await first.ReadAs<Patient>()).Id, (await second.ReadAs<Patient>()).Id);
    }

    [Fact]
    public async Task GivenConcurrentConditionalCreates_WhenSentAtOnce_ThenExactlyOneIsCreated()
    {
        var memberId = NewId();
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Http.SendAsync(Request(HttpMethod.Post, "fhir/Patient",
            Json(Member(memberId)), ("If-None-Exist", $"identifier={memberId}")))));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode));
        Assert.Single(await SearchIds($"Patient?identifier={memberId}"));
    }

    [Fact]
    public async Task GivenIfNoneExistMatchingTwo_WhenCreated_Then412()
    {
        var family = "Twin" + NewId();
        await Create(Member(NewId(), family));
        await Create(Member(NewId(), family));
        var response = await Http.SendAsync(Request(HttpMethod.Post, "fhir/Patient", Json(Member(NewId())), ("If-None-Exist", $"family:exact={family}")));
        await response.AssertOutcome(412);
    }

    [Theory]
    [InlineData("return=minimal", false, null)]
    [InlineData("return=OperationOutcome", true, "OperationOutcome")]
    [InlineData("return=representation", true, "Patient")]
    public async Task GivenPrefer_WhenCreating_ThenTheBodyFollowsIt(string prefer, bool hasBody, string? resourceType)
    {
        var response = await Http.SendAsync(Request(HttpMethod.Post, "fhir/Patient", Json(Member(NewId())), ("Prefer", prefer)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(response.Headers.Location);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(hasBody, body.Length > 0);
        if (hasBody)
        {
            Assert.Equal(resourceType, FhirJson.Parse(body).TypeName);
        }
    }

    [Fact]
    public async Task GivenJsonFormatParameters_WhenRead_ThenJsonIsServed()
    {
        var patient = await CreateId(Member(NewId()));
        foreach (var format in new[] { "json", "application/fhir+json", "application/json" })
        {
            var response = await Http.GetAsync($"fhir/Patient/{patient}?_format={Uri.EscapeDataString(format)}&_pretty=true");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\n", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task GivenTheFirelyClient_WhenItUsesTheServer_ThenCreateReadSearchAndHistoryWork()
    {
        using var client = new FhirClient(new Uri(server.BaseAddress, "fhir"), new FhirClientSettings { PreferredFormat = ResourceFormat.Json },
            new BearerHandler(() => server.Token()));
        var memberId = NewId();
        var created = await client.CreateAsync(Member(memberId));
        var read = await client.ReadAsync<Patient>($"Patient/{created!.Id}");
        Assert.Equal(memberId, read!.Identifier[0].Value);
        var found = await client.SearchAsync<Patient>([$"identifier={memberId}"]);
        Assert.Single(found!.Entry);
        read.Active = true;
        var updated = await client.UpdateAsync(read);
        Assert.Equal("2", updated!.Meta!.VersionId);
        var history = await client.HistoryAsync($"Patient/{created.Id}");
        Assert.Equal(2, history!.Entry.Count);
        var metadata = await client.CapabilityStatementAsync();
        Assert.Equal(FHIRVersion.N4_0_1, metadata!.FhirVersion);
    }

    [Fact]
    public async Task GivenWritesToSeveralTypes_WhenTypeAndSystemHistoryAreRead_ThenTheyAreListedNewestFirst()
    {
        await Create(new Organization { Name = "History Org " + NewId() });
        var org = await Create(new Organization { Name = "History Org " + NewId() });
        var typeHistory = await (await Http.GetAsync("fhir/Organization/_history?_count=1")).ReadAs<Bundle>();
        Assert.Equal(org.Id, typeHistory.Entry.Single().Resource!.Id);
        Assert.Contains(typeHistory.Link, l => l.Relation == "next");
        var systemHistory = await (await Http.GetAsync("fhir/_history?_count=50")).ReadAs<Bundle>();
        Assert.Contains(systemHistory.Entry, e => e.Resource?.Id == org.Id);
    }
}
