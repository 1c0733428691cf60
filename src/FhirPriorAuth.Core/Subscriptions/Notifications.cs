using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Subscriptions;

/// <summary>
/// The Backport's notification Bundles: a <c>history</c> Bundle whose first entry is the SubscriptionStatus
/// <c>Parameters</c>, then the focus of each event, every entry with <c>request</c> and <c>response</c>.
/// </summary>
public static class Notifications
{
    /// <summary>An event and what its focus is in the notification: a reference, and the entry it resolves to.</summary>
    /// <param name="Event">The event.</param>
    /// <param name="FocusUrl">The focus reference (an absolute ClaimResponse URL, or the urn of the PAS Response Bundle).</param>
    /// <param name="Resource">The full resource (full-resource content), or null (id-only).</param>
    public sealed record Focus(SubscriptionEvent Event, string FocusUrl, Resource? Resource);

    /// <summary>The SubscriptionStatus of a Subscription (handshake, heartbeat, event-notification or query-status).</summary>
    public static Parameters Status(SubscriptionDelivery delivery, string status, string type, IReadOnlyList<Focus> events)
    {
        var parameters = new Parameters
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { Profile = [Backport.StatusProfile] },
        };
        parameters.Parameter.Add(new() { Name = "subscription", Value = new ResourceReference($"{delivery.BaseUrl}/Subscription/{delivery.Id}") });
        parameters.Parameter.Add(new() { Name = "topic", Value = new Canonical(Backport.PasTopic) });
        parameters.Parameter.Add(new() { Name = "status", Value = new Code(status) });
        parameters.Parameter.Add(new() { Name = "type", Value = new Code(type) });
        // A string because the count is an int64, which R4 has no type for (Backport IG).
        parameters.Parameter.Add(new() { Name = "events-since-subscription-start", Value = new FhirString(delivery.LastEvent.ToString(System.Globalization.CultureInfo.InvariantCulture)) });
        foreach (var focus in events)
        {
            parameters.Parameter.Add(new()
            {
                Name = "notification-event",
                Part =
                [
                    new() { Name = "event-number", Value = new FhirString(focus.Event.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                    new() { Name = "timestamp", Value = new Instant(focus.Event.OccurredAt) },
                    .. focus.FocusUrl.Length == 0 ? [] : new[] { new Parameters.ParameterComponent { Name = "focus", Value = new ResourceReference(focus.FocusUrl) } },
                ],
            });
        }
        return parameters;
    }

    /// <summary>A notification Bundle of the given type, with an entry for each event's focus (none for <c>empty</c> content).</summary>
    public static Bundle Bundle(SubscriptionDelivery delivery, string status, string type, IReadOnlyList<Focus> events, DateTimeOffset now)
    {
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { Profile = [Backport.NotificationProfile] },
            Type = Hl7.Fhir.Model.Bundle.BundleType.History,
            Timestamp = now,
        };
        var statusParameters = Status(delivery, status, type, events);
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = $"urn:uuid:{statusParameters.Id}",
            Resource = statusParameters,
            Request = new Bundle.RequestComponent { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.GET, Url = $"{delivery.BaseUrl}/Subscription/{delivery.Id}/$status" },
            Response = new Bundle.ResponseComponent { Status = "200" },
        });
        foreach (var focus in events.Where(f => f.FocusUrl.Length > 0))
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = focus.FocusUrl,
                Resource = focus.Resource,
                // The PAS Response Bundle is the answer to a $submit; an id-only focus is the ClaimResponse to read.
                Request = focus.Resource is null
                    ? new Bundle.RequestComponent { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.GET, Url = focus.FocusUrl }
                    : new Bundle.RequestComponent { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.POST, Url = $"{delivery.BaseUrl}/Claim/$submit" },
                Response = new Bundle.ResponseComponent { Status = "200" },
            });
        }
        return bundle;
    }

    /// <summary>
    /// The focus of an event as the payload content asks: the PAS Response Bundle (full-resource), the ClaimResponse by
    /// absolute URL (id-only), or none (empty).
    /// </summary>
    public static Focus FocusOf(SubscriptionDelivery delivery, SubscriptionEvent e, string content, Bundle? responseBundle) => content switch
    {
        "full-resource" when responseBundle is not null => new Focus(e, $"urn:uuid:{Guid.NewGuid()}", responseBundle),
        "empty" => new Focus(e, "", null),
        _ => new Focus(e, $"{delivery.BaseUrl}/{e.Focus}", null),
    };
}
