using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Security;

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
            var details = http.Features.Get<AuditDetails>();
            var audit = details?.ForSubmission();
            var response = await pas.SubmitAsync(raw, version, FhirHttp.BaseUrl(http, prefix), http.RequestAborted, http.Access().Scope, audit);
            if (ClaimResponseId(response) is { } id)
            {
                details?.Add($"ClaimResponse/{id}"); // for the AuditEvent of a replay, which the trail writes
            }
            await FhirHttp.WriteJsonAsync(http, response);
        }).Performs(FhirAction.Submit, "Claim");
        fhir.MapPost("/Claim/$inquire", async (HttpContext http, PriorAuthorizationService pas) =>
        {
            var raw = await FhirHttp.ReadJsonBodyAsync(http);
            await FhirHttp.WriteJsonAsync(http, await pas.InquireAsync(raw, version, http.RequestAborted, http.Access().Scope));
        }).Performs(FhirAction.Inquire, "Claim");
        return fhir;
    }

    /// <summary>The id of the ClaimResponse, the first entry of a PAS Response Bundle, for the audit record.</summary>
    /// <remarks>Reads only as far as that id, not the whole Bundle.</remarks>
    private static string? ClaimResponseId(byte[] responseBundle)
    {
        var reader = new Utf8JsonReader(responseBundle);
        return reader.Read() && reader.TokenType == JsonTokenType.StartObject && Enter(ref reader, "entry"u8)
            && reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.StartObject
            && Enter(ref reader, "resource"u8) && reader.TokenType == JsonTokenType.StartObject && Enter(ref reader, "id"u8)
            && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

        // Moves to the value of the object's property, skipping the ones before it.
        static bool Enter(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var found = reader.ValueTextEquals(name);
                if (!reader.Read())
                {
                    return false;
                }
                if (found)
                {
                    return true;
                }
                reader.Skip();
            }
            return false;
        }
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
