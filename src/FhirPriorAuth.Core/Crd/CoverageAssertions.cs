using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;

namespace FhirPriorAuth.Core.Crd;

/// <summary>
/// What the payer told an EHR about one order under one coverage (a CRD <c>coverage-assertion-id</c>): kept, so that
/// a later <c>$submit</c> carrying the id is linked to it and decided consistently with it.
/// </summary>
/// <param name="Id">The coverage-assertion-id.</param>
/// <param name="Hook">The hook that asked.</param>
/// <param name="HookInstance">The call.</param>
/// <param name="Subject">The order, <c>Type/id</c> on the EHR.</param>
/// <param name="Codes">Its codes, <c>system|code</c>.</param>
/// <param name="Diagnoses">The diagnoses it gave as reasons, <c>system|code</c>.</param>
/// <param name="Quantity">The units ordered, when it says.</param>
/// <param name="Members">The member's identifiers (Coverage subscriber and member ids, Patient identifiers).</param>
/// <param name="Coverage">The coverage it was assessed under (<c>Coverage/id</c> on the EHR), if known.</param>
/// <param name="Decision">The policy decision it reported.</param>
/// <param name="AssertedAt">When.</param>
public sealed record CoverageAssertion(string Id, string Hook, string HookInstance, string Subject, IReadOnlyList<string> Codes,
    IReadOnlyList<string> Diagnoses, decimal? Quantity, IReadOnlyList<IdentifierKey> Members, string? Coverage, ItemDecision Decision,
    DateTimeOffset AssertedAt)
{
    /// <summary>
    /// True when a prior-authorization decision keeps this assertion: the same outcome, or approval of an item the
    /// assertion said needed documentation (the documentation came with the request).
    /// </summary>
    public bool AgreesWith(ItemDecision decided) =>
        (Decision.Action, Decision.Pend, Decision.NoAuthRequired, Decision.AuthorizedQuantity) ==
            (decided.Action, decided.Pend, decided.NoAuthRequired, decided.AuthorizedQuantity)
        || (Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation } && decided.Action == ReviewAction.Approved);
}

/// <summary>Durable coverage assertions.</summary>
public interface ICoverageAssertionStore
{
    /// <summary>Saves the assertions of one hook answer, in one transaction.</summary>
    Task SaveAsync(IReadOnlyList<CoverageAssertion> assertions, CancellationToken ct);

    /// <summary>The assertion with this id, or null.</summary>
    Task<CoverageAssertion?> ReadAsync(string id, CancellationToken ct);
}
