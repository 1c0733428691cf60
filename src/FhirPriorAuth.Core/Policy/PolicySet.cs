using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Policy;

/// <summary>The loaded policies, and the choice of policy for a member's plan.</summary>
public sealed class PolicySet(IReadOnlyList<CoveragePolicy> policies)
{
    /// <summary>The Coverage.class types that name a plan.</summary>
    private static readonly string[] PlanClassTypes = ["plan", "group", "subplan", "subgroup"];

    /// <summary>All policies, in load order.</summary>
    public IReadOnlyList<CoveragePolicy> All => policies;

    /// <summary>
    /// The policy for the coverage's plan: one that names a plan or group value of the coverage, else one that applies
    /// to every plan (<c>*</c>), else none.
    /// </summary>
    public CoveragePolicy? For(Coverage? coverage)
    {
        var planValues = coverage?.Class
            .Where(c => c.Type?.Coding.Any(t => PlanClassTypes.Contains(t.Code)) == true && c.Value is not null)
            .Select(c => c.Value)
            .ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        return policies.FirstOrDefault(p => p.Plans.Any(planValues.Contains))
            ?? policies.FirstOrDefault(p => p.Plans.Contains("*"));
    }
}
