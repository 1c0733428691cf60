// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.FollowUp;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// Documentation pushed by the provider after a pend: CDex <c>$submit-attachment</c>, and a Claim Update that carries
/// the missing document. Either decides the items again and closes their documentation requests and Tasks.
/// </summary>
public sealed class AttachmentTests : IAsyncLifetime
{
    private const string Member = "12345678901";
    private const string MemberSystem = "http://davinci-pas.org/MIN";
    private const string ProviderNpi = "8189991234";
    private readonly ServerHost _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task AnAttachmentForThePendedItems_ApprovesThem_ClosesTheirRequestsAndTasks_AndIsStoredOnce()
    {
        var (response, _) = await SubmitPendedForDocumentationAsync();
        var claimResponse = (ClaimResponse)response.Entry[0].Resource;
        var requests = response.Entry.Select(e => e.Resource).OfType<CommunicationRequest>().ToList();
        var tasks = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().ToList();
        Assert.NotEmpty(requests);
        var acn = requests[0].Identifier[0].Value;

        var body = AttachmentParameters(acn, Member, ProviderNpi, ProgressNote(DateTimeOffset.UtcNow.AddDays(-3)), lineItem: "1");
        var answer = await PostAttachmentAsync(body, ProviderToken);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var outcome = await answer.ReadAs<OperationOutcome>();
        Assert.Equal(OperationOutcome.IssueSeverity.Information, outcome.Issue[0].Severity);
        Assert.Contains("approved", outcome.Issue[0].Diagnostics, StringComparison.Ordinal);

        // Both items wanted a recent progress note: both are certified now, citing the stored document.
        var current = await (await _server.Client.GetAsync($"fhir/ClaimResponse/{claimResponse.Id}")).ReadAs<ClaimResponse>();
        Assert.Equal("2", current.Meta.VersionId);
        Assert.All(current.Item, i => Assert.Equal("A1", PasHttp.ReviewActionOf(i.Adjudication)));
        Assert.Contains(current.ProcessNote, n => n.Text.Contains("Documentation received: DocumentReference/", StringComparison.Ordinal));
        var documentId = current.ProcessNote.Select(n => n.Text).First(t => t.Contains("DocumentReference/", StringComparison.Ordinal))
            .Split("DocumentReference/")[1].TrimEnd('.');
        var document = await (await _server.Client.GetAsync($"fhir/DocumentReference/{documentId}")).ReadAs<DocumentReference>();
        Assert.Equal("11506-3", document.Type.Coding[0].Code);
        var claimId = document.Context.Related.Single().Reference;
        var related = await (await _server.Client.GetAsync($"fhir/DocumentReference?related={claimId}")).ReadAs<Bundle>();
        Assert.Equal(documentId, Assert.Single(related.Entry).Resource.Id);

        foreach (var task in tasks)
        {
            var closed = await (await _server.Client.GetAsync($"fhir/Task/{task.Id}")).ReadAs<Hl7.Fhir.Model.Task>();
            Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, closed.Status);
            Assert.Contains(closed.Output, o => ((ResourceReference)o.Value).Reference == $"DocumentReference/{documentId}");
        }
        foreach (var request in requests)
        {
            var closed = await (await _server.Client.GetAsync($"fhir/CommunicationRequest/{request.Id}")).ReadAs<CommunicationRequest>();
            Assert.Equal(RequestStatus.Completed, closed.Status);
        }

