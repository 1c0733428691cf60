using System.Globalization;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Crd;

/// <summary>How CRD answers.</summary>
/// <param name="EhrBudget">How long a hook call may spend reading the EHR before it answers with what it has.</param>
public sealed record CrdSettings(TimeSpan EhrBudget);

/// <summary>
/// Answers CRD hooks from the payer's coverage policies: for each order (or appointment) and each of the member's
/// coverages, the decision the same <see cref="PolicyEngine"/> would make on a prior-authorization request for it,
/// reported as CRD Coverage Information (a system action updating the order) and explained on cards. Each assertion is
/// stored under its <c>coverage-assertion-id</c>.
/// </summary>
public sealed class CoverageRequirements(PolicyEngine policy, ICoverageAssertionStore assertions, TimeProvider clock, IEhrFhir? ehr = null,
    CrdSettings? settings = null, IAuthorizationStore? authorizations = null)
{
    private const string PasRequestedService = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService";
    private const string Cpt = "http://www.ama-assn.org/go/cpt";
    private const string Hcpcs = "https://bluebutton.cms.gov/resources/codesystem/hcpcs";
    private readonly CrdSettings _settings = settings ?? new CrdSettings(TimeSpan.FromSeconds(2));

    /// <summary>Answers one hook call.</summary>
    public async Task<CdsResponse> AnswerAsync(HookRequest request, CancellationToken ct)
    {
        var data = await HookData.GatherAsync(request, ehr, _settings.EhrBudget, ct);
        var now = clock.GetUtcNow();
        var cards = new List<Card>();
        var actions = new List<CdsAction>();
        var asserted = new List<CoverageAssertion>();
        var primary = CrdHooks.Primary.Contains(request.Hook);

        if (data.Problems.Count > 0)
        {
            cards.Add(Instructions("Coverage could not be fully checked: some EHR data was unavailable", "warning",
                "The payer's answer below is based on what the EHR sent. Not available:\n\n" + string.Join("\n", data.Problems.Select(p => "- " + p)), []));
        }
        if (data.Coverages.Count == 0)
        {
            cards.Add(Instructions("No active coverage on file with this payer for the patient", "warning",
                "Coverage information assumes an active plan; add the patient's coverage to get a definite answer.", []));
        }

        // Authorizations the member already has: an approved one for the same service satisfies the order's.
        var members = data.Coverages.Cast<Coverage?>().Append(null).SelectMany(c => Members(data.Patient, c)).Distinct().ToList();
        var existing = authorizations is null || members.Count == 0 ? []
            : await authorizations.FindAsync(new AuthorizationLookup(members, []), PriorAuthorizationService.MaxInquiryResults, ct);

        foreach (var subject in data.Subjects.Where(s => s is not Encounter))
        {
            var satisfiedBy = Satisfying(existing, subject, now);
            var results = (data.Coverages.Count == 0 ? [null] : data.Coverages.Cast<Coverage?>())
                .Select(coverage => (Coverage: coverage, Decision: Decide(subject, data.Patient, coverage, now)))
                .ToList();
            var extensions = new List<Extension>();
            foreach (var (coverage, decision) in results)
            {
                var assertion = new CoverageAssertion(NewAssertionId(), request.Hook, request.HookInstance, $"{subject.TypeName}/{subject.Id}",
                    Codes(subject).Select(c => $"{c.System}|{c.Code}").ToList(),
                    Reasons(subject).SelectMany(r => r.Coding).Select(c => $"{c.System}|{c.Code}").ToList(), Quantity(subject), Members(data.Patient, coverage),
                    coverage?.Id is { } id ? $"Coverage/{id}" : null, decision, now);
                asserted.Add(assertion);
                extensions.Add(CoverageInformation.Extension(decision, coverage, data.Coverages.Count > 0, assertion.Id, now, primary, Codes(subject), satisfiedBy));
            }
            if (request.WantsCoverage)
            {
                var updated = (Resource)subject.DeepCopy();
                if (updated is IExtendable extendable)
                {
                    extendable.Extension.RemoveAll(e => e.Url == CrdUrls.CoverageInformation);
                    extendable.Extension.AddRange(extensions);
                }
                actions.Add(new CdsAction("update", $"Added coverage information to {subject.TypeName} resource.", JsonNode.Parse(FhirJson.ToJson(updated))));
            }
            if (satisfiedBy is null)
            {
                cards.AddRange(Alternatives(subject, results[0].Coverage, results[0].Decision, data.Patient, now));
            }
            cards.AddRange(satisfiedBy is null ? CardsFor(subject, results.Select(r => r.Decision).ToList())
                : [Instructions($"{Display(subject)}: already authorized ({satisfiedBy})", "info",
                    $"For {subject.TypeName}/{subject.Id}: prior authorization {satisfiedBy} approved this service; quote it with the order.", [$"{subject.TypeName}/{subject.Id}"])]);
        }
        if (data.Subjects.Any(s => s is Encounter) || data.Subjects.Count == 0)
        {
            cards.Add(Instructions("Check coverage requirements when ordering", "info",
                "Orders placed for this patient are checked against the plan's coverage policies at order entry: " +
                "you will see whether prior authorization or documentation is needed.", []));
        }
        foreach (var used in asserted.Select(a => a.Decision.PolicyId).Distinct().Select(id => policy.Policies.All.FirstOrDefault(p => p.Id == id)))
        {
            if (used?.PolicyUrl is { } url)
            {
                cards.Add(new Card(Guid.NewGuid().ToString(), Summary($"Coverage policy: {used.Title ?? used.Id}"), "info", Source("coverage-info"),
                    $"The rules applied come from the payer's policy {used.Id}, version {used.Version}.", Links: [new CardLink(used.Title ?? used.Id, url)]));
            }
        }
        if (asserted.Count > 0)
        {
            await assertions.SaveAsync(asserted, ct);
        }
        return new CdsResponse(cards.Take(request.MaxCards).ToList(), primary || actions.Count > 0 ? actions : null);
    }

    /// <summary>The decision a PAS request for this order would get: the order as one Claim item, under the coverage.</summary>
    private ItemDecision Decide(Resource subject, Patient? patient, Coverage? coverage, DateTimeOffset now)
    {
        var claim = new Claim
        {
            Id = "crd",
            Status = FinancialResourceStatusCodes.Active,
            Use = ClaimUseCode.Preauthorization,
            Created = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Patient = new ResourceReference($"Patient/{patient?.Id ?? "unknown"}"),
        };
        // Without the member's coverage the plan's rules still say what is needed; covered stays "conditional".
        coverage ??= new Coverage { Id = "unknown", Status = FinancialResourceStatusCodes.Active };
        claim.Insurance.Add(new Claim.InsuranceComponent { Sequence = 1, Focal = true, Coverage = new ResourceReference($"Coverage/{coverage.Id}") });
        var sequence = 1;
        foreach (var reason in Reasons(subject))
        {
            claim.Diagnosis.Add(new Claim.DiagnosisComponent { Sequence = sequence++, Diagnosis = reason });
        }
        var item = new Claim.ItemComponent
        {
            Sequence = 1,
            ProductOrService = new CodeableConcept { Coding = Codes(subject).ToList() },
            Serviced = new Date(ServiceDate(subject, now)),
            Quantity = Quantity(subject) is { } units ? new Quantity { Value = units } : null,
        };
        item.Extension.Add(new Extension(PasRequestedService, new ResourceReference($"{subject.TypeName}/{subject.Id}")));
        claim.Item.Add(item);
        var resources = new List<Resource> { claim, coverage, subject };
        if (patient is not null)
        {
            resources.Add(patient);
        }
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Entry = resources.Select(r => new Bundle.EntryComponent { Resource = r }).ToList() };
        Resource? Resolve(ResourceReference reference) => resources.FirstOrDefault(r => reference.Reference == $"{r.TypeName}/{r.Id}");
        return policy.Decide(new PolicyRequest(claim, bundle, Resolve, now))[0];
    }

    /// <summary>The codes of an order or appointment that policies match on.</summary>
    public static IEnumerable<Coding> Codes(Resource subject)
    {
        IEnumerable<CodeableConcept?> concepts = subject switch
        {
            ServiceRequest s => [s.Code],
            DeviceRequest d => [d.Code as CodeableConcept],
            MedicationRequest m => [m.Medication as CodeableConcept],
            NutritionOrder n => n.EnteralFormula?.BaseFormulaType is { } formula ? [formula] : n.OralDiet?.Type ?? [],
            Appointment a => a.ServiceType.Append(a.AppointmentType),
            _ => [],
        };
        return concepts.OfType<CodeableConcept>().SelectMany(c => c.Coding).Where(c => c.Code is not null);
    }

    private static decimal? Quantity(Resource subject) => ((subject as ServiceRequest)?.Quantity as Quantity)?.Value;

    private static IEnumerable<CodeableConcept> Reasons(Resource subject) => subject switch
    {
        ServiceRequest s => s.ReasonCode,
        DeviceRequest d => d.ReasonCode,
        MedicationRequest m => m.ReasonCode,
        Appointment a => a.ReasonCode,
        _ => [],
    };

    /// <summary>
    /// Suggestion cards for the covered alternatives the deciding rule names, when the order itself is not simply
    /// approved: each alternative is decided by the same engine, and only one the plan covers is offered.
    /// </summary>
    private IEnumerable<Card> Alternatives(Resource subject, Coverage? coverage, ItemDecision decision, Patient? patient, DateTimeOffset now)
    {
        if (decision is { NoAuthRequired: true } or { Action: ReviewAction.Approved } || RuleOf(decision) is not { Alternatives.Count: > 0 } rule)
        {
            yield break;
        }
        var reference = $"{subject.TypeName}/{subject.Id}";
        foreach (var alternative in rule.Alternatives)
        {
            var code = new CodeableConcept(char.IsDigit(alternative.Code[0]) ? Cpt : Hcpcs, alternative.Code, alternative.Display);
            Resource proposed;
            switch (subject.DeepCopy())
            {
                case ServiceRequest s: s.Code = code; proposed = s; break;
                case DeviceRequest d: d.Code = code; proposed = d; break;
                default: continue;
            }
            var covered = Decide(proposed, patient, coverage, now);
            if (covered is not ({ NoAuthRequired: true } or { Action: ReviewAction.Approved }))
            {
                continue;
            }
            ((IExtendable)proposed).Extension.RemoveAll(e => e.Url == CrdUrls.CoverageInformation);
            yield return new Card(Guid.NewGuid().ToString(), Summary($"Covered alternative to {Display(subject)}: {alternative.Display}"), "info",
                Source("therapy-alternatives-opt"), $"For {reference}: {alternative.Reason ?? covered.Reason}",
                Suggestions: [new Suggestion($"Order {alternative.Display} instead", Guid.NewGuid().ToString(),
                    [new CdsAction("update", $"Change {reference} to {alternative.Display} ({alternative.Code}).", JsonNode.Parse(FhirJson.ToJson(proposed)))])],
                SelectionBehavior: "at-most-one", Extension: new Dictionary<string, object> { [CrdUrls.AssociatedResource] = new[] { reference } });
        }
    }

    private PolicyRule? RuleOf(ItemDecision decision) =>
        policy.Policies.All.FirstOrDefault(p => p.Id == decision.PolicyId)?.Rules.FirstOrDefault(r => r.Id == decision.RuleId.Split('/')[0]);

    /// <summary>
    /// The number of an authorization that approved this service and has not ended: one of its approved (or modified)
    /// items has one of the order's codes, and covers the order's date when the order gives one.
    /// </summary>
    private static string? Satisfying(IReadOnlyList<AuthorizationRecord> existing, Resource subject, DateTimeOffset now)
    {
        var codes = Codes(subject).Select(c => $"{c.System}|{c.Code}").ToHashSet(StringComparer.Ordinal);
        var date = ServiceDate(subject, now);
        return existing.FirstOrDefault(a => a.Items.Any(i =>
            i.Decision is { Action: ReviewAction.Approved or ReviewAction.Modified, NoAuthRequired: false }
            && i.Codes.Any(codes.Contains)
            && string.CompareOrdinal(i.ServiceEnd ?? i.ServiceStart ?? date, date) >= 0
            && (!HasOwnDate(subject) || i.ServiceStart is null || string.CompareOrdinal(i.ServiceStart, date) <= 0)))?.Number;
    }

    private static bool HasOwnDate(Resource subject) => subject switch
    {
        ServiceRequest s => s.Occurrence is FhirDateTime or Period,
        DeviceRequest d => d.Occurrence is FhirDateTime or Period,
        Appointment a => a.Start is not null,
        _ => false,
    };

    private static string ServiceDate(Resource subject, DateTimeOffset now)
    {
        var text = subject switch
        {
            ServiceRequest s => (s.Occurrence as FhirDateTime)?.Value ?? (s.Occurrence as Period)?.Start ?? s.AuthoredOn,
            DeviceRequest d => (d.Occurrence as FhirDateTime)?.Value ?? (d.Occurrence as Period)?.Start ?? d.AuthoredOn,
            MedicationRequest m => m.AuthoredOn,
            NutritionOrder n => n.DateTime,
            Appointment a => a.StartElement?.Value?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            _ => null,
        };
        // Orders are for now or later; a date in the past (an old example) is checked as of today.
        var today = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return text is { Length: >= 10 } && string.CompareOrdinal(text[..10], today) > 0 ? text[..10] : today;
    }

    private static List<IdentifierKey> Members(Patient? patient, Coverage? coverage) =>
        (coverage?.Identifier ?? []).Concat(patient?.Identifier ?? []).Where(i => i.Value is not null)
            .Select(i => new IdentifierKey(i.System, i.Value!))
            .Concat(coverage?.SubscriberId is { } s ? [new IdentifierKey(null, s)] : [])
            .Distinct().ToList();

    private static IEnumerable<Card> CardsFor(Resource subject, IReadOnlyList<ItemDecision> decisions)
    {
        var name = Display(subject);
        var reference = $"{subject.TypeName}/{subject.Id}";
        foreach (var decision in decisions.DistinctBy(d => (d.Action, d.Pend, d.NoAuthRequired)))
        {
            var (summary, indicator) = decision switch
            {
                { NoAuthRequired: true } => ($"{name}: covered, no prior authorization needed", "info"),
                { Action: ReviewAction.Denied } => ($"{name}: not covered", "warning"),
                { Action: ReviewAction.Pended, Pend: PendReason.Documentation } => ($"{name}: prior authorization and documentation needed", "warning"),
                { Action: ReviewAction.Modified } => ($"{name}: covered up to a limit; prior authorization needed", "warning"),
                _ => ($"{name}: prior authorization needed", "warning"),
            };
            var detail = $"For {reference}: {decision.Reason}";
            if (decision.DocumentsNeeded is { Count: > 0 } documents)
            {
                detail += $"\n\nSend with the prior authorization request: a document of type LOINC {string.Join(" or ", documents)}" +
                    (decision.DocumentsWithinDays is { } days ? $" dated within {days} days." : ".");
            }
            yield return Instructions(summary, indicator, detail, [reference]);
        }
    }

    private static string Display(Resource subject) =>
        Codes(subject).FirstOrDefault() is { } code ? (code.Display ?? code.Code!) : subject.TypeName;

    private static Card Instructions(string summary, string indicator, string detail, IReadOnlyList<string> associated) =>
        new(Guid.NewGuid().ToString(), Summary(summary), indicator, Source("coverage-info"), detail,
            Extension: associated.Count == 0 ? null : new Dictionary<string, object> { [CrdUrls.AssociatedResource] = associated });

    private static CardSource Source(string topic) =>
        new("FhirPriorAuth payer coverage rules", new CdsCoding(CrdUrls.TempCodes, topic, "Coverage Information"));

    private static string Summary(string text) => text.Length < 140 ? text : text[..136] + "…";

    private static string NewAssertionId() => "CA-" + Guid.NewGuid().ToString("N")[..20].ToUpperInvariant();
}
