using System.Globalization;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Policy;

/// <summary>
/// Decides each Claim item from the plan's policy. The same engine answers CRD questions and PAS submissions, so the
/// two cannot disagree. Pure: no I/O, so every decision is reproducible from the request alone.
/// </summary>
public sealed class PolicyEngine(PolicySet policies)
{
    /// <summary>Code systems whose codes are procedure codes (CPT and both HCPCS URLs in use).</summary>
    public static readonly IReadOnlySet<string> ProcedureCodeSystems = new HashSet<string>(StringComparer.Ordinal)
    {
        "http://www.ama-assn.org/go/cpt",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
    };

    /// <summary>The X12 1365 service type code system.</summary>
    public const string ServiceTypeSystem = "https://codesystem.x12.org/005010/1365";

    /// <summary>X12 901 reject reason "Invalid/Missing Date(s) of Service".</summary>
    public const string MissingServiceDate = "57";

    /// <summary>ICD-10-CM.</summary>
    public const string Icd10System = "http://hl7.org/fhir/sid/icd-10-cm";

    /// <summary>The loaded policies.</summary>
    public PolicySet Policies => policies;

    /// <summary>Decides the given items (all when <paramref name="sequences"/> is null).</summary>
    public IReadOnlyList<ItemDecision> Decide(PolicyRequest request, IReadOnlySet<int>? sequences = null)
    {
        var coverage = request.Coverage;
        var policy = policies.For(coverage);
        var decisions = new List<ItemDecision>();
        foreach (var item in request.Claim.Item)
        {
            if (item.Sequence is not int sequence || (sequences is not null && !sequences.Contains(sequence)))
            {
                continue;
            }
            decisions.Add(DecideItem(request, policy, coverage, item, sequence));
        }
        return decisions;
    }

    private ItemDecision DecideItem(PolicyRequest request, CoveragePolicy? policy, Coverage? coverage, Claim.ItemComponent item, int sequence)
    {
        var quantity = item.Quantity?.Value ?? 1m;
        if (item.Serviced is null && request.Claim.BillablePeriod is null)
        {
            // Without a date of service neither coverage nor clinical rules can be applied: X12 AAA 57, correct and resubmit.
            return new ItemDecision(sequence, ReviewAction.Denied, "Not certified: the request gives no date of service for this item; correct and resubmit.",
                null, policy?.Id, policy?.Version, "service-date", RequestedQuantity: quantity, RejectReason: MissingServiceDate);
        }
        var serviceDate = ServiceDate(request.Claim, item, request.ReceivedAt);
        if (CoverageProblem(coverage, serviceDate) is { } problem)
        {
            return new ItemDecision(sequence, ReviewAction.Denied, problem, null, policy?.Id, policy?.Version, "coverage-active",
                RequestedQuantity: quantity);
        }
        if (policy is null)
        {
            return new ItemDecision(sequence, ReviewAction.Pended, "No coverage policy applies to this plan; sent for clinical review.",
                null, null, null, "no-policy", PendReason.ClinicalReview, RequestedQuantity: quantity);
        }

        var codes = ItemCodes(request, item);
        var rule = FindRule(policy, codes);
        if (rule is null)
        {
            var fallback = policy.Default ?? new PolicyDecision { Action = PolicyAction.PendReview };
            return Apply(sequence, policy, "default", fallback, null, quantity,
                fallback.Reason ?? "No automated rule covers this service; sent for clinical review.");
        }

        var context = new ConditionContext(request, item, serviceDate);
        foreach (var condition in rule.Conditions)
        {
            if (!context.Holds(condition))
            {
                var reason = condition.Otherwise.Reason
                    ?? $"Requirement not met: {condition.Description ?? condition.Id}.";
                return Apply(sequence, policy, $"{rule.Id}/{condition.Id}", condition.Otherwise, rule.Documentation, quantity, reason);
            }
        }
        if (rule.Documentation is { } documentation && !HasDocumentation(request, documentation))
        {
            return Apply(sequence, policy, rule.Id, new PolicyDecision { Action = PolicyAction.PendDocumentation }, documentation, quantity,
                $"Pended for documentation: {documentation.Description ?? "one of LOINC " + string.Join(", ", documentation.Loinc)}" +
                $" dated within the last {documentation.WithinDays} days.");
        }
        return Apply(sequence, policy, rule.Id, rule.Decision, rule.Documentation, quantity, rule.Decision.Reason);
    }

