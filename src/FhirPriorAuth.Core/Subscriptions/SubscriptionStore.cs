using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Storage;

namespace FhirPriorAuth.Core.Subscriptions;

/// <summary>The <c>Subscription.status</c> codes the server moves a Subscription through, and <c>off</c> once deleted.</summary>
public static class SubscriptionStates
{
    /// <summary>Created or changed; waiting for its handshake to succeed.</summary>
    public const string Requested = "requested";

    /// <summary>Notifications are delivered.</summary>
    public const string Active = "active";

    /// <summary>Delivery kept failing; nothing is sent until the Subscription is updated. Events are still recorded.</summary>
    public const string Error = "error";

    /// <summary>Deleted: not notified of anything.</summary>
    public const string Off = "off";
}

/// <summary>What delivering one Subscription's notifications needs, kept beside the resource.</summary>
/// <param name="Id">The Subscription's id.</param>
/// <param name="Status">Its status (<see cref="SubscriptionStates"/>).</param>
/// <param name="Filters">The organization identifiers (<c>value</c> or <c>system|value</c>) it is notified for; <c>*</c> for all.</param>
/// <param name="BaseUrl">The FHIR base it was created on.</param>
/// <param name="Version">The PAS version of that base.</param>
/// <param name="LastEvent">Events since the Subscription started.</param>
/// <param name="Delivered">The highest event number delivered.</param>
/// <param name="Due">When there is next something to send (a handshake, events, a heartbeat).</param>
/// <param name="FailingSince">The first failed attempt since the last success, if delivery is failing.</param>
/// <param name="LastError">Why the last attempt failed.</param>
public sealed record SubscriptionDelivery(string Id, string Status, IReadOnlyList<string> Filters, string BaseUrl, PasVersion Version,
    long LastEvent, long Delivered, DateTimeOffset Due, DateTimeOffset? FailingSince = null, string? LastError = null)
{
    /// <summary>The organization filter that matches every authorization.</summary>
    public const string Everyone = "*";

    /// <summary>True when an authorization requested by an organization with these identifiers is of interest to it.</summary>
    public bool Matches(IEnumerable<IdentifierKey> organization) =>
        Filters.Contains(Everyone) || organization.Any(i => Filters.Contains(i.Value) || Filters.Contains(i.ToString()));
}

/// <summary>One change a Subscription is to be notified of.</summary>
/// <param name="Number">Its event number, from 1 per Subscription.</param>
/// <param name="AuthorizationNumber">The authorization whose ClaimResponse changed.</param>
/// <param name="Focus">The ClaimResponse, <c>ClaimResponse/id</c>.</param>
/// <param name="OccurredAt">When the change was recorded for the Subscription.</param>
public sealed record SubscriptionEvent(long Number, string AuthorizationNumber, string Focus, DateTimeOffset OccurredAt);

/// <summary>A Subscription event of one authorization, for its decision record.</summary>
/// <param name="Subscription">The Subscription, <c>Subscription/id</c>.</param>
/// <param name="EventNumber">The event's number for it.</param>
/// <param name="RecordedAt">When the change was recorded for it.</param>
/// <param name="DeliveredAt">When its notification was accepted by the receiver; null while it is not.</param>
public sealed record NotificationRecord(string Subscription, long EventNumber, DateTimeOffset RecordedAt, DateTimeOffset? DeliveredAt);

/// <summary>
/// Durable state of Subscription delivery: the resource and its delivery row are written together, events are
/// numbered per Subscription as they are recorded, and a lease keeps one worker (on any replica) per Subscription.
/// </summary>
public interface ISubscriptionStore
{
    /// <summary>
    /// Writes a version of the Subscription and its delivery state (status, filters, base, due time, error) in one
    /// transaction; the event counters and any lease are kept.
    /// </summary>
    Task<WriteResult> SaveAsync(ResourceWrite subscription, SubscriptionDelivery delivery, CancellationToken ct);

    /// <summary>The delivery state of one Subscription, or null.</summary>
    Task<SubscriptionDelivery?> ReadAsync(string id, CancellationToken ct);

    /// <summary>Every Subscription that is not off, for matching a change against their filters.</summary>
    Task<IReadOnlyList<SubscriptionDelivery>> LiveAsync(CancellationToken ct);

    /// <summary>
    /// Records the next event of a Subscription for <paramref name="source"/>, once: false when that change was already
    /// recorded for it or the Subscription is off. Makes the Subscription due at <paramref name="now"/>.
    /// </summary>
    Task<bool> AddEventAsync(string id, string source, string authorizationNumber, string focus, DateTimeOffset now, CancellationToken ct);

    /// <summary>Claims up to <paramref name="max"/> requested or active Subscriptions that are due, for <paramref name="owner"/>.</summary>
    Task<IReadOnlyList<SubscriptionDelivery>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken ct);

    /// <summary>The Subscription's events after <paramref name="after"/>, in order.</summary>
    Task<IReadOnlyList<SubscriptionEvent>> EventsAsync(string id, long after, int max, CancellationToken ct);

    /// <summary>The events recorded for an authorization's changes, oldest first.</summary>
    Task<IReadOnlyList<NotificationRecord>> NotificationsAsync(string authorizationNumber, CancellationToken ct);

    /// <summary>Marks an event delivered (and every earlier one), clearing the failure state.</summary>
    Task DeliveredAsync(string id, long number, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Gives up the lease. The Subscription is due again at once when events arrived meanwhile, otherwise at
    /// <paramref name="due"/>; a failure is kept with the time it started.
    /// </summary>
    Task ReleaseAsync(string id, string owner, DateTimeOffset now, DateTimeOffset due, DateTimeOffset? failingSince, string? error, CancellationToken ct);
}
