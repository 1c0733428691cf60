using System.Net;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Subscriptions;

/// <summary>Canonical URLs of the Subscriptions R5 Backport on R4 and the PAS topic.</summary>
public static class Backport
{
    /// <summary>The one topic PAS defines: a ClaimResponse result is available.</summary>
    public const string PasTopic = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic";

    private const string StructureDefinition = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

    /// <summary>Filter criteria on <c>Subscription.criteria</c>.</summary>
    public const string FilterCriteria = StructureDefinition + "backport-filter-criteria";

    /// <summary>Payload content (<c>empty</c>, <c>id-only</c>, <c>full-resource</c>) on <c>Subscription.channel.payload</c>.</summary>
    public const string PayloadContent = StructureDefinition + "backport-payload-content";

    /// <summary>Seconds between heartbeats, on <c>Subscription.channel</c>.</summary>
    public const string HeartbeatPeriod = StructureDefinition + "backport-heartbeat-period";

    /// <summary>The CapabilityStatement extension naming a topic the server supports.</summary>
    public const string TopicCanonical = StructureDefinition + "capabilitystatement-subscriptiontopic-canonical";

    /// <summary>The Backport's <c>$status</c> operation.</summary>
    public const string StatusOperation = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status";

    /// <summary>The SubscriptionStatus Parameters profile.</summary>
    public const string StatusProfile = StructureDefinition + "backport-subscription-status-r4";

    /// <summary>The notification Bundle profile.</summary>
    public const string NotificationProfile = StructureDefinition + "backport-subscription-notification-r4";
}

/// <summary>Where notifications may be sent: a Subscription must not make the server call internal services.</summary>
/// <param name="AllowedHosts">Host names endpoints may use; empty allows any host over an allowed scheme.</param>
/// <param name="AllowedSchemes">URL schemes allowed for any allowed host (https unless configured).</param>
/// <param name="HttpOnLoopback">Also allows http to localhost and loopback addresses (development, conformance tools).</param>
public sealed record EndpointRules(IReadOnlyList<string> AllowedHosts, IReadOnlyList<string> AllowedSchemes, bool HttpOnLoopback = true)
{
    /// <summary>https to any host, and http on loopback.</summary>
    public static EndpointRules Default { get; } = new([], ["https"]);

    /// <summary>Why the endpoint is refused, or null when notifications may be sent to it.</summary>
    public string? Refuse(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"'{endpoint}' is not an absolute http or https URL.";
        }
        var loopback = uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        if (HttpOnLoopback && loopback && uri.Scheme == "http")
        {
            return null;
        }
        if (!AllowedSchemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase))
        {
            return $"Notifications are sent over {string.Join(" or ", AllowedSchemes)} only{(HttpOnLoopback ? " (http on loopback)" : "")}; '{endpoint}' is not allowed.";
        }
        if (AllowedHosts.Count > 0 && !AllowedHosts.Contains(uri.Host, StringComparer.OrdinalIgnoreCase))
        {
            return $"The host '{uri.Host}' is not among the hosts this server sends notifications to.";
        }
        return null;
    }
}

