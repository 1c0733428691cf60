using System.Text.Json;
using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Security;

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
        cds.MapGet("/", () => Results.Json(new { services = CrdHooks.Services }, CdsJson.Options))
            .AddEndpointFilter((context, next) => Authenticated(context, next, discovery: true));
        cds.MapPost("/{id}", async (HttpContext http, string id, CoverageRequirements requirements) =>
        {
            var service = Find(id);
            var request = HookRequest.Read(await FhirHttp.ReadJsonBodyAsync(http), service);
            var response = await requirements.AnswerAsync(request, http.RequestAborted);
            return Results.Json(response, CdsJson.Options);
        }).AddEndpointFilter((context, next) => Authenticated(context, next, discovery: false)).WithMetadata(new AuditedAs("cds-hook"));
        cds.MapPost("/{id}/feedback", async (HttpContext http, string id, CrdFeedback feedback) =>
        {
            var service = Find(id);
            var body = await FhirHttp.ReadJsonBodyAsync(http);
            await feedback.RecordAsync(service, body, http.RequestAborted);
            return Results.Ok();
        }).AddEndpointFilter((context, next) => Authenticated(context, next, discovery: false));
        return app;
    }

    /// <summary>Runs the CDS Hooks JWT check when configuration asks for it (never in the loopback-only no-token mode).</summary>
    private static async ValueTask<object?> Authenticated(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool discovery)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<CrdOptions>();
        var security = http.RequestServices.GetRequiredService<SecurityOptions>();
        if (security.Mode != SecurityOptions.NoneMode && options.RequireAuthentication && (!discovery || options.DiscoveryRequiresAuthentication))
        {
            var issuer = await http.RequestServices.GetRequiredService<CdsClientAuthentication>().AuthenticateAsync(http);
            http.Features.Get<AuditDetails>()?.SetClient(issuer);
        }
        return await next(context);
    }

    private static CdsService Find(string id) =>
        CrdHooks.Find(id) ?? throw FhirException.NotFound($"There is no CDS service '{id}'; GET /cds-services lists them.");
}
