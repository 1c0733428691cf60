using System.Text.Json;
using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Server.Fhir;

namespace FhirPriorAuth.Server.Crd;

/// <summary>
/// CDS Hooks 2.0 for CRD at <c>/cds-services</c>: discovery, one service per hook, and feedback. Plain JSON, not FHIR;
/// errors are OperationOutcomes (400 not JSON, 422 not a valid call, 412 data unobtainable), as CRD asks.
/// </summary>
public static class CrdEndpoints
{
    /// <summary>The CORS policy of the CDS Hooks endpoints: EHR apps call them from browsers.</summary>
    public const string CorsPolicy = "cds-hooks";

    /// <summary>Maps discovery, the services and feedback.</summary>
    public static IEndpointRouteBuilder MapCrd(this IEndpointRouteBuilder app)
    {
        var cds = app.MapGroup("/cds-services").RequireCors(CorsPolicy);
        cds.MapGet("/", () => Results.Json(new { services = CrdHooks.Services }, CdsJson.Options));
        cds.MapPost("/{id}", async (HttpContext http, string id, CoverageRequirements requirements) =>
        {
            var service = Find(id);
            var request = HookRequest.Read(await FhirHttp.ReadJsonBodyAsync(http), service);
            var response = await requirements.AnswerAsync(request, http.RequestAborted);
            return Results.Json(response, CdsJson.Options);
        });
        cds.MapPost("/{id}/feedback", async (HttpContext http, string id, CrdFeedback feedback) =>
        {
            var service = Find(id);
            var body = await FhirHttp.ReadJsonBodyAsync(http);
            await feedback.RecordAsync(service, body, http.RequestAborted);
            return Results.Ok();
        });
        return app;
    }

    private static CdsService Find(string id) =>
        CrdHooks.Find(id) ?? throw FhirException.NotFound($"There is no CDS service '{id}'; GET /cds-services lists them.");
}