/// <summary>What the server needs from a PAS Subscription, read and checked once when it is created or changed.</summary>
/// <param name="Endpoint">The rest-hook endpoint.</param>
/// <param name="Headers">Headers to send verbatim with every notification (<c>Name: value</c>).</param>
/// <param name="ContentType">The MIME type of notifications.</param>
/// <param name="Content"><c>empty</c>, <c>id-only</c> or <c>full-resource</c>.</param>
/// <param name="Filters">Organization identifiers it is notified for (<see cref="SubscriptionDelivery.Filters"/>).</param>
/// <param name="Heartbeat">The heartbeat period, if one is asked for.</param>
public sealed record PasSubscription(string Endpoint, IReadOnlyList<string> Headers, string ContentType, string Content,
    IReadOnlyList<string> Filters, TimeSpan? Heartbeat)
{
    private static readonly string[] OrganizationFilters = ["org-identifier", "orgIdentifier", "identifier"];

    /// <summary>
    /// Reads and checks a Subscription sent to a PAS base: a 400 for another topic or channel, a missing or unusable
    /// filter, an unknown payload content or MIME type, or an endpoint the rules refuse; a 403 when a caller bound to an
    /// organization filters on identifiers that are not its own (a Subscription is notified of its owner's authorizations only).
    /// </summary>
    public static PasSubscription Read(Subscription subscription, PasVersion version, AccessScope access, EndpointRules rules)
    {
        if (subscription.Criteria != Backport.PasTopic)
        {
            throw FhirException.BadRequest($"Subscription.criteria must be the PAS topic {Backport.PasTopic}; '{subscription.Criteria}' is not served here.",
                "Subscription.criteria", OperationOutcome.IssueType.NotSupported);
        }
        var channel = subscription.Channel ?? throw FhirException.BadRequest("Subscription.channel is required.", "Subscription.channel",
            OperationOutcome.IssueType.Required);
        if (channel.Type != Subscription.SubscriptionChannelType.RestHook)
        {
            throw FhirException.BadRequest($"Only the rest-hook channel is supported; channel.type is '{channel.TypeElement?.JsonValue}'.",
                "Subscription.channel.type", OperationOutcome.IssueType.NotSupported);
        }
        if (string.IsNullOrWhiteSpace(channel.Endpoint))
        {
            throw FhirException.BadRequest("A rest-hook Subscription needs channel.endpoint.", "Subscription.channel.endpoint", OperationOutcome.IssueType.Required);
        }
        if (rules.Refuse(channel.Endpoint) is { } refused)
        {
            throw FhirException.BadRequest(refused, "Subscription.channel.endpoint", OperationOutcome.IssueType.Security);
        }
        var contentType = channel.Payload ?? "application/fhir+json";
        if (contentType.Split(';')[0].Trim() is not ("application/fhir+json" or "application/json"))
        {
            throw FhirException.BadRequest($"Notifications are sent as application/fhir+json; channel.payload '{contentType}' is not supported.",
                "Subscription.channel.payload", OperationOutcome.IssueType.NotSupported);
        }
        var content = (channel.PayloadElement?.GetExtensionValue<Code>(Backport.PayloadContent))?.Value
            ?? (version == PasVersion.V2_0_1 ? "id-only" : "full-resource");
        if (content is not ("empty" or "id-only" or "full-resource"))
        {
            throw FhirException.BadRequest($"Payload content '{content}' is not one of empty, id-only, full-resource.",
                "Subscription.channel.payload.extension", OperationOutcome.IssueType.CodeInvalid);
        }
        var headers = channel.Header.OfType<string>().ToList();
        if (headers.FirstOrDefault(h => h.IndexOf(':', StringComparison.Ordinal) <= 0) is { } header)
        {
            throw FhirException.BadRequest($"channel.header '{header}' is not 'Name: value'.", "Subscription.channel.header");
        }
        var heartbeat = channel.GetExtensionValue<UnsignedInt>(Backport.HeartbeatPeriod)?.Value is { } seconds and > 0
            ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        return new PasSubscription(channel.Endpoint, headers, contentType, content, OrganizationFilter(subscription, version, access), heartbeat);
    }

    /// <summary>
    /// The organization identifiers of the filter criteria: <c>org-identifier=</c> (PAS 2.1+), <c>orgIdentifier=</c> (the
    /// topic's name) or <c>identifier=</c> (2.0.1), comma-separated values, each <c>value</c> or <c>system|value</c>.
    /// A 2.0.1 Subscription may filter on something else (Inferno's input uses <c>Encounter.patient=</c>): it is accepted
    /// and notified of every authorization of its owner.
    /// </summary>
    private static List<string> OrganizationFilter(Subscription subscription, PasVersion version, AccessScope access)
    {
        var criteria = subscription.CriteriaElement?.Extension.Where(e => e.Url == Backport.FilterCriteria)
            .Select(e => (e.Value as FhirString)?.Value).OfType<string>().Where(v => v.Length > 0).ToList() ?? [];
        if (criteria.Count == 0)
        {
            throw FhirException.BadRequest($"A PAS Subscription filters on the requesting organization: add a {Backport.FilterCriteria} extension to criteria with 'org-identifier=<id>'.",
                "Subscription.criteria.extension", OperationOutcome.IssueType.Required);
        }
        var values = new List<string>();
        var other = false;
        foreach (var part in criteria.SelectMany(c => c.Split('&', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? part[..equals].Trim() : "";
            if (OrganizationFilters.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                values.AddRange(part[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else
            {
                other = true;
            }
        }
        if (values.Count == 0 && (version != PasVersion.V2_0_1 || !other))
        {
            throw FhirException.BadRequest($"The filter criteria '{string.Join("&", criteria)}' name no organization: use 'org-identifier=<id>' (several separated by commas).",
                "Subscription.criteria.extension", OperationOutcome.IssueType.Value);
        }
        if (access.Unrestricted)
        {
            return values.Count > 0 ? values : [SubscriptionDelivery.Everyone];
        }
        var own = access.Organization.SelectMany(i => new[] { i.Value, i.ToString() }).ToHashSet(StringComparer.Ordinal);
        if (own.Count == 0)
        {
            throw FhirException.Forbidden("Only a client bound to a requesting organization (or a payer admin) can subscribe to PAS results.");
        }
        if (values.FirstOrDefault(v => !own.Contains(v)) is { } foreign)
        {
            throw FhirException.Forbidden($"The filter names '{foreign}', which is not an identifier of the caller's organization; a Subscription is notified of its own organization's authorizations only.");
        }
        return values.Count > 0 ? values : access.Organization.Select(i => i.ToString()).ToList();
    }
}
