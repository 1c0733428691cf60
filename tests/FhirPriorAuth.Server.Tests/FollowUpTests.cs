// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Server.FollowUp;
using FhirPriorAuth.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// Tasks for everything that waits, and the background worker that escalates them when the CMS-0057-F clock runs out.
/// The server runs on a fake clock that the tests move.
/// </summary>
public sealed class FollowUpTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private ServerHost _server = null!;

    public async Task InitializeAsync()
    {
        _server = new ServerHost { Clock = _clock };
        await _server.InitializeAsync();
    }

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task APendForClinicalReview_OpensATaskInThePayersQueue_ThatTheProviderNeitherGetsNorSees()
    {
        var (number, response) = await SubmitPendedForReviewAsync();

        Assert.DoesNotContain(response.Entry, e => e.Resource is Hl7.Fhir.Model.Task);
        // One review per pended item.
        var reviews = await ReviewTasksAsync(number);
        Assert.Equal(response.ReviewActions().Count, reviews.Count);
        Assert.Equal(reviews.Count, reviews.Select(r => ((PositiveInt)r.Input.Single(i => i.Type.Coding[0].Code == "item-sequence").Value).Value).Distinct().Count());
        var review = reviews[0];
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, review.Status);
        Assert.Equal("awaiting-review", review.BusinessStatus.Coding[0].Code);
        Assert.Equal((FollowUpTasks.WorkQueueSystem, FollowUpTasks.ClinicalReviewQueue), (review.Owner.Identifier.System, review.Owner.Identifier.Value));
        Assert.StartsWith("Claim/", review.Focus.Reference, StringComparison.Ordinal);
        // The Inferno request is urgent: an expedited request, 72 hours to decide.
        Assert.Equal(RequestPriority.Urgent, review.Priority);
        Assert.Equal(TimeSpan.FromHours(72), FollowUpTasks.Due(review) - DateTimeOffset.Parse(review.AuthoredOn, System.Globalization.CultureInfo.InvariantCulture));

        // The requesting provider's own client finds its authorization's Tasks, but not the payer's review.
        var provider = new HttpRequestMessage(HttpMethod.Get, $"fhir/Task?group-identifier=urn:fhirpriorauth:authorization|{number}");
        provider.Headers.Authorization = new("Bearer", _server.Token("provider-app", organization: ["http://hl7.org/fhir/sid/us-npi|1234567893"]));
        Assert.Empty((await (await _server.Client.SendAsync(provider)).ReadAs<Bundle>()).Entry);
    }

    [Fact]
    public async Task AWorkerStoppedWhileItsClaimIsBeingCommitted_LeavesNothingLeasedForTheNextStart()
    {
        var queue = _server.Services.GetRequiredService<IWorkQueue>();
        var database = _server.Services.GetRequiredService<SqlDialect>();
        var now = _clock.GetUtcNow();
        var item = WorkItem.New(WorkKinds.EscalateTask, $"Task/{Guid.NewGuid():N}", now.AddMinutes(-1));
        await queue.EnqueueAsync([item], default);

        // SQLite's writer runs queued writes together: the claim joins a batch whose last write holds its commit back.
        var (first, last, lastRunning) = (new TaskCompletionSource(), new TaskCompletionSource(), new TaskCompletionSource());
        var holding = database.WriteAsync(async (_, _) => { await first.Task; return 0; }, default);
        using var stop = new CancellationTokenSource();
        var pass = _server.Services.GetRequiredService<FollowUpWorker>().RunOnceAsync(stop.Token);
        var holdingCommit = database.WriteAsync(async (_, _) => { lastRunning.SetResult(); await last.Task; return 0; }, default);
        first.SetResult();
        await lastRunning.Task;

        // The server stops after the claim ran and before it was committed; then the commit goes through.
        stop.Cancel();
        last.SetResult();
        await Task.WhenAll(holding, holdingCommit);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);

        // The next start claims the item at once, not when the stopped worker's lease runs out.
        Assert.Contains(await queue.ClaimAsync("next-start", now, now.AddMinutes(5), 100, default), claimed => claimed.Id == item.Id);
    }

    [Fact]
    public async Task WhenTheClockRunsOut_OpenTasksAreEscalatedAndAudited_ClosedOnesAreNot_AndTheWorkSurvivesARestart()
    {
        var (number, _) = await SubmitPendedForReviewAsync();
        var review = (await ReviewTasksAsync(number))[0];
        var documentation = await DocumentationTaskAsync();
        // The provider answered the documentation request before the deadline: nothing to escalate there.
        documentation.Status = Hl7.Fhir.Model.Task.TaskStatus.Completed;
        var put = await _server.Client.PutAsync($"fhir/Task/{documentation.Id}", Fhir.Json(documentation));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var pending = await _server.PendingWorkAsync();
        Assert.Contains(pending, w => w.Subject == $"Task/{review.Id}" && w.Kind == WorkKinds.EscalateTask);

        // Restart: the queued escalations are in the database, not in memory.
        var dataDirectory = _server.DataDirectory;
        await _server.StopAsync();
        _server = new ServerHost { DataDirectory = dataDirectory, Clock = _clock };
        await _server.InitializeAsync();

        await RunWorkerAsync(); // nothing is due yet
        Assert.Null((await StoredTaskAsync(review.Id)).BusinessStatus?.Coding.FirstOrDefault(c => c.Code == "overdue"));

        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await RunWorkerAsync();

        var escalated = await StoredTaskAsync(review.Id);
        Assert.Equal("overdue", escalated.BusinessStatus.Coding[0].Code);
        Assert.Equal(RequestPriority.Asap, escalated.Priority);
        Assert.Equal("2", escalated.Meta.VersionId);
        var audits = await SearchStoredAsync("AuditEvent", $"entity=Task/{review.Id}");
        Assert.Contains(audits, a => ((AuditEvent)a).Subtype.Any(s => s.Code == "escalate"));

        var closed = await StoredTaskAsync(documentation.Id);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, closed.Status);
        Assert.Null(closed.BusinessStatus);
        var left = await _server.PendingWorkAsync();
        Assert.DoesNotContain(left, w => w.Subject == $"Task/{review.Id}" || w.Subject == $"Task/{documentation.Id}");
    }

    [Fact]
    public async Task AReviewerDecidesAnItem_TheClaimResponseGetsANewVersion_AndTheTaskIsCompleted()
    {
        var (number, response) = await SubmitPendedForReviewAsync();
        var first = (ClaimResponse)response.Entry[0].Resource;
        var reviews = await ReviewTasksAsync(number);
        var review = reviews[0];
        var sequence = ((PositiveInt)review.Input.Single(i => i.Type.Coding[0].Code == FollowUpTasks.ItemSequenceInput).Value).Value;

        // Only a reviewer may decide; a denial needs a reason; an unknown Task is 404.
        Assert.Equal(HttpStatusCode.Forbidden, (await Complete(review.Id, Decision("approved"), _server.Token())).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Complete(review.Id, Decision("denied"), ReviewerToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Complete("no-such-task", Decision("approved"), ReviewerToken)).StatusCode);

        var decided = await Complete(review.Id, Decision("approved", npi: "1234567893"), ReviewerToken);
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        var updated = await decided.ReadAs<ClaimResponse>();
        Assert.Equal((first.Id, "2"), (updated.Id, updated.Meta.VersionId));
        Assert.Equal("A1", PasHttp.ReviewActionOf(updated.Item.Single(i => i.ItemSequence == sequence).Adjudication));
        Assert.All(updated.Item.Where(i => i.ItemSequence != sequence), i => Assert.Equal("A4", PasHttp.ReviewActionOf(i.Adjudication)));
        var reviewer = updated.GetExtension("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-claimResponseReviewer");
        Assert.True(((FhirBoolean)reviewer.GetExtension("wasHumanReviewedFlag").Value).Value);
        Assert.Equal("1234567893", ((Identifier)reviewer.GetExtension("reviewerNPI").Value).Value);
        _server.AssertValid(updated, Core.Pas.PasVersion.V2_2_1, "profile-claimresponse");

        var task = await (await _server.Client.GetAsync($"fhir/Task/{review.Id}")).ReadAs<Hl7.Fhir.Model.Task>();
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, task.Status);
        Assert.Equal("A1", ((CodeableConcept)task.Output.Single().Value).Coding[0].Code);
        var current = await (await _server.Client.GetAsync($"fhir/ClaimResponse/{first.Id}")).ReadAs<ClaimResponse>();
        Assert.Equal("2", current.Meta.VersionId);

        // Decided once: the Task is closed now.
        Assert.Equal(HttpStatusCode.Conflict, (await Complete(review.Id, Decision("denied", "late"), ReviewerToken)).StatusCode);
        // The other item is modified by another reviewer: no reason, no quantity, no decision.
        var other = reviews[1];
        Assert.Equal(HttpStatusCode.BadRequest, (await Complete(other.Id, Decision("modified", "fewer units"), ReviewerToken)).StatusCode);
        var modified = await (await Complete(other.Id, Decision("modified", "Two units are enough.", quantity: 2), ReviewerToken)).ReadAs<ClaimResponse>();
        Assert.Equal("3", modified.Meta.VersionId);
        Assert.DoesNotContain(modified.Item, i => PasHttp.ReviewActionOf(i.Adjudication) == "A4");
    }

    [Fact]
    public async Task AClaimUpdateThatPendsAnItemForReviewAgain_KeepsItsOpenReviewTask()
    {
        // The Inferno Claim Update example with a procedure no rule covers: both items wait for a clinical reviewer.
        string Request(string authorizationNumber)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(PasHttp.Fresh(PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-2.json")))!;
            var order = node["entry"]!.AsArray().Select(e => e!["resource"]!).First(r => r["resourceType"]!.GetValue<string>() == "ServiceRequest");
            order["code"]!["coding"]![0]!["code"] = "27447";
            foreach (var item in node["entry"]![0]!["resource"]!["item"]!.AsArray())
            {
                item!["productOrService"]!["coding"]![0]!["code"] = "27447";
                foreach (var extension in item["extension"]!.AsArray().Where(e => e!["url"]!.GetValue<string>().EndsWith("extension-authorizationNumber", StringComparison.Ordinal)))
                {
                    extension!["valueString"] = authorizationNumber;
                }
            }
            return node.ToJsonString();
        }
        var first = Request("none-yet");
        var response = await (await _server.Client.Submit("2.2.1", first)).AssertResponseBundle(first);
        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        var before = await ReviewTasksAsync(number);
        Assert.Equal(2, before.Count);

        var update = Request(number);
        var updated = await (await _server.Client.Submit("2.2.1", update)).AssertResponseBundle(update);

        Assert.Equal(number, ((ClaimResponse)updated.Entry[0].Resource).PreAuthRef);
        Assert.All(updated.ReviewActions(), code => Assert.Equal("A4", code));
        var after = await ReviewTasksAsync(number);
        Assert.Equal(before.Select(t => t.Id).Order(), after.Select(t => t.Id).Order());
        Assert.All(after, t => Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, t.Status));
    }

    [Fact]
    public async Task WithTheDemoSetting_AReviewNobodyDecides_IsApprovedByTheServer_NotAsAHumanReview()
    {
        await _server.DisposeAsync();
        _server = new ServerHost { Clock = _clock, Settings = { ["FollowUp:AutoDecideReviewsAfter"] = "00:00:30" } };
        await _server.InitializeAsync();
        var (number, response) = await SubmitPendedForReviewAsync();
        var first = (ClaimResponse)response.Entry[0].Resource;

        _clock.Advance(TimeSpan.FromSeconds(31));
        await RunWorkerAsync();

        var stored = await _server.StoredAsync<ClaimResponse>(first.Id);
        Assert.All(stored.Item, i => Assert.Equal("A1", PasHttp.ReviewActionOf(i.Adjudication)));
        var reviewer = stored.GetExtension("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-claimResponseReviewer");
        Assert.False(((FhirBoolean)reviewer.GetExtension("wasHumanReviewedFlag").Value).Value);
        foreach (var review in await ReviewTasksAsync(number))
        {
            Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, (await StoredTaskAsync(review.Id)).Status);
        }
    }

    private string ReviewerToken => _server.Token("reviewer-app", roles: ["reviewer"]);

    private static Parameters Decision(string decision, string? reason = null, string? npi = null, decimal? quantity = null)
    {
        var parameters = new Parameters();
        parameters.Add("decision", new Code(decision));
        if (reason is not null) parameters.Add("reason", new FhirString(reason));
        if (npi is not null) parameters.Add("reviewerNpi", new Identifier("http://hl7.org/fhir/sid/us-npi", npi));
        if (quantity is not null) parameters.Add("quantity", new Quantity { Value = quantity });
        return parameters;
    }

    private Task<HttpResponseMessage> Complete(string taskId, Parameters decision, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"fhir/Task/{taskId}/$complete") { Content = Fhir.Json(decision) };
        request.Headers.Authorization = new("Bearer", token);
        return _server.Client.SendAsync(request);
    }

    private async Task<(string Number, Bundle Response)> SubmitPendedForReviewAsync()
    {
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "pended_pa_submit_request_payload.json"));
        var response = await (await _server.Client.Submit("2.2.1", json)).AssertResponseBundle(json);
        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        return (((ClaimResponse)response.Entry[0].Resource).PreAuthRef, response);
    }

    private async Task<List<Hl7.Fhir.Model.Task>> ReviewTasksAsync(string number)
    {
        var search = await (await _server.Client.GetAsync($"fhir/Task?group-identifier=urn:fhirpriorauth:authorization|{number}")).ReadAs<Bundle>();
        return search.Entry.Select(e => (Hl7.Fhir.Model.Task)e.Resource).ToList();
    }

    private async Task<Hl7.Fhir.Model.Task> DocumentationTaskAsync()
    {
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "must_support_pa_submit_request_payload-2.json"));
        var response = await (await _server.Client.Submit("2.2.1", json)).AssertResponseBundle(json);
        var id = response.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().First().Id;
        return await (await _server.Client.GetAsync($"fhir/Task/{id}")).ReadAs<Hl7.Fhir.Model.Task>();
    }

    private Task RunWorkerAsync() => _server.RunWorkerAsync(_clock.GetUtcNow());

    private Task<Hl7.Fhir.Model.Task> StoredTaskAsync(string id) => _server.StoredAsync<Hl7.Fhir.Model.Task>(id);

    private Task<List<Resource>> SearchStoredAsync(string type, string query) => _server.SearchStoredAsync(type, query);
}
