using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Server.Fhir;

namespace FhirPriorAuth.Server.Pas;

/// <summary>The PAS operations <c>Claim/$submit</c> and <c>Claim/$inquire</c> on a FHIR base of one PAS version.</summary>
public static class PasEndpoints
{
    /// <summary>Maps the operations on <paramref name="fhir"/>, the REST group of the base at <paramref name="prefix"/>.</summary>
    public static RouteGroupBuilder MapPas(this RouteGroupBuilder fhir, string prefix, PasVersion version)
    {
        fhir.MapPost("/Claim/$submit", async (HttpContext http, PriorAuthorizationService pas) =>
        {
            var raw = await FhirHttp.ReadJsonBodyAsync(http);
            var body = FhirJson.ParseIgnoringUnknownElements(raw);
            var response = await pas.SubmitAsync(body, raw, version, FhirHttp.BaseUrl(http, prefix), http.RequestAborted);
            await FhirHttp.WriteJsonAsync(http, response);
        });
        fhir.MapPost("/Claim/$inquire", async (HttpContext http, PriorAuthorizationService pas) =>
        {
            var body = FhirJson.ParseIgnoringUnknownElements(await FhirHttp.ReadJsonBodyAsync(http));
            await FhirHttp.WriteResourceAsync(http, await pas.InquireAsync(body, version, http.RequestAborted));
        });
        return fhir;
    }

    /// <summary>The OperationDefinitions this feature serves, per PAS version (2.2.1 canonicals carry the version).</summary>
    public static IEnumerable<FhirOperationRegistration> Operations() =>
        Enum.GetValues<PasVersion>().SelectMany(v =>
        {
            var suffix = v == PasVersion.V2_2_1 ? "|" + v.Label() : "";
            return new[]
            {
                new FhirOperationRegistration("Claim", "submit", PasUrls.SubmitOperation + suffix, v),
                new FhirOperationRegistration("Claim", "inquire", PasUrls.InquireOperation + suffix, v),
            };
        });
}
