// Firely annotates nearly every element as nullable; these tests read shapes the server must produce and fail loudly if one is missing.
#nullable disable warnings
using System.Net;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// PAS Subscriptions (R5 Backport on R4, rest-hook) against a real receiver on loopback: creation and handshake, one
/// notification per ClaimResponse change in each version's shape, filters, ownership, a receiver that is down for a
/// while, delivery after a restart, and the move to error and back.
/// </summary>
public sealed class SubscriptionTests : IAsyncLifetime
{
    private const string Npi = "8189991234"; // the requestor of the pended examples and the filter of Inferno's 2.2.1 input
    private readonly TestReceiver _receiver = new();
    private ServerHost _server = null!;

    private static Dictionary<string, string?> Fast => new()
    {
        ["FollowUp:PollInterval"] = "00:00:00.100",
        ["Subscriptions:PollInterval"] = "00:00:00.100",
        ["Subscriptions:RetryMin"] = "00:00:00.200",
        ["Subscriptions:RetryMax"] = "00:00:00.500",
        ["Subscriptions:ErrorAfter"] = "00:00:04",
    };

    public async Task InitializeAsync()
    {
        await _receiver.StartAsync();
        _server = new ServerHost();
        foreach (var (key, value) in Fast) _server.Settings[key] = value;
        await _server.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Theory]
    [InlineData("2.2.1")]
    [InlineData("2.0.1")]
    public async Task InfernosSubscription_Is201Requested_GetsAHandshakeWithItsHeaders_AndBecomesActive(string version)
    {
        var (id, path) = await CreateAsync(version);

        var handshake = (await _receiver.WaitFor(path, 1)).Single();
        Assert.Equal("Bearer demo_execution", handshake.Headers["Authorization"]);
        Assert.StartsWith("application/fhir+json", handshake.ContentType);
        var bundle = FhirJson.Parse<Bundle>(System.Text.Encoding.UTF8.GetBytes(handshake.Body));
        Assert.Equal(Bundle.BundleType.History, bundle.Type);
        var status = (Parameters)bundle.Entry[0].Resource;
        Assert.Equal("handshake", Value(status, "type"));
        Assert.Equal("requested", Value(status, "status"));
        Assert.Equal(Core.Subscriptions.Backport.PasTopic, Value(status, "topic"));
        Assert.EndsWith($"Subscription/{id}", Value(status, "subscription"));
        Assert.EndsWith($"Subscription/{id}/$status", bundle.Entry[0].Request.Url);
        Assert.All(bundle.Entry, e => Assert.True(e.Request is not null && e.Response is not null));

        await WaitForStatusAsync(version, id, Subscription.SubscriptionStatus.Active);
        var statusNow = await (await _server.Client.GetAsync($"{PasHttp.Base(version)}/Subscription/{id}/$status")).ReadAs<Parameters>();
        Assert.Equal("active", Value(statusNow, "status"));
        Assert.Equal("0", Value(statusNow, "events-since-subscription-start"));

        var metadata = await (await _server.Client.GetAsync($"{PasHttp.Base(version)}/metadata")).ReadAs<CapabilityStatement>();
        var declared = metadata.Rest[0].Resource.Single(r => r.Type == "Subscription");
        Assert.Equal(Core.Subscriptions.Backport.PasTopic, declared.GetExtensionValue<Canonical>(Core.Subscriptions.Backport.TopicCanonical).Value);
        Assert.Contains(declared.Operation, o => o.Name == "status");
        Assert.Superset(new HashSet<CapabilityStatement.TypeRestfulInteraction?> { CapabilityStatement.TypeRestfulInteraction.Create,
            CapabilityStatement.TypeRestfulInteraction.Update, CapabilityStatement.TypeRestfulInteraction.Delete },
            declared.Interaction.Select(i => i.Code).ToHashSet());
    }

    [Fact]
    public async Task APendedSubmitThenADecision_Notify221Subscribers_WithTheFullPasResponseBundle_AndNotOthers()
    {
        var (id, path) = await CreateAsync("2.2.1");
        var (_, otherPath) = await CreateAsync("2.2.1", filter: "org-identifier=1111111112");
        await _receiver.WaitFor(path, 1);
        await _receiver.WaitFor(otherPath, 1);
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);

        var number = await SubmitPendedAsync("2.2.1");
        await Task.Delay(500);
        Assert.Single(_receiver.At(path)); // the submitter has its answer: a new authorization notifies nobody
        var decisions = await DecideAllAsync(number);

