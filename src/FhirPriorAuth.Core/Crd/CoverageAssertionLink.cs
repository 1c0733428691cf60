using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Crd;

/// <summary>
/// Links a prior-authorization request to what CRD told the EHR about its orders. An order that comes back with the
/// coverage-information extension the server added carries its <c>coverage-assertion-id</c>; the item's decision then
/// names the assertion. When the request is the one assessed (same codes, diagnoses, units and member) and the
/// decision would differ (the policy changed since), the assertion stands: what the payer told the clinician at order
/// time is what it decides.
/// </summary>
public sealed class CoverageAssertionLink(ICoverageAssertionStore store)
{
    private const string RequestedService = "/extension-requestedService";

    /// <summary>The decisions, linked to the assertions their items' orders carry.</summary>
    public async Task<IReadOnlyList<ItemDecision>> ApplyAsync(PolicyRequest request, IReadOnlyList<IdentifierKey> members,
        IReadOnlyList<ItemDecision> decisions, CancellationToken ct)
    {
        var linked = new List<ItemDecision>(decisions.Count);
        foreach (var decision in decisions)
        {
            var item = request.Claim.Item.FirstOrDefault(i => i.Sequence == decision.Sequence);
            var assertion = item is null ? null : await FindAsync(request, item, ct);
            if (assertion is null)
            {
                linked.Add(decision);
                continue;
            }
            var unchanged = SameRequest(assertion, request, item!, members);
            linked.Add(assertion.AgreesWith(decision) || !unchanged
                ? decision with { CoverageAssertionId = assertion.Id }
                : assertion.Decision with
                {
                    Sequence = decision.Sequence,
                    RequestedQuantity = decision.RequestedQuantity,
                    Reason = $"As the payer told the ordering clinician on {assertion.AssertedAt:yyyy-MM-dd} (coverage assertion {assertion.Id}): {assertion.Decision.Reason}",
                    CoverageAssertionId = assertion.Id,
                });
        }
        return linked;
    }

    private async Task<CoverageAssertion?> FindAsync(PolicyRequest request, Claim.ItemComponent item, CancellationToken ct)
    {
        var carriers = new List<IExtendable> { item };
        carriers.AddRange(item.Extension.Where(e => e.Url?.EndsWith(RequestedService, StringComparison.Ordinal) == true)
            .Select(e => e.Value is ResourceReference r ? request.Resolve(r) : null).OfType<IExtendable>());
        var ids = carriers.SelectMany(c => c.Extension).Where(e => e.Url == CrdUrls.CoverageInformation)
            .Select(e => (e.GetExtension("coverage-assertion-id")?.Value as FhirString)?.Value).OfType<string>().Distinct();
        foreach (var id in ids)
        {
            if (await store.ReadAsync(id, ct) is { } assertion)
            {
                return assertion;
            }
        }
        return null;
    }

    private static bool SameRequest(CoverageAssertion assertion, PolicyRequest request, Claim.ItemComponent item, IReadOnlyList<IdentifierKey> members)
    {
        var codes = PolicyEngine.ItemCodes(request, item).Select(c => $"{c.System}|{c.Code}").ToHashSet(StringComparer.Ordinal);
        var diagnoses = request.Claim.Diagnosis.Select(d => d.Diagnosis).OfType<CodeableConcept>().SelectMany(c => c.Coding)
            .Select(c => $"{c.System}|{c.Code}").ToHashSet(StringComparer.Ordinal);
        return assertion.Codes.All(codes.Contains)
            && diagnoses.SetEquals(assertion.Diagnoses)
            && (item.Quantity?.Value ?? 1m) == (assertion.Quantity ?? 1m)
            && (assertion.Members.Count == 0 || assertion.Members.Any(m => members.Any(k => k.Value == m.Value)));
    }
}
