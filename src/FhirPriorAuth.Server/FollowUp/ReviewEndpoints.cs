using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary>
/// <c>POST [base]/Task/{id}/$complete</c>: a clinical reviewer's decision on the item a review Task waits on
/// (OperationDefinition <c>profiles/OperationDefinition-task-complete.json</c>).
/// </summary>
public static class ReviewEndpoints
{
    /// <summary>Canonical URL of the operation's definition.</summary>
    public const string OperationUrl = "urn:fhirpriorauth:OperationDefinition/task-complete";

    /// <summary>Maps the operation on <paramref name="fhir"/>, the REST group of the base at <paramref name="prefix"/>.</summary>
    public static RouteGroupBuilder MapReview(this RouteGroupBuilder fhir, string prefix)
    {
        fhir.MapPost("/Task/{id}/$complete", async (HttpContext http, string id, ReviewDecisions reviews) =>
        {
            var (parameters, _) = await FhirHttp.ReadParametersAsync(http);
            var caller = http.Access().Caller;
            var response = await reviews.DecideAsync(id, Read(parameters), caller.Subject is null ? caller.ClientId : $"{caller.ClientId}/{caller.Subject}",
                FhirHttp.BaseUrl(http, prefix), http.RequestAborted);
            http.Features.Get<AuditDetails>()?.Add($"ClaimResponse/{response.Id}");
            await FhirHttp.WriteResourceAsync(http, response);
        }).Performs(FhirAction.ReviewerDecision, "Task");
        return fhir;
    }

    /// <summary>The decision in the Parameters: <c>decision</c> (approved, denied, modified, or the X12 codes A1, A3, A6),
    /// <c>reason</c>, <c>quantity</c> and <c>reviewerNpi</c>.</summary>
    private static ReviewerDecision Read(Parameters parameters)
    {
        var code = parameters.GetSingleValue<Code>("decision")?.Value ?? parameters.GetSingleValue<FhirString>("decision")?.Value;
        var action = code switch
        {
            "approved" or "A1" => ReviewAction.Approved,
            "denied" or "A3" => ReviewAction.Denied,
            "modified" or "A6" => ReviewAction.Modified,
            null => throw FhirException.BadRequest("The decision is missing.", "Parameters.parameter[decision]", OperationOutcome.IssueType.Required),
            _ => throw FhirException.BadRequest($"Unknown decision '{code}': approved, denied or modified.", "Parameters.parameter[decision]", OperationOutcome.IssueType.CodeInvalid),
        };
        var quantity = parameters.GetSingleValue<Quantity>("quantity")?.Value ?? parameters.GetSingleValue<FhirDecimal>("quantity")?.Value;
        var npi = parameters.GetSingleValue<Identifier>("reviewerNpi")?.Value ?? parameters.GetSingleValue<FhirString>("reviewerNpi")?.Value;
        return new ReviewerDecision(action, parameters.GetSingleValue<FhirString>("reason")?.Value, quantity, npi);
    }
}
