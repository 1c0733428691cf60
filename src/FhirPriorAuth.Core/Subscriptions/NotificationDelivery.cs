using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Subscriptions;

/// <summary>Sends one notification Bundle to a rest-hook endpoint; throws when the receiver did not accept it.</summary>
public interface IRestHook
{
    /// <summary>POSTs <paramref name="body"/> to the Subscription's endpoint with its content type and headers.</summary>
    Task SendAsync(PasSubscription target, byte[] body, CancellationToken ct);
}

/// <summary>How delivery retries and gives up.</summary>
/// <param name="ErrorAfter">How long delivery may keep failing before the Subscription goes to <c>error</c>.</param>
/// <param name="RetryMin">The first retry delay; each later one doubles, up to <paramref name="RetryMax"/>.</param>
/// <param name="RetryMax">The longest retry delay.</param>
/// <param name="Lease">How long a worker holds a Subscription; longer than one delivery pass takes.</param>
public sealed record DeliverySettings(TimeSpan ErrorAfter, TimeSpan RetryMin, TimeSpan RetryMax, TimeSpan Lease)
{
    /// <summary>Error after 24 hours; retries from 5 s up to 10 min; a 2-minute lease.</summary>
    public static DeliverySettings Default { get; } = new(TimeSpan.FromHours(24), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2));

    /// <summary>The delay before the next attempt, given how long delivery has been failing: doubling, within the bounds.</summary>
    public TimeSpan Retry(TimeSpan failingFor) =>
        TimeSpan.FromTicks(Math.Clamp(failingFor.Ticks, RetryMin.Ticks, RetryMax.Ticks));
}

/// <summary>
/// Records changes as Subscription events and delivers them. A change (the <c>notify-subscribers</c> work saved with it)
/// becomes one numbered event of each live Subscription whose filter matches the requesting organization. A worker then
/// leases each due Subscription and sends, in order: the handshake while it is requested, then its undelivered events
/// one notification each, or a heartbeat when nothing happened for its period. A failed send keeps the event and retries
/// with a doubling delay; after <see cref="DeliverySettings.ErrorAfter"/> of failures the Subscription goes to error.
/// </summary>
public sealed class NotificationDelivery(ISubscriptionStore store, IAuthorizationStore authorizations, ResourceInteractions fhir,
    PasSubscriptions subscriptions, IRestHook hook, DeliverySettings settings, TimeProvider clock)
{
    private const int EventsPerPass = 50;

    /// <summary>Records the change of authorization <paramref name="number"/> (identified by <paramref name="source"/>) for every matching Subscription.</summary>
    public async Task RecordAsync(string number, string source, DateTimeOffset now, CancellationToken ct)
    {
        if (await authorizations.ReadAsync(number, ct) is not { } authorization)
        {
            return;
        }
        foreach (var subscription in (await store.LiveAsync(ct)).Where(s => s.Matches(authorization.Providers)))
        {
            await store.AddEventAsync(subscription.Id, source, number, $"ClaimResponse/{authorization.ClaimResponseId}", now, ct);
        }
    }

    /// <summary>Leases the Subscriptions due now and delivers what each has waiting; returns how many it leased.</summary>
    public async Task<int> RunOnceAsync(string owner, int max, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Not cancelled, as the follow-up worker's claim: a lease committed after its caller gave up would go unreleased.
        var due = await store.ClaimAsync(owner, now, now + settings.Lease, max, CancellationToken.None);
        for (var i = 0; i < due.Count; i++)
        {
            var delivery = due[i];
            try
            {
                ct.ThrowIfCancellationRequested();
                await DeliverAsync(delivery, owner, now, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Shutting down: hand back what this worker holds, so another (or the next start) need not wait out the lease.
                foreach (var held in due.Skip(i))
                {
                    await store.ReleaseAsync(held.Id, owner, now, now, held.FailingSince, held.LastError, CancellationToken.None);
                }
                throw;
            }
            catch (Exception e)
            {
                // Recording the outcome itself failed (a concurrent update of the Subscription, a busy database): let the
                // others go on, and try this one again shortly rather than when its lease expires.
                await store.ReleaseAsync(delivery.Id, owner, now, now + settings.RetryMin, delivery.FailingSince ?? now, e.Message, ct);
            }
        }
        return due.Count;
    }

    private async Task DeliverAsync(SubscriptionDelivery delivery, string owner, DateTimeOffset now, CancellationToken ct)
    {
        PasSubscription target;
        try
        {
            var subscription = FhirJson.Parse<Subscription>((await fhir.ReadAsync("Subscription", delivery.Id, ct)).Json.Span);
            // Checked again: the rules may have changed since it was accepted.
            target = PasSubscription.Read(subscription, delivery.Version, AccessScope.All, subscriptions.Rules);
        }
        catch (FhirException e)
        {
            await subscriptions.MarkAsync(delivery, SubscriptionStates.Error, e.Message, DateTimeOffset.MaxValue, ct);
            await store.ReleaseAsync(delivery.Id, owner, now, DateTimeOffset.MaxValue, delivery.FailingSince ?? now, e.Message, ct);
            return;
        }
        try
        {
            if (delivery.Status == SubscriptionStates.Requested)
            {
                await SendAsync(target, Notifications.Bundle(delivery, SubscriptionStates.Requested, "handshake", [], now), ct);
                await subscriptions.MarkAsync(delivery with { FailingSince = null }, SubscriptionStates.Active, null, now, ct);
                await store.ReleaseAsync(delivery.Id, owner, now, now, null, null, ct);
                return;
            }
            var events = await store.EventsAsync(delivery.Id, delivery.Delivered, EventsPerPass, ct);
            foreach (var e in events)
            {
                var response = target.Content == "full-resource" && await authorizations.LatestResponseAsync(e.AuthorizationNumber, ct) is { } json
                    ? FhirJson.Parse<Bundle>(json)
                    : null;
                var focus = Notifications.FocusOf(delivery, e, target.Content, response);
                await SendAsync(target, Notifications.Bundle(delivery with { LastEvent = Math.Max(delivery.LastEvent, e.Number) },
                    SubscriptionStates.Active, "event-notification", [focus], now), ct);
                await store.DeliveredAsync(delivery.Id, e.Number, clock.GetUtcNow(), ct);
            }
            if (events.Count == 0 && target.Heartbeat is not null)
            {
                await SendAsync(target, Notifications.Bundle(delivery, SubscriptionStates.Active, "heartbeat", [], now), ct);
            }
            var idle = target.Heartbeat is { } period ? now + period : DateTimeOffset.MaxValue;
            await store.ReleaseAsync(delivery.Id, owner, now, events.Count == EventsPerPass ? now : idle, null, null, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var failingSince = delivery.FailingSince ?? now;
            if (now - failingSince >= settings.ErrorAfter)
            {
                await subscriptions.MarkAsync(delivery, SubscriptionStates.Error, $"Delivery failing since {failingSince:u}: {e.Message}", DateTimeOffset.MaxValue, ct);
                await store.ReleaseAsync(delivery.Id, owner, now, DateTimeOffset.MaxValue, failingSince, e.Message, ct);
                return;
            }
            await store.ReleaseAsync(delivery.Id, owner, now, now + settings.Retry(now - failingSince), failingSince, e.Message, ct);
        }
    }

    private Task SendAsync(PasSubscription target, Bundle notification, CancellationToken ct) =>
        hook.SendAsync(target, FhirJson.ToBytes(notification), ct);
}
