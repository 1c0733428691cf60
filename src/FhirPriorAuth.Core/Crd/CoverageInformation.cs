using System.Globalization;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Crd;

/// <summary>CRD 2.0.1's coverage-information extension, from a policy decision.</summary>
public static class CoverageInformation
{
    /// <summary>
    /// One repetition of the extension for one coverage. A decision maps to CRD's codes as a PAS request would be
    /// decided: no authorization needed → covered, no-auth; approved → covered, auth-needed; denied → not-covered, no-auth;
    /// limited or pended → conditional, auth-needed (documentation named on primary hooks only, as CRD requires).
    /// Without the member's coverage on file nothing is definitely covered. An order an existing authorization already
    /// approved (<paramref name="satisfiedBy"/>) is covered and satisfied, naming it.
    /// </summary>
    public static Extension Extension(ItemDecision decision, Coverage? coverage, bool coverageKnown, string assertionId, DateTimeOffset now,
        bool primary, IEnumerable<Coding> codes, string? satisfiedBy = null)
    {
        var (covered, paNeeded) = decision switch
        {
            { NoAuthRequired: true } => ("covered", "no-auth"),
            // CRD 2.0.1's crd-ci-q2 is written so that it fails without pa-needed even when not covered (2.2 fixed it):
            // nothing is to be authorized for a service the plan does not cover.
            { Action: ReviewAction.Denied } => ("not-covered", "no-auth"),
            { Action: ReviewAction.Approved } => ("covered", "auth-needed"),
            _ => ("conditional", "auth-needed"),
        };
        if (!coverageKnown && covered == "covered")
        {
            covered = "conditional";
        }
        if (satisfiedBy is not null)
        {
            (covered, paNeeded) = ("covered", "satisfied");
        }
        var extension = new Extension { Url = CrdUrls.CoverageInformation };
        extension.AddExtension("coverage", coverage?.Id is { } id ? new ResourceReference($"Coverage/{id}") : new ResourceReference { Display = "no coverage on file" });
        extension.AddExtension("covered", new Code(covered));
        extension.AddExtension("pa-needed", new Code(paNeeded));
        if (primary && decision.Pend == PendReason.Documentation && satisfiedBy is null)
        {
            extension.AddExtension("doc-needed", new Code("clinical"));
            extension.AddExtension("doc-purpose", new Code("withpa"));
        }
        foreach (var code in codes.Where(c => c.System is { } s && PolicyEngine.ProcedureCodeSystems.Contains(s)))
        {
            extension.AddExtension("billingCode", new Coding(code.System, code.Code, code.Display));
        }
        extension.AddExtension("reason", new CodeableConcept { Text = decision.Reason });
        if (decision.AuthorizedQuantity is { } max)
        {
            var detail = new Extension { Url = "detail" };
            detail.AddExtension("code", new CodeableConcept(CrdUrls.TempCodes, "allowed-quantity"));
            detail.AddExtension("value", new Quantity { Value = max });
            extension.Extension.Add(detail);
        }
        extension.AddExtension("date", new Date(now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        extension.AddExtension("coverage-assertion-id", new FhirString(assertionId));
        if (satisfiedBy is not null)
        {
            extension.AddExtension("satisfied-pa-id", new FhirString(satisfiedBy));
        }
        return extension;
    }
}
