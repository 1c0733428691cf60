using System.Text.Json;
using System.Text.Json.Serialization;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Security;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary>
/// <c>GET [base]/$decision-record?authorization=&lt;number&gt;</c>: the whole path of one prior authorization and whether its
/// decision clock was met, as plain JSON (an operational report for the payer, not a FHIR resource).
/// </summary>
public static class DecisionRecordEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>Maps the report on <paramref name="fhir"/>.</summary>
    public static RouteGroupBuilder MapDecisionRecord(this RouteGroupBuilder fhir)
    {
        fhir.MapGet("/$decision-record", async (HttpContext http, DecisionRecords records) =>
        {
            var number = http.Request.Query["authorization"].ToString();
            if (string.IsNullOrWhiteSpace(number))
            {
                throw FhirException.BadRequest("Name the prior authorization: ?authorization=<authorization number>.", "authorization",
                    Hl7.Fhir.Model.OperationOutcome.IssueType.Required);
            }
            var record = await records.ReadAsync(number, http.RequestAborted);
            await http.Response.WriteAsJsonAsync(record, Json, http.RequestAborted);
        }).Performs(FhirAction.DecisionRecord);
        return fhir;
    }
}
