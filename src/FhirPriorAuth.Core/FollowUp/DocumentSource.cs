using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>What to look for in a requesting organization's EHR.</summary>
/// <param name="Providers">The requesting provider's identifiers (which EHR to ask).</param>
/// <param name="Members">The member's identifiers (to find the EHR's patient).</param>
/// <param name="Loinc">Document types wanted; any one will do.</param>
/// <param name="Since">The oldest document date that counts.</param>
public sealed record DocumentQuery(IReadOnlyList<IdentifierKey> Providers, IReadOnlyList<IdentifierKey> Members, IReadOnlyList<string> Loinc,
    DateTimeOffset Since)
{
    /// <summary>The query for the items of <paramref name="authorization"/> still pended for documentation, or null when none is.</summary>
    public static DocumentQuery? For(AuthorizationRecord authorization, IEnumerable<ItemDecision> decisions, DateTimeOffset now)
    {
        var waiting = decisions.Where(d => d is { Action: ReviewAction.Pended, Pend: PendReason.Documentation }).ToList();
        if (waiting.Count == 0 || authorization.Members.Count == 0)
        {
            return null;
        }
        var days = waiting.Max(d => d.DocumentsWithinDays ?? DefaultWindowDays);
        return new DocumentQuery(authorization.Providers, authorization.Members,
            waiting.SelectMany(d => d.DocumentsNeeded ?? []).Distinct(StringComparer.Ordinal).ToList(), now.AddDays(-days));
    }

    /// <summary>The window when the policy names none.</summary>
    public const int DefaultWindowDays = 90;
}

/// <summary>What an EHR answered.</summary>
/// <param name="Ehr">The EHR's FHIR base URL.</param>
/// <param name="Documents">The documents found (as the EHR serves them).</param>
/// <param name="Queries">The searches made, as URLs, for the record.</param>
public sealed record DocumentSearch(string Ehr, IReadOnlyList<DocumentReference> Documents, IReadOnlyList<string> Queries);

/// <summary>
/// The EHRs of requesting organizations, searched for documents a request did not carry (CDex direct query).
/// Implementations throw when the EHR cannot be asked or fails; the caller pends and retries.
/// </summary>
public interface IDocumentSource
{
    /// <summary>True when an EHR is configured for one of <paramref name="providers"/>.</summary>
    bool Serves(IReadOnlyList<IdentifierKey> providers);

    /// <summary>Searches the EHR of the query's provider.</summary>
    Task<DocumentSearch> FindAsync(DocumentQuery query, CancellationToken ct);
}