    private static ItemDecision Apply(int sequence, CoveragePolicy policy, string ruleId, PolicyDecision decision,
        DocumentationRequirement? documentation, decimal quantity, string? reason)
    {
        ItemDecision Make(ReviewAction action, string text, PendReason pend = PendReason.None) =>
            new(sequence, action, text, decision.ReasonCode, policy.Id, policy.Version, ruleId, pend,
                pend == PendReason.Documentation ? documentation?.Loinc : null, quantity,
                DocumentsWithinDays: pend == PendReason.Documentation ? documentation?.WithinDays : null);

        switch (decision.Action)
        {
            case PolicyAction.NoAuthNeeded:
                return Make(ReviewAction.Approved, reason ?? "No prior authorization required.") with { NoAuthRequired = true };
            case PolicyAction.Approve when decision.MaxQuantity is { } max && quantity > max:
                return Make(ReviewAction.Modified, reason ?? $"Approved for {Units(max)} of the {Units(quantity)} requested: the plan covers at most {Units(max)}.")
                    with { AuthorizedQuantity = max };
            case PolicyAction.Approve:
                return Make(ReviewAction.Approved, reason ?? "Approved.");
            case PolicyAction.Deny:
                return Make(ReviewAction.Denied, reason ?? "Not certified.");
            case PolicyAction.PendDocumentation:
                return Make(ReviewAction.Pended, reason ?? "Pended for documentation.", PendReason.Documentation);
            default:
                return Make(ReviewAction.Pended, reason ?? "Pended for clinical review.", PendReason.ClinicalReview);
        }
    }

    private static string Units(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture) + (value == 1 ? " unit" : " units");

    /// <summary>
    /// A rule naming one of the item's procedure codes wins; service-type rules apply only to items with no procedure
    /// code, because the procedure says more precisely what is being done.
    /// </summary>
    private static PolicyRule? FindRule(CoveragePolicy policy, IReadOnlyList<Coding> codes)
    {
        var procedures = codes.Where(c => c.System is { } s && ProcedureCodeSystems.Contains(s) && c.Code is not null).Select(c => c.Code!).ToList();
        if (procedures.Count > 0)
        {
            return policy.Rules.FirstOrDefault(r => procedures.Any(code => PolicyCodes.Matches(r.Codes, code)));
        }
        var serviceTypes = codes.Where(c => c.System == ServiceTypeSystem && c.Code is not null).Select(c => c.Code!).ToList();
        return policy.Rules.FirstOrDefault(r => r.ServiceTypes.Any(serviceTypes.Contains));
    }

    /// <summary>The item's codes: its productOrService and the codes of the order it points to (requestedService).</summary>
    public static IReadOnlyList<Coding> ItemCodes(PolicyRequest request, Claim.ItemComponent item)
    {
        var codes = new List<Coding>(item.ProductOrService?.Coding ?? []);
        foreach (var extension in item.Extension.Where(e => e.Url?.EndsWith("/extension-requestedService", StringComparison.Ordinal) == true))
        {
            if (extension.Value is ResourceReference reference && request.Resolve(reference) is { } order)
            {
                var orderCode = order switch
                {
                    ServiceRequest s => s.Code,
                    DeviceRequest d => d.Code as CodeableConcept,
                    MedicationRequest m => m.Medication as CodeableConcept,
                    NutritionOrder => null,
                    _ => null,
                };
                codes.AddRange(orderCode?.Coding ?? []);
            }
        }
        return codes;
    }

    /// <summary>The item's service date: its own date or period start, else the Claim's billable period, else the receipt date.</summary>
    public static DateOnly ServiceDate(Claim claim, Claim.ItemComponent item, DateTimeOffset receivedAt)
    {
        var text = item.Serviced switch
        {
            Date d => d.Value,
            Period p => p.Start,
            _ => claim.BillablePeriod?.Start,
        };
        return text is { Length: >= 10 } && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : DateOnly.FromDateTime(receivedAt.UtcDateTime);
    }