        var received = await _receiver.WaitFor(path, 1 + decisions);
        await Task.Delay(500);
        Assert.Equal(1 + decisions, _receiver.At(path).Count);
        var notifications = received.Skip(1).Select(Parse).ToList();
        for (int i = 0; i < decisions; i++)
        {
            var (bundle, status) = notifications[i];
            Assert.Equal("Bearer demo_execution", received[i + 1].Headers["Authorization"]);
            Assert.Equal("event-notification", Value(status, "type"));
            Assert.Equal("active", Value(status, "status"));
            var @event = status.Parameter.Single(p => p.Name == "notification-event");
            Assert.Equal((i + 1).ToString(), ((FhirString)@event.Part.Single(p => p.Name == "event-number").Value).Value);
            Assert.True(((Instant)@event.Part.Single(p => p.Name == "timestamp").Value).Value > DateTimeOffset.UtcNow.AddMinutes(-1));
            var focus = ((ResourceReference)@event.Part.Single(p => p.Name == "focus").Value).Reference;
            var response = Assert.IsType<Bundle>(bundle.Entry.Single(e => e.FullUrl == focus).Resource);
            Assert.Equal(Bundle.BundleType.Collection, response.Type);
            Assert.Equal(number, Assert.IsType<ClaimResponse>(response.Entry[0].Resource).PreAuthRef);
            Assert.All(bundle.Entry, e => Assert.True(e.Request is not null && e.Response is not null));
        }
        // After the last decision nothing waits any more.
        Assert.DoesNotContain("A4", PasHttp.ReviewActions((Bundle)notifications[^1].Bundle.Entry[1].Resource));
        Assert.Single(_receiver.At(otherPath));
        // The decision record shows each notification and when it was delivered.
        var record = JsonNode.Parse(await _server.Client.GetStringAsync($"fhir/$decision-record?authorization={number}"))!;
        var sent = record["notifications"]!.AsArray().Where(n => n!["subscription"]!.GetValue<string>() == $"Subscription/{id}").ToList();
        Assert.Equal(Enumerable.Range(1, decisions).Select(n => (long)n), sent.Select(n => n!["eventNumber"]!.GetValue<long>()));
        Assert.All(sent, n => Assert.NotNull(n!["deliveredAt"]));
        var statusNow = await (await _server.Client.GetAsync($"fhir/Subscription/{id}/$status")).ReadAs<Parameters>();
        Assert.Equal(decisions.ToString(), Value(statusNow, "events-since-subscription-start"));
    }

    [Fact]
    public async Task A201Subscription_IsNotifiedIdOnly_TheClaimResponseByUrlWithoutTheResource()
    {
        var (_, path) = await CreateAsync("2.0.1");
        await _receiver.WaitFor(path, 1);
        var number = await SubmitPendedAsync("2.0.1");
        var decisions = await DecideAllAsync(number, "pas/2.0.1/fhir");

        var (bundle, status) = Parse((await _receiver.WaitFor(path, 1 + decisions))[1]);
        var focus = ((ResourceReference)status.Parameter.Single(p => p.Name == "notification-event").Part.Single(p => p.Name == "focus").Value).Reference;
        Assert.Matches("/pas/2.0.1/fhir/ClaimResponse/[^/]+$", focus);
        var entry = bundle.Entry.Single(e => e.FullUrl == focus);
        Assert.Null(entry.Resource);
        var claimResponse = await (await _server.Client.GetAsync(focus)).ReadAs<ClaimResponse>();
        Assert.Equal(number, claimResponse.PreAuthRef);
    }

    [Fact]
    public async Task AReceiverDownForAWhile_GetsTheMissedNotificationsAfterwards_InOrder()
    {
        var (id, path) = await CreateAsync("2.2.1");
        await _receiver.WaitFor(path, 1);
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);
        _receiver.Failing[path] = true;

        var decisions = 0;
        for (int i = 0; i < 2; i++)
        {
            decisions += await DecideAllAsync(await SubmitPendedAsync("2.2.1"));
        }
        // Refused while down (at least the first one, retried); nothing accepted.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_receiver.At(path, acceptedOnly: false).Skip(1).Any() && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.NotEmpty(_receiver.At(path, acceptedOnly: false).Skip(1));
        Assert.Single(_receiver.At(path));

        _receiver.Failing[path] = false;
        var received = await _receiver.WaitFor(path, 1 + decisions);
        await Task.Delay(500);
        var numbers = _receiver.At(path).Skip(1).Select(r => EventNumber(Parse(r).Status)).ToList();
        // Exactly the missed ones, in order: a refused notification was not delivered, so none is repeated.
        Assert.Equal(Enumerable.Range(1, decisions).Select(n => (long)n), numbers);
    }

    [Fact]
    public async Task ARestartBetweenTheDecisionAndItsDelivery_StillDeliversIt()
    {
        var (id, path) = await CreateAsync("2.2.1");
        await _receiver.WaitFor(path, 1);
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);
        _receiver.Failing[path] = true;
        var decisions = await DecideAllAsync(await SubmitPendedAsync("2.2.1"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_receiver.At(path, acceptedOnly: false).Skip(1).Any() && DateTime.UtcNow < deadline) await Task.Delay(50);

        await _server.StopAsync();
        _receiver.Failing[path] = false;
        var restarted = new ServerHost { DataDirectory = _server.DataDirectory };
        foreach (var (key, value) in Fast) restarted.Settings[key] = value;
        _server = restarted;
        await _server.InitializeAsync();

        await _receiver.WaitFor(path, 1 + decisions);
        Assert.Equal(1, EventNumber(Parse(_receiver.At(path)[1]).Status));
    }

    [Fact]
    public async Task AServerStoppedWhileDelivering_HandsItsLeaseBack_SoTheNextStartDeliversAtOnce()
    {
        var (id, path) = await CreateAsync("2.2.1");
        await _receiver.WaitFor(path, 1);
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);
        _receiver.Hanging[path] = true;
        var decisions = await DecideAllAsync(await SubmitPendedAsync("2.2.1"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_receiver.At(path, acceptedOnly: false).Skip(1).Any() && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.NotEmpty(_receiver.At(path, acceptedOnly: false).Skip(1)); // a notification is in flight

        // A stop mid-send: without the lease handed back, the next start would wait out the 2-minute lease.
        await _server.StopAsync();
        _receiver.Hanging[path] = false;
        var restarted = new ServerHost { DataDirectory = _server.DataDirectory };
        foreach (var (key, value) in Fast) restarted.Settings[key] = value;
        _server = restarted;
        await _server.InitializeAsync();

        var numbers = (await _receiver.WaitFor(path, 1 + decisions)).Skip(1).Select(r => EventNumber(Parse(r).Status)).ToList();
        Assert.Equal(Enumerable.Range(1, decisions).Select(n => (long)n), numbers);
    }

    [Fact]
    public async Task DeliveryFailingLongerThanErrorAfter_PutsTheSubscriptionInError_AndAnUpdateRecoversIt()
    {
        var (id, path) = await CreateAsync("2.2.1");
        await _receiver.WaitFor(path, 1);
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);
        _receiver.Failing[path] = true;
        var decisions = await DecideAllAsync(await SubmitPendedAsync("2.2.1"));

        var failed = await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Error, seconds: 20);
        Assert.False(string.IsNullOrEmpty(failed.Error));
        var status = await (await _server.Client.GetAsync($"fhir/Subscription/{id}/$status")).ReadAs<Parameters>();
        Assert.Equal("error", Value(status, "status"));

        _receiver.Failing[path] = false;
        failed.Status = Subscription.SubscriptionStatus.Active; // ignored: the server sets the status
        var updated = await _server.Client.PutAsync($"fhir/Subscription/{id}", Fhir.Json(failed));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(Subscription.SubscriptionStatus.Requested, (await updated.ReadAs<Subscription>()).Status);
        // A new handshake, then the events recorded while it was in error.
        var received = await _receiver.WaitFor(path, 2 + decisions);
        Assert.Equal("handshake", Value(Parse(received[1]).Status, "type"));
        Assert.Equal(1, EventNumber(Parse(received[2]).Status));
        await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Active);
    }

    [Fact]
    public async Task AHandshakeThatKeepsFailing_IsRetried_ThenTheSubscriptionIsInError()
    {
        var path = Guid.NewGuid().ToString("N");
        _receiver.Failing[path] = true;
        var json = Input("2.2.1", _receiver.Endpoint(path));
        var id = (await (await _server.Client.PostAsync("fhir/Subscription", Fhir.Json(json.ToJsonString()))).ReadAs<Subscription>()).Id;

        var failed = await WaitForStatusAsync("2.2.1", id, Subscription.SubscriptionStatus.Error, seconds: 20);
        var attempts = _receiver.At(path, acceptedOnly: false);
        Assert.True(attempts.Count >= 3, $"{attempts.Count} handshake attempts");
        Assert.All(attempts, a => Assert.Equal("handshake", Value(Parse(a).Status, "type")));
        Assert.Contains("503", failed.Error);
    }

    [Fact]
    public async Task WithAHeartbeatPeriod_AQuietSubscriptionGetsHeartbeats()
    {
        var path = Guid.NewGuid().ToString("N");
        var json = Input("2.2.1", _receiver.Endpoint(path));
        json["channel"]!["extension"]!.AsArray().Add(new JsonObject
        {
            ["url"] = Core.Subscriptions.Backport.HeartbeatPeriod,
            ["valueUnsignedInt"] = 1,
        });
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PostAsync("fhir/Subscription", Fhir.Json(json.ToJsonString()))).StatusCode);

        var received = await _receiver.WaitFor(path, 3);
        Assert.Equal(["handshake", "heartbeat", "heartbeat"], received.Take(3).Select(r => Value(Parse(r).Status, "type")));
        Assert.Equal("active", Value(Parse(received[1]).Status, "status"));
    }

    [Theory]
    [InlineData("criteria", "http://example.org/SubscriptionTopic/other")]
    [InlineData("type", "websocket")]
    [InlineData("endpoint", "http://example.org/hook")]
    [InlineData("endpoint", "ftp://127.0.0.1/hook")]
    [InlineData("filter", null)]
    [InlineData("filter", "patient=Patient/123")]
    [InlineData("content", "everything")]
    public async Task AnUnusableSubscription_Is400_WithAnOutcome(string element, string? value)
    {
        var json = Input("2.2.1", _receiver.Endpoint("bad"));
        switch (element)
        {
            case "criteria": json["criteria"] = value; break;
            case "type": json["channel"]!["type"] = value; break;
            case "endpoint": json["channel"]!["endpoint"] = value; break;
            case "filter" when value is null: json.Remove("_criteria"); break;
            case "filter": json["_criteria"]!["extension"]![0]!["valueString"] = value; break;
            case "content": json["channel"]!["_payload"]!["extension"]![0]!["valueCode"] = value; break;
        }
        var outcome = await (await _server.Client.PostAsync("fhir/Subscription", Fhir.Json(json.ToJsonString()))).AssertOutcome(400);
        Assert.Contains("Subscription.", outcome.Issue[0].Expression.Single());
        Assert.Empty(_receiver.At("bad", acceptedOnly: false));
    }

    [Fact]
    public async Task UnknownOrMismatchedSubscriptions_GetOutcomes()
    {
        var json = Input("2.2.1", _receiver.Endpoint("x"));
        json["id"] = "no-such-subscription";
        await (await _server.Client.PutAsync("fhir/Subscription/no-such-subscription", Fhir.Json(json.ToJsonString()))).AssertOutcome(404);
        await (await _server.Client.PutAsync("fhir/Subscription/other-id", Fhir.Json(json.ToJsonString()))).AssertOutcome(400);
        await (await _server.Client.GetAsync("fhir/Subscription/no-such-subscription/$status")).AssertOutcome(404);
        await (await _server.Client.PostAsync("fhir/Subscription", Fhir.Json("""{"resourceType":"Patient"}"""))).AssertOutcome(400);
        Assert.Equal(HttpStatusCode.NoContent, (await _server.Client.DeleteAsync("fhir/Subscription/no-such-subscription")).StatusCode);
    }

    [Fact]
    public async Task ASubscriptionBelongsToItsOrganization_OthersNeitherSeeNorChangeIt_NorFilterOnAnotherOrganization()
    {
        using var provider = new HttpClient { BaseAddress = _server.BaseAddress };
        provider.DefaultRequestHeaders.Authorization = new("Bearer", _server.Token("provider-app", organization: [$"http://hl7.org/fhir/sid/us-npi|{Npi}"]));
        using var other = new HttpClient { BaseAddress = _server.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new("Bearer", _server.Token("other-app", organization: ["http://hl7.org/fhir/sid/us-npi|1111111112"]));
        var path = Guid.NewGuid().ToString("N");

        var created = await provider.PostAsync("fhir/Subscription", Fhir.Json(Input("2.2.1", _receiver.Endpoint(path)).ToJsonString()));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var subscription = await created.ReadAs<Subscription>();
        Assert.Equal(HttpStatusCode.OK, (await provider.GetAsync($"fhir/Subscription/{subscription.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"fhir/Subscription/{subscription.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"fhir/Subscription/{subscription.Id}/$status")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PutAsync($"fhir/Subscription/{subscription.Id}", Fhir.Json(subscription))).StatusCode);
        Assert.Empty((await (await other.GetAsync("fhir/Subscription")).ReadAs<Bundle>()).Entry);
        await other.DeleteAsync($"fhir/Subscription/{subscription.Id}");
        Assert.Equal(HttpStatusCode.OK, (await provider.GetAsync($"fhir/Subscription/{subscription.Id}")).StatusCode);

        // Another organization's identifier in the filter of one's own Subscription.
        await (await other.PostAsync("fhir/Subscription", Fhir.Json(Input("2.2.1", _receiver.Endpoint(path)).ToJsonString()))).AssertOutcome(403);

        Assert.Equal(HttpStatusCode.NoContent, (await provider.DeleteAsync($"fhir/Subscription/{subscription.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await provider.GetAsync($"fhir/Subscription/{subscription.Id}")).StatusCode);
    }

    private static JsonObject Input(string version, string endpoint, string? filter = null)
    {
        var json = JsonNode.Parse(PasHttp.Inferno(version, "subscription_resource.json"))!.AsObject();
        json["channel"]!["endpoint"] = endpoint;
        if (filter is not null) json["_criteria"]!["extension"]![0]!["valueString"] = filter;
        return json;
    }

    private async Task<(string Id, string Path)> CreateAsync(string version, string? filter = null)
    {
        var path = Guid.NewGuid().ToString("N");
        var response = await _server.Client.PostAsync($"{PasHttp.Base(version)}/Subscription", Fhir.Json(Input(version, _receiver.Endpoint(path), filter).ToJsonString()));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var subscription = await response.ReadAs<Subscription>();
        Assert.Equal(Subscription.SubscriptionStatus.Requested, subscription.Status);
        Assert.Equal(Subscription.SubscriptionChannelType.RestHook, subscription.Channel.Type);
        return (subscription.Id, path);
    }

    private async Task<Subscription> WaitForStatusAsync(string version, string id, Subscription.SubscriptionStatus status, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var subscription = await (await _server.Client.GetAsync($"{PasHttp.Base(version)}/Subscription/{id}")).ReadAs<Subscription>();
            if (subscription.Status == status) return subscription;
            Assert.True(DateTime.UtcNow < deadline, $"Subscription/{id} stayed {subscription.Status}, expected {status}");
            await Task.Delay(100);
        }
    }

    private async Task<string> SubmitPendedAsync(string version)
    {
        var json = PasHttp.Fresh(PasHttp.Example(version, "pended_pa_submit_request_payload.json"));
        var response = await (await _server.Client.Submit(version, json)).AssertResponseBundle(json);
        Assert.All(response.ReviewActions(), code => Assert.Equal("A4", code));
        return ((ClaimResponse)response.Entry[0].Resource).PreAuthRef;
    }

    /// <summary>A reviewer approves every item waiting for review; returns how many decisions (ClaimResponse versions) that made.</summary>
    private async Task<int> DecideAllAsync(string number, string fhirBase = "fhir")
    {
        var search = await (await _server.Client.GetAsync($"{fhirBase}/Task?group-identifier=urn:fhirpriorauth:authorization|{number}&status=requested")).ReadAs<Bundle>();
        var reviews = search.Entry.Select(e => (Hl7.Fhir.Model.Task)e.Resource).ToList();
        Assert.NotEmpty(reviews);
        foreach (var review in reviews)
        {
            var decision = new Parameters();
            decision.Add("decision", new Code("approved"));
            var request = new HttpRequestMessage(HttpMethod.Post, $"{fhirBase}/Task/{review.Id}/$complete") { Content = Fhir.Json(decision) };
            request.Headers.Authorization = new("Bearer", _server.Token("reviewer-app", roles: ["reviewer"]));
            Assert.Equal(HttpStatusCode.OK, (await _server.Client.SendAsync(request)).StatusCode);
        }
        return reviews.Count;
    }

    private static (Bundle Bundle, Parameters Status) Parse(TestReceiver.Received received)
    {
        var bundle = FhirJson.Parse<Bundle>(System.Text.Encoding.UTF8.GetBytes(received.Body));
        Assert.Equal(Bundle.BundleType.History, bundle.Type);
        return (bundle, Assert.IsType<Parameters>(bundle.Entry[0].Resource));
    }

    private static string Value(Parameters parameters, string name) => parameters.Parameter.Single(p => p.Name == name).Value switch
    {
        ResourceReference reference => reference.Reference,
        var value => value.ToString(),
    };

    private static long EventNumber(Parameters status) =>
        long.Parse(((FhirString)status.Parameter.Single(p => p.Name == "notification-event").Part.Single(p => p.Name == "event-number").Value).Value);
}
