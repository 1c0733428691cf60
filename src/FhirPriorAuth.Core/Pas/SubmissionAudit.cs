using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>
/// The AuditEvent of a <c>$submit</c> request, committed in the same transaction as the submission it records: the
/// record of who submitted is durable exactly when the submission is, and a submission costs one commit, not two.
/// </summary>
/// <param name="build">Builds the AuditEvent of a request that succeeded, given the reference of the ClaimResponse it answered.</param>
public sealed class SubmissionAudit(Func<string, AuditEvent> build)
{
    /// <summary>Whether the AuditEvent was committed with a submission (not when the request was a replay or failed).</summary>
    public bool Saved { get; internal set; }

    internal AuditEvent Build(string claimResponseReference) => build(claimResponseReference);
}
