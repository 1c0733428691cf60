namespace FhirPriorAuth.Core.Policy;

/// <summary>X12 306 review action codes (HCR01) as PAS uses them.</summary>
public enum ReviewAction
{
    /// <summary>A1, certified in total.</summary>
    Approved,
    /// <summary>A3, not certified.</summary>
    Denied,
    /// <summary>A4, pended.</summary>
    Pended,
    /// <summary>A6, modified: the authorized version differs from the request.</summary>
    Modified,
    /// <summary>C, cancelled by the requester.</summary>
    Cancelled,
}

/// <summary>Why an item is pended.</summary>
public enum PendReason
{
    /// <summary>Not pended.</summary>
    None,
    /// <summary>Waiting for documents the request did not carry.</summary>
    Documentation,
    /// <summary>Waiting for a clinical reviewer.</summary>
    ClinicalReview,
}

/// <summary>The decision on one item, with the policy, version and rule that produced it and why.</summary>
/// <param name="Sequence">The Claim item sequence.</param>
/// <param name="Action">The review action.</param>
/// <param name="Reason">Why, in plain words.</param>
/// <param name="ReasonCode">X12 886 reason code, for denials and modifications.</param>
/// <param name="PolicyId">The deciding policy, or null when no policy applied.</param>
/// <param name="PolicyVersion">Its version.</param>
/// <param name="RuleId">The deciding rule (or <c>default</c>, or an engine check such as <c>coverage-active</c>).</param>
/// <param name="Pend">Why the item waits, when pended.</param>
/// <param name="DocumentsNeeded">LOINC document types wanted, when pended for documentation.</param>
/// <param name="RequestedQuantity">Units requested.</param>
/// <param name="AuthorizedQuantity">Units authorized, when modified.</param>
/// <param name="NoAuthRequired">True when approved because the service needs no authorization.</param>
/// <param name="RejectReason">X12 901 reject reason when the item could not be processed as sent (a business error, AAA).</param>
/// <param name="ReviewerNpi">The NPI of the clinical reviewer who decided, when a person did.</param>
/// <param name="DocumentsWithinDays">How recent the documents wanted must be, in days, when pended for documentation.</param>
/// <param name="CoverageAssertionId">The CRD coverage assertion the request's order carried, when it carried one of ours.</param>
public sealed record ItemDecision(
    int Sequence,
    ReviewAction Action,
    string Reason,
    string? ReasonCode,
    string? PolicyId,
    string? PolicyVersion,
    string RuleId,
    PendReason Pend = PendReason.None,
    IReadOnlyList<string>? DocumentsNeeded = null,
    decimal? RequestedQuantity = null,
    decimal? AuthorizedQuantity = null,
    bool NoAuthRequired = false,
    string? RejectReason = null,
    string? ReviewerNpi = null,
    int? DocumentsWithinDays = null,
    string? CoverageAssertionId = null)
{
    /// <summary>The X12 306 code.</summary>
    public string X12Code => Action switch
    {
        ReviewAction.Approved => "A1",
        ReviewAction.Denied => "A3",
        ReviewAction.Pended => "A4",
        ReviewAction.Modified => "A6",
        _ => "C",
    };

    /// <summary>The X12 306 display.</summary>
    public string X12Display => Action switch
    {
        ReviewAction.Approved => "Certified in total",
        ReviewAction.Denied => "Not Certified",
        ReviewAction.Pended => "Pended",
        ReviewAction.Modified => "Modified",
        _ => "Cancelled",
    };
}
