using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Security;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary><c>POST [base]/$submit-attachment</c>: CDex attachments for a pended prior authorization.</summary>
public static class AttachmentEndpoints
{
    /// <summary>Canonical URL of CDex's OperationDefinition.</summary>
    public const string OperationUrl = "http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment";

    /// <summary>Maps the operation on <paramref name="fhir"/>, the REST group of the base at <paramref name="prefix"/>.</summary>
    public static RouteGroupBuilder MapAttachments(this RouteGroupBuilder fhir, string prefix)
    {
        fhir.MapPost("/$submit-attachment", async (HttpContext http, Attachments attachments) =>
        {
            var (parameters, raw) = await FhirHttp.ReadParametersAsync(http);
            var access = http.Access();
            var outcome = await attachments.SubmitAsync(AttachmentSubmission.Read(parameters), raw, access.Scope, access.Caller.ClientId,
                FhirHttp.BaseUrl(http, prefix), http.RequestAborted);
            await FhirHttp.WriteResourceAsync(http, outcome);
        }).Performs(FhirAction.SubmitAttachment, "DocumentReference");
        return fhir;
    }
}
