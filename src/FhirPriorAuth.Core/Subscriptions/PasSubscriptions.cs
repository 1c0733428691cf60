using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Subscriptions;

/// <summary>
/// Creating, changing and deleting PAS Subscriptions, and their <c>$status</c>. Each write stores the resource and its
/// delivery state together. A created or changed Subscription is <c>requested</c> until its handshake succeeds; the
/// status and error a client sends are the server's to set and are replaced. Reads and searches are the REST API's.
/// </summary>
public sealed class PasSubscriptions(ISubscriptionStore store, ResourceInteractions fhir, EndpointRules rules)
{
    private const string Type = "Subscription";

    /// <summary>The rules endpoints are checked against.</summary>
    public EndpointRules Rules => rules;

    /// <summary>Creates a Subscription on the base <paramref name="baseUrl"/>; it belongs to the caller's organization.</summary>
    public async Task<WriteResult> CreateAsync(Subscription subscription, PasVersion version, string baseUrl, AccessScope access, CancellationToken ct)
    {
        var read = PasSubscription.Read(subscription, version, access, rules);
        var id = ResourceInteractions.NewId();
        Reset(subscription);
        var write = fhir.PrepareWrite(subscription, id, 1, 0, null, access.LabelsForWrites);
        return await store.SaveAsync(write, new SubscriptionDelivery(id, SubscriptionStates.Requested, read.Filters, baseUrl, version, 0, 0, fhir.Now()), ct);
    }

    /// <summary>
    /// Replaces a Subscription the caller can see (its endpoint, headers, filter…). It becomes <c>requested</c> again and
    /// gets a new handshake; a Subscription in <c>error</c> recovers this way, and keeps its undelivered events.
    /// </summary>
    public async Task<WriteResult> UpdateAsync(string id, Subscription subscription, int? ifMatch, PasVersion version, string baseUrl,
        AccessScope access, CancellationToken ct)
    {
        if (subscription.Id != id)
        {
            throw FhirException.BadRequest($"The body's id '{subscription.Id}' does not match the URL's id '{id}'.", "Subscription.id");
        }
        var current = await fhir.ReadAsync(Type, id, ct, access);
        if (ifMatch is { } expected && expected != current.Version)
        {
            throw FhirException.PreconditionFailed($"If-Match names version {expected} of Subscription/{id}, but version {current.Version} is current.");
        }
        var read = PasSubscription.Read(subscription, version, access, rules);
        Reset(subscription);
        var write = fhir.PrepareWrite(subscription, id, current.Version + 1, current.Version, null, AccessLabels.Read(current.Json.Span));
        var result = await SaveAsync(write, new SubscriptionDelivery(id, SubscriptionStates.Requested, read.Filters, baseUrl, version, 0, 0, fhir.Now()), ct);
        return result with { Created = false };
    }

    /// <summary>Deletes a Subscription the caller can see: it is off at once. Deleting what is absent or not visible does nothing.</summary>
    public async Task DeleteAsync(string id, AccessScope access, CancellationToken ct)
    {
        ResourceInteractions.RequireId(id);
        StoredResource current;
        try
        {
            current = await fhir.ReadAsync(Type, id, ct, access);
        }
        catch (FhirException e) when (e.Status is 404 or 410)
        {
            return;
        }
        var delivery = await store.ReadAsync(id, ct);
        var deletion = new ResourceWrite(Type, id, current.Version + 1, fhir.Now(), null, [], current.Version);
        await SaveAsync(deletion, new SubscriptionDelivery(id, SubscriptionStates.Off, delivery?.Filters ?? [], delivery?.BaseUrl ?? "",
            delivery?.Version ?? PasVersion.V2_2_1, 0, 0, DateTimeOffset.MaxValue), ct);
    }

    /// <summary>The SubscriptionStatus of a Subscription the caller can see (<c>$status</c>), with its event count.</summary>
    public async Task<Parameters> StatusAsync(string id, AccessScope access, CancellationToken ct)
    {
        var subscription = FhirJson.Parse<Subscription>((await fhir.ReadAsync(Type, id, ct, access)).Json.Span);
        var delivery = await store.ReadAsync(id, ct) ?? throw FhirException.NotFound($"Subscription/{id} is not known.");
        var status = Notifications.Status(delivery, subscription.Status?.ToString().ToLowerInvariant() ?? delivery.Status, "query-status", []);
        if (delivery.LastError is { } error)
        {
            status.Parameter.Add(new Parameters.ParameterComponent { Name = "error", Value = new CodeableConcept { Text = error } });
        }
        return status;
    }

    /// <summary>
    /// The delivery worker moves a Subscription to <paramref name="status"/> (active after its handshake, error when
    /// delivery kept failing): a new version of the resource, with the delivery state, in one transaction.
    /// </summary>
    public async Task MarkAsync(SubscriptionDelivery delivery, string status, string? error, DateTimeOffset due, CancellationToken ct)
    {
        StoredResource current;
        try
        {
            current = await fhir.ReadAsync(Type, delivery.Id, ct);
        }
        catch (FhirException e) when (e.Status is 404 or 410)
        {
            return; // deleted meanwhile: its delivery state is off already
        }
        var subscription = FhirJson.Parse<Subscription>(current.Json.Span);
        var labels = AccessLabels.Strip(subscription);
        subscription.Status = status == SubscriptionStates.Active ? Subscription.SubscriptionStatus.Active : Subscription.SubscriptionStatus.Error;
        subscription.Error = error;
        var write = fhir.PrepareWrite(subscription, delivery.Id, current.Version + 1, current.Version, null, labels);
        await store.SaveAsync(write, delivery with { Status = status, Due = due, LastError = error }, ct);
    }

    private async Task<WriteResult> SaveAsync(ResourceWrite write, SubscriptionDelivery delivery, CancellationToken ct)
    {
        try
        {
            return await store.SaveAsync(write, delivery, ct);
        }
        catch (VersionConflictException e)
        {
            throw FhirException.Conflict($"Subscription/{write.Id} was changed concurrently (version {e.ActualVersion}); retry.");
        }
    }

    private static void Reset(Subscription subscription)
    {
        subscription.Status = Subscription.SubscriptionStatus.Requested;
        subscription.Error = null;
    }
}
