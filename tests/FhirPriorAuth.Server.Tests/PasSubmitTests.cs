// Firely annotates nearly every element as nullable; these tests read response shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Storage;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class PasSubmitTests(ServerHost server)
{
    private readonly HttpClient _client = server.Client;

    public static TheoryData<string, string> InfernoSubmitBundles()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "2.0.1", "2.2.1" })
        {
            foreach (var file in Directory.GetFiles(RepoPaths.InfernoPas(version), "*_submit_*.json").Select(Path.GetFileName).Order())
            {
                data.Add(version, file!);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InfernoSubmitBundles))]
    public async Task EveryInfernoSubmitBundle_GetsAResponseBundle(string version, string file)
    {
        var json = PasHttp.Inferno(version, file);
        var bundle = await (await _client.Submit(version, json)).AssertResponseBundle(json);
        var claimResponse = (ClaimResponse)bundle.Entry[0].Resource;
        Assert.StartsWith("PA", claimResponse.PreAuthRef);
        server.AssertValid(bundle, PasHttp.Version(version), "profile-pas-response-bundle");
    }

    public static TheoryData<string, string> IgExamples()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "2.0.1", "2.2.1" })
        {
            foreach (var (name, _) in PasHttp.IgRequestExamples(version))
            {
                data.Add(version, name);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(IgExamples))]
    public async Task EveryIgRequestExample_GetsTheExpectedAnswer(string version, string name)
    {
        var json = PasHttp.IgRequestExamples(version).Single(e => e.Name == name).Json;
        if (name == "Bundle-SurgicalRequestBundleExample.json")
        {
            // The IG's own example leaves out resources its PractitionerRole refers to; PAS requires them, so: 400.
            var outcome = await (await _client.Submit(version, json)).AssertOutcome(400);
            Assert.Contains(outcome.Issue, i => i.Code == OperationOutcome.IssueType.NotFound && i.Diagnostics.Contains("Practitioner/ReferralPractitionerExample"));
            return;
        }
        if (name.Contains("Inquiry", StringComparison.Ordinal))
        {
            var response = await _client.Inquire(version, json);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return;
        }
        var bundle = await (await _client.Submit(version, json)).AssertResponseBundle(json);
        server.AssertValid(bundle, PasHttp.Version(version), "profile-pas-response-bundle");
    }

    [Theory]
    [InlineData("2.0.1", "approval_pa_submit_request_payload.json", "A1")]
    [InlineData("2.0.1", "denial_pa_submit_request_payload.json", "A3")]
    [InlineData("2.0.1", "pended_pa_submit_request_payload.json", "A4")]
    [InlineData("2.2.1", "approval_pa_submit_request_payload.json", "A1")]
    [InlineData("2.2.1", "denial_pa_submit_request_payload.json", "A3")]
    [InlineData("2.2.1", "pended_pa_submit_request_payload.json", "A4")]
    public async Task InfernoExamples_GetTheDemoPolicyDecision(string version, string file, string expected)
    {
        var json = PasHttp.Example(version, file);
        var bundle = await (await _client.Submit(version, json)).AssertResponseBundle(json);
        Assert.All(bundle.ReviewActions(), code => Assert.Equal(expected, code));
        var outcome = ((ClaimResponse)bundle.Entry[0].Resource).Outcome;
        Assert.Equal(expected == "A4" && version == "2.0.1" ? ClaimProcessingCodes.Queued : ClaimProcessingCodes.Complete, outcome);
    }

    [Theory]
    [InlineData("2.0.1")]
    [InlineData("2.2.1")]
    public async Task MustSupportPair_CarriesModifiedDeniedAndDocumentationRequests(string version)
    {
        var json1 = PasHttp.Example(version, "must_support_pa_submit_request_payload-1.json");
        var first = await (await _client.Submit(version, json1)).AssertResponseBundle(json1);
        Assert.Equal(["A6", "A3"], first.ReviewActions());
        var modified = (ClaimResponse)first.Entry[0].Resource;
        Assert.Equal(10m, Assert.Single(modified.AddItem).Quantity.Value);
        Assert.NotEmpty(modified.ProcessNote);
        // Item 2 has no date of service: X12 AAA 57 on that item, the rest decided.
        var error = Assert.Single(modified.Error);
        Assert.Equal((2, "57"), (error.ItemSequence, error.Code.Coding[0].Code));
        Assert.Equal(ClaimProcessingCodes.Partial, modified.Outcome);

        var json2 = PasHttp.Example(version, "must_support_pa_submit_request_payload-2.json");
        var second = await (await _client.Submit(version, json2)).AssertResponseBundle(json2);
        Assert.All(second.ReviewActions(), code => Assert.Equal("A4", code));
        var pended = (ClaimResponse)second.Entry[0].Resource;
        Assert.NotEmpty(pended.CommunicationRequest);
        var communication = second.Entry.Select(e => e.Resource).OfType<CommunicationRequest>().First();
        Assert.Contains(communication.Payload, p => (p.Content as FhirString)?.Value == "11506-3");
        var task = second.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>().First();
        Assert.Equal("attachment-request-code", task.Code.Coding[0].Code);
        Assert.Contains(task.Input, i => (i.Value as CodeableConcept)?.Coding[0].Code == "34117-2");

        // What the server created is readable and searchable through the REST API.
        var taskUrl = second.Entry.First(e => e.Resource is Hl7.Fhir.Model.Task).FullUrl!;
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(taskUrl)).StatusCode);
        var claimResponseUrl = second.Entry[0].FullUrl!;
        var stored = await (await _client.GetAsync(claimResponseUrl)).ReadAs<ClaimResponse>();
        Assert.Equal(pended.PreAuthRef, stored.PreAuthRef);
        var search = await (await _client.GetAsync($"{PasHttp.Base(version)}/Task?code=attachment-request-code&_count=200")).ReadAs<Bundle>();
        Assert.Contains(search.Entry, e => e.Resource.Id == task.Id);

        // The response carries the stored versions of what the decision wrote, access labels included, as reads do.
        Assert.NotEmpty(pended.Meta.Security);
        foreach (var entry in second.Entry.Where(e => e.Resource is ClaimResponse or CommunicationRequest or Hl7.Fhir.Model.Task))
        {
            var read = FhirJson.Parse(await (await _client.GetAsync(entry.FullUrl)).Content.ReadAsByteArrayAsync());
            Assert.True(read.IsExactly(entry.Resource), entry.FullUrl);
        }
    }

    [Theory]
    [InlineData("2.0.1")]
    [InlineData("2.2.1")]
    public async Task EmptyBundle_Is400OnBothOperations(string version)
    {
        var json = PasHttp.Inferno(version, "nonconformant_pas_bundle.json");
        var submit = await (await _client.Submit(version, json)).AssertOutcome(400);
        Assert.Contains(submit.Issue, i => i.Expression.Contains("Bundle.entry"));
        await (await _client.Inquire(version, json)).AssertOutcome(400);
    }

    [Fact]
    public async Task ClaimUpdateChain_KeepsTheNumber_ReportsEverySequence_AndCancels()
    {
        string? number = null;
        string? claimResponseUrl = null;
        var steps = new (string File, string?[] Expected)[]
        {
            ("claim_update_initial_submit_payload.json", ["A1"]),
            ("claim_update_add_item_submit_payload.json", ["A1", "A1"]),
            ("claim_update_modify_cancel_submit_payload.json", ["A1", "C"]),
            ("claim_update_cancel_all_submit_payload.json", ["C", "C"]),
        };
        // A fresh member id makes this chain independent of other tests that post the same presets.
        var member = "M-" + Guid.NewGuid().ToString("N")[..8];
        for (int step = 0; step < steps.Length; step++)
        {
            var json = PasHttp.WithMember(PasHttp.Inferno("2.2.1", steps[step].File), member);
            var bundle = await (await _client.Submit("2.2.1", json)).AssertResponseBundle(json);
            var claimResponse = (ClaimResponse)bundle.Entry[0].Resource;
            Assert.Equal(steps[step].Expected, bundle.ReviewActions());
            number ??= claimResponse.PreAuthRef;
            claimResponseUrl ??= bundle.Entry[0].FullUrl;
            Assert.Equal(number, claimResponse.PreAuthRef);
            Assert.Equal(claimResponseUrl, bundle.Entry[0].FullUrl);
            Assert.Equal((step + 1).ToString(), claimResponse.Meta.VersionId);
        }
    }

    [Fact]
    public async Task ConcurrentUpdatesOfOneAuthorization_AreEachDecidedFromTheStateBeforeThem()
    {
        var member = "M-" + Guid.NewGuid().ToString("N")[..8];
        var initial = PasHttp.WithMember(PasHttp.Inferno("2.2.1", "claim_update_initial_submit_payload.json"), member);
        var number = ((ClaimResponse)(await (await _client.Submit("2.2.1", initial)).AssertResponseBundle(initial)).Entry[0].Resource).PreAuthRef;

        // Three different updates at once: decided from the same state, all but one conflict when saved and are decided
        // again from the state the others left (a save is tried up to three times).
        var update = PasHttp.WithMember(PasHttp.Inferno("2.2.1", "claim_update_add_item_submit_payload.json"), member);
        var updates = Enumerable.Range(0, 3).Select(_ => PasHttp.Fresh(update)).ToList();
        var responses = await Task.WhenAll(updates.Select(u => _client.Submit("2.2.1", u)));
        var answers = new List<ClaimResponse>();
        for (var i = 0; i < updates.Count; i++)
        {
            answers.Add((ClaimResponse)(await responses[i].AssertResponseBundle(updates[i])).Entry[0].Resource);
        }

        Assert.All(answers, a => Assert.Equal(number, a.PreAuthRef));
        Assert.Equal(["2", "3", "4"], answers.Select(a => a.Meta.VersionId).Order());
    }

    [Fact]
    public async Task Replay_ReturnsTheStoredResponse_AndStoresNothingTwice()
    {
        var claimIdentifier = "REPLAY-" + Guid.NewGuid().ToString("N");
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json"), claimIdentifier);
        var responses = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _client.Submit("2.2.1", json)));
        var bodies = await System.Threading.Tasks.Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(bodies.Distinct());
        var again = await (await _client.Submit("2.2.1", json)).Content.ReadAsStringAsync();
        Assert.Equal(bodies[0], again);
        var search = await (await _client.GetAsync($"fhir/ClaimResponse?identifier={claimIdentifier}")).ReadAs<Bundle>();
        Assert.Single(search.Entry);

        // Same Bundle.identifier, different content: a new request with its own authorization number.
        var changed = JsonNode.Parse(json)!;
        changed["timestamp"] = "2026-11-27T11:00:00Z";
        var other = await (await _client.Submit("2.2.1", changed.ToJsonString())).AssertResponseBundle(changed.ToJsonString());
        var first = FhirPriorAuth.Core.Fhir.FhirJson.Parse<Bundle>(System.Text.Encoding.UTF8.GetBytes(bodies[0]));
        Assert.NotEqual(((ClaimResponse)first.Entry[0].Resource).PreAuthRef, ((ClaimResponse)other.Entry[0].Resource).PreAuthRef);
    }

    /// <summary>
    /// The proof's findings (value sets it could not expand) are kept with the submission. The proof runs beside the
    /// decision, so its report reaches the stored record only after the decision was made.
    /// </summary>
    [Fact]
    public async Task ASubmission_IsStoredWithTheWarningsOfItsValidation()
    {
        var json = PasHttp.Fresh(PasHttp.Example("2.2.1", "approval_pa_submit_request_payload.json"), "WARN-" + Guid.NewGuid().ToString("N"));
        var request = (Bundle)FhirJson.ParseForProof(System.Text.Encoding.UTF8.GetBytes(json));
        var expected = server.Services.GetRequiredService<PasValidator>().TryProve(request, PasVersion.V2_2_1, PasOperation.Submit)!.Warnings;
        Assert.NotEmpty(expected);

        var response = await (await _client.Submit("2.2.1", json)).AssertResponseBundle(json);
        var number = ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
        await using var connection = await server.Services.GetRequiredService<SqlDialect>().OpenAsync(default);
        var stored = await connection.QuerySingleAsync<string>(
            "SELECT w.warnings FROM Submission s JOIN WarningSet w ON w.warnings_hash = s.warnings_hash WHERE s.authorization_number = @Number",
            new { Number = number });
        var lines = stored.Split('\n');
        Assert.Equal(expected.Count, lines.Length);
        Assert.All(expected.Zip(lines), pair => Assert.EndsWith(pair.First.Diagnostics, pair.Second, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewAuthorization_WhoseNumberIsTakenMeanwhile_IsDecidedAgain_WithANewNumber()
    {
        var services = server.Services;
        var store = new NumberTakenAtFirstSave(services.GetRequiredService<IAuthorizationStore>());
        var pas = new PriorAuthorizationService(services.GetRequiredService<PolicyEngine>(), store,
            services.GetRequiredService<ResourceInteractions>(), services.GetRequiredService<IPasValidator>(),
            services.GetRequiredService<FollowUpLedger>(), services.GetRequiredService<SupportingDocuments>());
        var request = JsonNode.Parse(PasHttp.Inferno("2.2.1", "approval_pa_submit_request_payload.json"))!;
        request["identifier"]!["value"] = Guid.NewGuid().ToString(); // not a replay of another test's submission

        var response = await pas.SubmitAsync(System.Text.Encoding.UTF8.GetBytes(request.ToJsonString()), PasVersion.V2_2_1,
            server.BaseAddress + "fhir", default);

        var number = ((ClaimResponse)FhirJson.Parse<Bundle>(response).Entry[0].Resource).PreAuthRef;
        Assert.Equal(2, store.Saves);
        Assert.NotEqual(store.Taken, number);
        Assert.NotNull(await store.ReadAsync(number, default));
    }

    /// <summary>A store in which another authorization takes the number of the first new one saved, just before it.</summary>
    private sealed class NumberTakenAtFirstSave(IAuthorizationStore store) : IAuthorizationStore
    {
        public int Saves { get; private set; }
        public string Taken { get; private set; }

        public async Task<bool> SaveAsync(SubmissionRecord submission, CancellationToken ct)
        {
            if (++Saves == 1 && submission.IsNewAuthorization)
            {
                Taken = submission.Authorization.Number;
                Assert.True(await store.SaveAsync(submission with { Id = ResourceInteractions.NewId(), IdempotencyKey = "other|" + Taken,
                    Resources = [], Work = null, Prepared = null }, ct));
            }
            return await store.SaveAsync(submission, ct);
        }

        public SubmissionRecord Prepare(SubmissionRecord submission) => store.Prepare(submission);
        public Task<byte[]> FindResponseAsync(string idempotencyKey, CancellationToken ct) => store.FindResponseAsync(idempotencyKey, ct);
        public Task<byte[]> LatestResponseAsync(string number, CancellationToken ct) => store.LatestResponseAsync(number, ct);
        public Task<AuthorizationRecord> ReadAsync(string number, CancellationToken ct) => store.ReadAsync(number, ct);
        public Task<IReadOnlyList<AuthorizationRecord>> FindAsync(AuthorizationLookup lookup, int limit, CancellationToken ct) =>
            store.FindAsync(lookup, limit, ct);
        public Task<IReadOnlyList<AuthorizationRecord>> FindByTrackingIdAsync(string trackingId, CancellationToken ct) =>
            store.FindByTrackingIdAsync(trackingId, ct);
        public Task<IReadOnlyList<RecordedStep>> ReadStepsAsync(string number, CancellationToken ct) => store.ReadStepsAsync(number, ct);
    }
}