        // The decision record shows the whole path: the request, the attachment, what each decided, and the clock met.
        var record = JsonNode.Parse(await (await _server.Client.GetAsync($"fhir/$decision-record?authorization={claimResponse.PreAuthRef}")).Content.ReadAsStringAsync())!;
        Assert.Equal("approved", record["status"]!.GetValue<string>());
        Assert.Equal(["request", "attachment"], record["steps"]!.AsArray().Select(s => s!["kind"]!.GetValue<string>()));
        Assert.All(record["steps"]![0]!["decisions"]!.AsArray(), d => Assert.Equal("A4", d!["reviewAction"]!.GetValue<string>()));
        Assert.All(record["steps"]![1]!["decisions"]!.AsArray(), d => Assert.Equal("A1", d!["reviewAction"]!.GetValue<string>()));
        Assert.True(record["clock"]!["met"]!.GetValue<bool>());
        Assert.NotNull(record["clock"]!["decidedAt"]);
        Assert.All(record["followUps"]!.AsArray(), f => Assert.NotNull(f!["closedAt"]));
        Assert.Equal([$"DocumentReference/{documentId}"], record["documents"]!.AsArray().Select(d => d!.GetValue<string>()));
        var forbidden = new HttpRequestMessage(HttpMethod.Get, $"fhir/$decision-record?authorization={claimResponse.PreAuthRef}");
        forbidden.Headers.Authorization = new("Bearer", ProviderToken);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Client.SendAsync(forbidden)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync("fhir/$decision-record?authorization=PA-none")).StatusCode);

        // The same attachment again: accepted, nothing stored twice, no new version.
        var again = await PostAttachmentAsync(body, ProviderToken);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("received before", (await again.ReadAs<OperationOutcome>()).Issue[0].Diagnostics, StringComparison.Ordinal);
        Assert.Equal("2", (await (await _server.Client.GetAsync($"fhir/ClaimResponse/{claimResponse.Id}")).ReadAs<ClaimResponse>()).Meta.VersionId);
        var stored = await (await _server.Client.GetAsync("fhir/DocumentReference?type=http://loinc.org|11506-3")).ReadAs<Bundle>();
        Assert.Single(stored.Entry);
    }

    [Fact]
    public async Task AnOldDocument_IsStored_ButTheItemsStayPended_WithTheirRequestsOpen()
    {
        var (response, _) = await SubmitPendedForDocumentationAsync();
        var acn = response.Entry.Select(e => e.Resource).OfType<CommunicationRequest>().First().Identifier[0].Value;
        var task = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().First();

        var answer = await PostAttachmentAsync(AttachmentParameters(acn, Member, ProviderNpi, ProgressNote(DateTimeOffset.UtcNow.AddDays(-400))), ProviderToken);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("Still pended", (await answer.ReadAs<OperationOutcome>()).Issue[0].Diagnostics, StringComparison.Ordinal);
        var current = await (await _server.Client.GetAsync($"fhir/ClaimResponse/{((ClaimResponse)response.Entry[0].Resource).Id}")).ReadAs<ClaimResponse>();
        Assert.Equal("1", current.Meta.VersionId);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, (await (await _server.Client.GetAsync($"fhir/Task/{task.Id}")).ReadAs<Hl7.Fhir.Model.Task>()).Status);
    }

    [Fact]
    public async Task BadAttachments_GetClearOutcomes()
    {
        var (response, _) = await SubmitPendedForDocumentationAsync();
        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        var note = ProgressNote(DateTimeOffset.UtcNow);

        await AssertOutcomeAsync(HttpStatusCode.NotFound, AttachmentParameters("no-such-tracking-id", Member, ProviderNpi, note));
        await AssertOutcomeAsync((HttpStatusCode)422, AttachmentParameters(number, "someone-else", ProviderNpi, note));
        await AssertOutcomeAsync((HttpStatusCode)422, AttachmentParameters(number, Member, "1111111112", note));
        await AssertOutcomeAsync((HttpStatusCode)422, AttachmentParameters(number, Member, ProviderNpi, note, lineItem: "9"));
        await AssertOutcomeAsync((HttpStatusCode)422, AttachmentParameters(number, Member, ProviderNpi, note, attachTo: "claim"));
        await AssertOutcomeAsync(HttpStatusCode.BadRequest, AttachmentParameters(number, null, ProviderNpi, note));
        await AssertOutcomeAsync(HttpStatusCode.BadRequest, AttachmentParameters(number, Member, ProviderNpi, note, lineItem: "first"));
        var noContent = ProgressNote(DateTimeOffset.UtcNow);
        noContent.Content[0].Attachment.Data = null;
        await AssertOutcomeAsync(HttpStatusCode.BadRequest, AttachmentParameters(number, Member, ProviderNpi, noContent));
        var noStatus = ProgressNote(DateTimeOffset.UtcNow);
        noStatus.Status = null;
        await AssertOutcomeAsync(HttpStatusCode.BadRequest, AttachmentParameters(number, Member, ProviderNpi, noStatus));

        // Another provider's client does not learn that the authorization exists.
        var other = new HttpRequestMessage(HttpMethod.Post, "fhir/$submit-attachment") { Content = Fhir.Json(AttachmentParameters(number, Member, ProviderNpi, note)) };
        other.Headers.Authorization = new("Bearer", _server.Token("other-app", organization: ["http://hl7.org/fhir/sid/us-npi|1111111112"]));
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.SendAsync(other)).StatusCode);
    }

    [Fact]
    public async Task AClaimUpdateCarryingTheDocument_ApprovesThePendedItems_AndClosesTheEarlierRequests()
    {
        var (response, json) = await SubmitPendedForDocumentationAsync();
        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        var earlier = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().ToList();

        var update = JsonNode.Parse(PasHttp.Fresh(json))!;
        foreach (var entry in update["entry"]!.AsArray())
        {
            var resource = entry!["resource"]!;
            switch (resource["resourceType"]!.GetValue<string>())
            {
                case "Claim" when resource["item"]![0]!["extension"] is JsonArray:
                    foreach (var extension in resource["item"]!.AsArray().SelectMany(i => i!["extension"]!.AsArray()))
                    {
                        if (extension!["url"]!.GetValue<string>().EndsWith("extension-authorizationNumber", StringComparison.Ordinal)) extension["valueString"] = number;
                    }
                    break;
                case "DocumentReference":
                    resource["type"]!["coding"]![0]!["code"] = "11506-3";
                    resource["type"]!["coding"]![0]!["display"] = "Progress note";
                    resource["date"] = DateTimeOffset.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                    break;
            }
        }
        var updated = await (await _server.Client.Submit("2.2.1", update.ToJsonString())).AssertResponseBundle(update.ToJsonString());
        Assert.Equal(number, ((ClaimResponse)updated.Entry[0].Resource).PreAuthRef);
        Assert.All(updated.ReviewActions(), code => Assert.Equal("A1", code));
        Assert.DoesNotContain(updated.Entry, e => e.Resource is Hl7.Fhir.Model.Task);
        foreach (var task in earlier)
        {
            Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, (await (await _server.Client.GetAsync($"fhir/Task/{task.Id}")).ReadAs<Hl7.Fhir.Model.Task>()).Status);
        }
    }

    private string ProviderToken => _server.Token("provider-app", organization: [$"http://hl7.org/fhir/sid/us-npi|{ProviderNpi}"]);

    private async Task<(Bundle Response, string Json)> SubmitPendedForDocumentationAsync()
    {
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-2.json"));
        var response = await (await _server.Client.Submit("2.2.1", json)).AssertResponseBundle(json);
        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        return (response, json);
    }

    private async Task AssertOutcomeAsync(HttpStatusCode status, Parameters body)
    {
        var response = await PostAttachmentAsync(body, ProviderToken);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueSeverity.Error, (await response.ReadAs<OperationOutcome>()).Issue[0].Severity);
    }

    private Task<HttpResponseMessage> PostAttachmentAsync(Parameters body, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "fhir/$submit-attachment") { Content = Fhir.Json(body) };
        request.Headers.Authorization = new("Bearer", token);
        return _server.Client.SendAsync(request);
    }

    internal static DocumentReference ProgressNote(DateTimeOffset date) => new()
    {
        Status = DocumentReferenceStatus.Current,
        Type = new CodeableConcept("http://loinc.org", "11506-3", "Progress note"),
        Date = date,
        Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain", Data = Encoding.UTF8.GetBytes("Low back pain for 8 weeks despite physical therapy.") } }],
    };

    internal static Parameters AttachmentParameters(string trackingId, string member, string npi, DocumentReference document,
        string attachTo = "preauthorization", string lineItem = null)
    {
        var parameters = new Parameters();
        parameters.Add("TrackingId", new Identifier("urn:fhirpriorauth:communication-request", trackingId));
        parameters.Add("AttachTo", new Code(attachTo));
        if (member is not null) parameters.Add("MemberId", new Identifier(MemberSystem, member));
        parameters.Add("OrganizationId", new Identifier("http://hl7.org/fhir/sid/us-npi", npi));
        var attachment = new Parameters.ParameterComponent { Name = "Attachment" };
        if (lineItem is not null) attachment.Part.Add(new Parameters.ParameterComponent { Name = "LineItem", Value = new FhirString(lineItem) });
        attachment.Part.Add(new Parameters.ParameterComponent { Name = "Code", Value = new CodeableConcept("http://loinc.org", "11506-3") });
        attachment.Part.Add(new Parameters.ParameterComponent { Name = "Content", Resource = document });
        parameters.Parameter.Add(attachment);
        return parameters;
    }
}
