// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// CDex direct query: when a request lacks a document its policy needs, the server searches the requesting provider's
/// EHR (a real FHIR endpoint on loopback with a SMART Backend Services token endpoint). Within the budget the answer
/// decides the submission; past it, or when the EHR fails, the item is pended and the durable worker keeps searching.
/// </summary>
public sealed class EhrPullTests : IAsyncLifetime
{
    private const string ProviderNpi = "8189991234";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TestEhr _ehr = new();
    private ServerHost _server = null!;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fhirpa-server-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        await _ehr.StartAsync();
        await StartServerAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _ehr.DisposeAsync();
    }

    private async Task StartServerAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        var keyFile = Path.Combine(_dataDirectory, "ehr-client.pem");
        await File.WriteAllTextAsync(keyFile, _ehr.PrivateKeyPem);
        _server = new ServerHost { DataDirectory = _dataDirectory, Clock = _clock };
        foreach (var (key, value) in _ehr.ServerSettings($"http://hl7.org/fhir/sid/us-npi|{ProviderNpi}", keyFile))
        {
            _server.Settings[key] = value;
        }
        // Long enough for a first token and two searches on a busy test machine; the slow EHR takes longer still.
        _server.Settings["FollowUp:EhrBudget"] = "00:00:04";
        _server.Settings["FollowUp:PullInterval"] = "01:00:00";
        await _server.InitializeAsync();
    }

    [Fact]
    public async Task TheEhrHasTheDocument_TheSubmissionIsApprovedAtOnce_CitingTheStoredDocumentAndItsProvenance()
    {
        _ehr.Documents.Add(EhrNote("note-1", _clock.GetUtcNow().AddDays(-5)));

        var response = await SubmitAsync();

        Assert.All(response.ReviewActions(), code => Assert.Equal("A1", code));
        Assert.DoesNotContain(response.Entry, e => e.Resource is Hl7.Fhir.Model.Task or CommunicationRequest);
        var claimResponse = (ClaimResponse)response.Entry[0].Resource;
        var note = claimResponse.ProcessNote.First(n => n.Text.Contains("Documentation found in the provider's EHR", StringComparison.Ordinal)).Text;
        var documentId = note.Split("DocumentReference/")[1].TrimEnd('.');
        var document = await _server.StoredAsync<DocumentReference>(documentId);
        Assert.Equal($"{_ehr.FhirBaseUrl}/DocumentReference/note-1", document.Meta.Source);
        var provenance = (Provenance)Assert.Single(await _server.SearchStoredAsync("Provenance", $"target=DocumentReference/{documentId}"));
        Assert.Contains(provenance.Reason, r => r.Text.Contains("DocumentReference?patient=ehr-patient-1", StringComparison.Ordinal));

        // The EHR was asked with a token it issued for a valid assertion: the patient by member id, then the documents.
        Assert.Equal(0, _ehr.RejectedAssertions);
        Assert.Contains(_ehr.FhirRequests, r => r.StartsWith("Patient?identifier=", StringComparison.Ordinal));
        Assert.Contains(_ehr.FhirRequests, r => r.Contains("type=http%3A%2F%2Floinc.org%7C11506-3", StringComparison.Ordinal));
        // A second submission reuses the cached token.
        await SubmitAsync();
        Assert.Equal(1, _ehr.TokensIssued);
        Assert.Contains(await _server.SearchStoredAsync("AuditEvent", "subtype=ehr-pull"), a => ((AuditEvent)a).Outcome == AuditEvent.AuditEventOutcome.N0);
    }

    [Fact]
    public async Task TheEhrIsSlow_TheItemIsPended_ThenTheWorkerFindsTheDocumentAndApproves_EvenAcrossARestart()
    {
        _ehr.Documents.Add(EhrNote("note-2", _clock.GetUtcNow().AddDays(-5)));
        _ehr.Delay = TimeSpan.FromSeconds(8);

        var response = await SubmitAsync();

        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        var claimResponse = (ClaimResponse)response.Entry[0].Resource;
        var tasks = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().ToList();
        Assert.NotEmpty(tasks);
        Assert.Contains(await _server.PendingWorkAsync(), w => w.Kind == WorkKinds.PullDocuments && w.Subject == claimResponse.PreAuthRef);

        // The queued search is in the database: a restart does not lose it. The EHR is quick again by then.
        _ehr.Delay = TimeSpan.Zero;
        await _server.StopAsync();
        await StartServerAsync();
        await _server.RunWorkerAsync(_clock.GetUtcNow());

        var decided = await _server.StoredAsync<ClaimResponse>(claimResponse.Id);
        Assert.Equal("2", decided.Meta.VersionId);
        Assert.All(decided.Item, i => Assert.Equal("A1", PasHttp.ReviewActionOf(i.Adjudication)));
        foreach (var task in tasks)
        {
            var closed = await _server.StoredAsync<Hl7.Fhir.Model.Task>(task.Id);
            Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, closed.Status);
            Assert.NotEmpty(closed.Output);
        }
        Assert.DoesNotContain(await _server.PendingWorkAsync(), w => w.Kind == WorkKinds.PullDocuments);
    }

    [Theory]
    [InlineData("failing")]
    [InlineData("unavailable")]
    public async Task TheEhrIsDown_TheTaskStaysOpen_ThePullIsRetried_AndTheTaskIsEscalatedWhenOverdue(string how)
    {
        if (how == "failing")
        {
            _ehr.Failing = true; // 503 on every FHIR request
        }
        else
        {
            await _ehr.DisposeAsync(); // nothing listens any more: connections are refused
        }

        var response = await SubmitAsync();

        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        var task = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().First();

        await _server.RunWorkerAsync(_clock.GetUtcNow());
        var retry = Assert.Single(await _server.PendingWorkAsync(), w => w.Kind == WorkKinds.PullDocuments);
        Assert.Equal(number, retry.Subject);
        Assert.True(retry.Attempts >= 1);
        Assert.False(string.IsNullOrEmpty(retry.LastError));
        Assert.Contains(how == "failing" ? "ServiceUnavailable" : "refused", retry.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.True(retry.NotBefore > _clock.GetUtcNow());
        Assert.Contains(await _server.SearchStoredAsync("AuditEvent", "subtype=ehr-pull"), a => ((AuditEvent)a).Outcome == AuditEvent.AuditEventOutcome.N4);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, (await _server.StoredAsync<Hl7.Fhir.Model.Task>(task.Id)).Status);

        // The clock runs out with the EHR still down: the Task is escalated and the pulls stop.
        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await _server.RunWorkerAsync(_clock.GetUtcNow());
        var escalated = await _server.StoredAsync<Hl7.Fhir.Model.Task>(task.Id);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, escalated.Status);
        Assert.Equal("overdue", escalated.BusinessStatus.Coding[0].Code);
        Assert.DoesNotContain(await _server.PendingWorkAsync(), w => w.Kind == WorkKinds.PullDocuments);

        // The decision record: still pended past the 7 days, with the failed searches and the escalation on it.
        var record = await _server.Services.GetRequiredService<DecisionRecords>().ReadAsync(number, default);
        Assert.Equal("pended", record.Status);
        Assert.False(record.Clock.Met);
        Assert.Null(record.Clock.DecidedAt);
        Assert.Contains(record.Events, e => e.Action == "ehr-pull" && !e.Succeeded);
        Assert.Contains(record.Events, e => e.Action == "escalate");
    }

    [Fact]
    public async Task TheEhrHasNothing_TheItemIsPended_AndSearchedAgainAfterThePullInterval()
    {
        var response = await SubmitAsync();

        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        var claimResponse = (ClaimResponse)response.Entry[0].Resource;
        var next = Assert.Single(await _server.PendingWorkAsync(), w => w.Kind == WorkKinds.PullDocuments);
        Assert.InRange(next.NotBefore - _clock.GetUtcNow(), TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));

        // The provider files the note in its EHR; the next scheduled search finds it.
        _ehr.Documents.Add(EhrNote("note-3", _clock.GetUtcNow()));
        _clock.Advance(TimeSpan.FromHours(1));
        await _server.RunWorkerAsync(_clock.GetUtcNow());

        var decided = await _server.StoredAsync<ClaimResponse>(claimResponse.Id);
        Assert.All(decided.Item, i => Assert.Equal("A1", PasHttp.ReviewActionOf(i.Adjudication)));
    }

    [Fact]
    public async Task ARequestThatIsNotValid_IsRefused_AndTheEhrIsNeverAsked()
    {
        // Its items would wait for a document the EHR is asked for; its Patient lacks the name US Core requires.
        var json = JsonNode.Parse(PasHttp.Fresh(PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-2.json")))!;
        var patient = json["entry"]!.AsArray().Select(e => e!["resource"]!).First(r => (string)r["resourceType"] == "Patient");
        patient.AsObject().Remove("name");

        var response = await _server.Client.Submit("2.2.1", json.ToJsonString());

        await response.AssertOutcome(400);
        Assert.Empty(_ehr.FhirRequests);
        Assert.Empty(await _server.SearchStoredAsync("Claim", "_count=10"));
    }

    private async Task<Bundle> SubmitAsync()
    {
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-2.json"));
        var response = await _server.Client.Submit("2.2.1", json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.AssertResponseBundle(json);
    }

    private static DocumentReference EhrNote(string id, DateTimeOffset date)
    {
        var note = AttachmentTests.ProgressNote(date);
        note.Id = id;
        note.Subject = new ResourceReference("Patient/ehr-patient-1");
        return note;
    }
}