    private static string? CoverageProblem(Coverage? coverage, DateOnly serviceDate)
    {
        if (coverage is null)
        {
            return "The request names no coverage the payer can check.";
        }
        if (coverage.Status is not FinancialResourceStatusCodes.Active)
        {
            return $"The coverage is not active (status {coverage.Status?.ToString().ToLowerInvariant() ?? "missing"}).";
        }
        if (coverage.Period is { } period)
        {
            var day = serviceDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            if ((period.Start is { Length: >= 10 } start && string.CompareOrdinal(day, start[..10]) < 0) ||
                (period.End is { Length: >= 10 } end && string.CompareOrdinal(day, end[..10]) > 0))
            {
                return $"The coverage is not active on the service date {day} (covered {period.Start ?? "…"} to {period.End ?? "…"}).";
            }
        }
        return null;
    }

    private static bool HasDocumentation(PolicyRequest request, DocumentationRequirement documentation)
    {
        var oldest = request.ReceivedAt.AddDays(-documentation.WithinDays);
        return request.Bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().Any(d =>
            d.Type?.Coding.Any(c => c.System == "http://loinc.org" && c.Code is not null && documentation.Loinc.Contains(c.Code)) == true &&
            DocumentDate(d) is { } date && date >= oldest && date <= request.ReceivedAt.AddDays(1));
    }

    private static DateTimeOffset? DocumentDate(DocumentReference document)
    {
        if (document.DateElement?.Value is { } instant)
        {
            return instant;
        }
        var text = document.Context?.Period?.End ?? document.Context?.Period?.Start
            ?? document.Content.Select(c => c.Attachment?.Creation).FirstOrDefault(c => c is not null);
        return text is not null && new FhirDateTime(text).TryToDateTimeOffset(out var value) ? value : null;
    }

    /// <summary>Evaluates conditions for one item.</summary>
    private sealed class ConditionContext(PolicyRequest request, Claim.ItemComponent item, DateOnly serviceDate)
    {
        public bool Holds(PolicyCondition condition)
        {
            if (condition.DiagnosisPrefixes.Count > 0 && !Diagnoses().Any(code =>
                    condition.DiagnosisPrefixes.Any(p => code.StartsWith(p.Replace(".", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))))
            {
                return false;
            }
            if ((condition.MinAge is not null || condition.MaxAge is not null) && !AgeWithin(condition.MinAge, condition.MaxAge))
            {
                return false;
            }
            if (condition.PlacesOfService.Count > 0 &&
                !(item.Location is CodeableConcept place && place.Coding.Any(c => c.Code is not null && condition.PlacesOfService.Contains(c.Code))))
            {
                return false;
            }
            return condition.Expression is null || EvaluateExpression(condition.Expression);
        }

        private IEnumerable<string> Diagnoses()
        {
            foreach (var diagnosis in request.Claim.Diagnosis)
            {
                var concept = diagnosis.Diagnosis switch
                {
                    CodeableConcept c => c,
                    ResourceReference r => (request.Resolve(r) as Condition)?.Code,
                    _ => null,
                };
                foreach (var coding in concept?.Coding ?? [])
                {
                    if (coding.Code is not null && (coding.System is null || coding.System.Contains("icd-10", StringComparison.OrdinalIgnoreCase)))
                    {
                        yield return coding.Code.Replace(".", "", StringComparison.Ordinal);
                    }
                }
            }
        }

        private bool AgeWithin(int? min, int? max)
        {
            if (request.Patient?.BirthDate is not { Length: >= 10 } birth ||
                !DateOnly.TryParseExact(birth[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var born))
            {
                return false;
            }
            var age = serviceDate.Year - born.Year - (serviceDate < born.AddYears(serviceDate.Year - born.Year) ? 1 : 0);
            return (min is null || age >= min) && (max is null || age <= max);
        }

        private bool EvaluateExpression(string expression)
        {
            var context = new FhirEvaluationContext();
            context.Environment["bundle"] = [request.Bundle.ToPocoNode()];
            context.Environment["item"] = [item.ToPocoNode()];
            context.Environment["patient"] = request.Patient is { } p ? [p.ToPocoNode()] : [];
            context.Environment["coverage"] = request.Coverage is { } c ? [c.ToPocoNode()] : [];
            return request.Claim.IsTrue(expression, context);
        }
    }
}
