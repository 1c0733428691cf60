using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Subscriptions;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Subscriptions;

/// <summary>
/// The PAS Subscription interactions that do more than store a resource: create, update and delete (which keep the
/// delivery state with it) and <c>$status</c>. Read, search and history are the REST API's, under the same access labels.
/// </summary>
public static class SubscriptionEndpoints
{
    /// <summary>Maps them on <paramref name="fhir"/>, the REST group of the base at <paramref name="prefix"/> serving <paramref name="version"/>.</summary>
    public static RouteGroupBuilder MapSubscriptions(this RouteGroupBuilder fhir, string prefix, PasVersion version)
    {
        fhir.MapPost("/Subscription", async (HttpContext http, PasSubscriptions subscriptions, SubscriptionWorker worker) =>
        {
            var subscription = (Subscription)await FhirHttp.ReadResourceAsync(http, "Subscription");
            var result = await subscriptions.CreateAsync(subscription, version, FhirHttp.BaseUrl(http, prefix), http.Access().Scope, http.RequestAborted);
            worker.Wake();
            await FhirRestEndpoints.WriteWriteResult(http, prefix, result, StatusCodes.Status201Created);
        }).Performs(FhirAction.Create, "Subscription");
        fhir.MapPut("/Subscription/{id}", async (HttpContext http, string id, PasSubscriptions subscriptions, SubscriptionWorker worker) =>
        {
            var subscription = (Subscription)await FhirHttp.ReadResourceAsync(http, "Subscription");
            var result = await subscriptions.UpdateAsync(id, subscription, FhirHttp.IfMatchVersion(http), version, FhirHttp.BaseUrl(http, prefix),
                http.Access().Scope, http.RequestAborted);
            worker.Wake();
            await FhirRestEndpoints.WriteWriteResult(http, prefix, result, StatusCodes.Status200OK);
        }).Performs(FhirAction.Update, "Subscription");
        fhir.MapDelete("/Subscription/{id}", async (HttpContext http, string id, PasSubscriptions subscriptions) =>
        {
            await subscriptions.DeleteAsync(id, http.Access().Scope, http.RequestAborted);
            http.Response.StatusCode = StatusCodes.Status204NoContent;
        }).Performs(FhirAction.Delete, "Subscription");
        fhir.MapGet("/Subscription/{id}/$status", async (HttpContext http, string id, PasSubscriptions subscriptions) =>
            await FhirHttp.WriteResourceAsync(http, await subscriptions.StatusAsync(id, http.Access().Scope, http.RequestAborted)))
            .Performs(FhirAction.Read, "Subscription");
        return fhir;
    }
}
