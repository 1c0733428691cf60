using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Crd;

/// <summary>One GET against the EHR's FHIR API and what came back.</summary>
/// <param name="Request">The relative request (<c>Patient/123</c>, <c>Coverage?patient=123&amp;status=active</c>).</param>
/// <param name="Resource">The resource or search Bundle, when it succeeded.</param>
/// <param name="Error">Why it did not, otherwise.</param>
public sealed record EhrRead(string Request, Resource? Resource, string? Error);

/// <summary>Reads from the calling EHR's FHIR API with the token it gave (CDS Hooks <c>fhirServer</c> and <c>fhirAuthorization</c>).</summary>
public interface IEhrFhir
{
    /// <summary>Runs the GETs, in one batch where the EHR takes one; never throws for an EHR's failure, which is in the results.</summary>
    Task<IReadOnlyList<EhrRead>> ReadAsync(string fhirServer, FhirAuthorization? token, IReadOnlyList<string> requests, CancellationToken ct);
}

/// <summary>What a hook call is about, gathered from the call and, where it fell short, from the EHR.</summary>
/// <param name="Patient">The patient, when known.</param>
/// <param name="Coverages">The patient's active coverages as the EHR records them.</param>
/// <param name="Subjects">The orders, appointments or encounter the answer is about.</param>
/// <param name="Problems">What could not be obtained, and why (said on a card).</param>
public sealed record HookData(Patient? Patient, IReadOnlyList<Coverage> Coverages, IReadOnlyList<Resource> Subjects, IReadOnlyList<string> Problems)
{
    /// <summary>The order types CRD hooks are about.</summary>
    public static readonly IReadOnlySet<string> OrderTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "ServiceRequest", "DeviceRequest", "MedicationRequest", "NutritionOrder", "CommunicationRequest", "VisionPrescription",
    };

    /// <summary>
    /// Uses the context and prefetch; asks the EHR (within <paramref name="budget"/>) for what is missing. Without the
    /// subjects or the coverage, and no FHIR server to ask, the call cannot be answered: 412. An EHR that fails or is
    /// too slow leaves a problem to report instead, so the hook still answers in time.
    /// </summary>
    public static async Task<HookData> GatherAsync(HookRequest request, IEhrFhir? ehr, TimeSpan budget, CancellationToken ct)
    {
        var known = request.ContextResources.Concat(request.Prefetched).ToList();
        var missing = new List<string>();
        var subjects = FindSubjects(request, known, out var wantedReferences);
        missing.AddRange(wantedReferences);
        if (!known.OfType<Patient>().Any() && request.PatientId.Length > 0)
        {
            missing.Add($"Patient/{request.PatientId}");
        }
        // A prefetch key answered with null means "the EHR has none": that is an answer, not a gap.
        if (!known.OfType<Coverage>().Any() && !request.PrefetchKeys.Contains("coverage") && request.PatientId.Length > 0)
        {
            missing.Add($"Coverage?patient={request.PatientId}&status=active");
        }

        var problems = new List<string>();
        if (missing.Count > 0)
        {
            if (request.FhirServer is null || ehr is null)
            {
                if (wantedReferences.Count > 0 || missing.Any(m => m.StartsWith("Coverage?", StringComparison.Ordinal)))
                {
                    throw new FhirException(412, Outcomes.Error(OperationOutcome.IssueType.Incomplete,
                        $"The call neither prefetched nor gave a fhirServer to read: {string.Join(", ", missing)}.", "prefetch"));
                }
                problems.Add($"Not available: {string.Join(", ", missing)}.");
            }
            else
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(budget);
                IReadOnlyList<EhrRead> reads;
                try
                {
                    reads = await ehr.ReadAsync(request.FhirServer, request.Authorization, missing, timeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    reads = missing.Select(m => new EhrRead(m, null, $"no answer within {budget.TotalSeconds:0.#} s")).ToList();
                }
                foreach (var read in reads)
                {
                    if (read.Resource is null)
                    {
                        problems.Add($"{request.FhirServer}/{read.Request}: {read.Error}");
                        continue;
                    }
                    known.AddRange(read.Resource is Bundle b ? b.Entry.Select(e => e.Resource).OfType<Resource>() : [read.Resource]);
                }
                subjects = FindSubjects(request, known, out _);
            }
        }
        var patient = known.OfType<Patient>().FirstOrDefault(p => p.Id == request.PatientId) ?? known.OfType<Patient>().FirstOrDefault();
        var coverages = known.OfType<Coverage>().Where(c => c.Status is null or FinancialResourceStatusCodes.Active)
            .DistinctBy(c => c.Id ?? Guid.NewGuid().ToString()).ToList();
        return new HookData(patient, coverages, subjects, problems);
    }

    /// <summary>The resources the hook is about, and references to those the call did not carry.</summary>
    private static List<Resource> FindSubjects(HookRequest request, IReadOnlyList<Resource> known, out List<string> missing)
    {
        missing = [];
        IEnumerable<string> references;
        switch (request.Hook)
        {
            case "order-sign":
                return request.ContextEntries("draftOrders").Where(r => OrderTypes.Contains(r.TypeName)).ToList();
            case "order-select":
                var selections = request.ContextTexts("selections").ToHashSet(StringComparer.Ordinal);
                return request.ContextEntries("draftOrders").Where(r => OrderTypes.Contains(r.TypeName) && selections.Contains($"{r.TypeName}/{r.Id}")).ToList();
            case "appointment-book":
                return request.ContextEntries("appointments").OfType<Appointment>().Cast<Resource>().ToList();
            case "order-dispatch":
                references = request.ContextText("order") is { } order ? [order] : request.ContextTexts("dispatchedOrders");
                break;
            default:
                references = request.ContextText("encounterId") is { } encounter ? [$"Encounter/{encounter}"] : [];
                break;
        }
        var found = new List<Resource>();
        foreach (var reference in references)
        {
            if (known.FirstOrDefault(r => $"{r.TypeName}/{r.Id}" == reference) is { } resource)
            {
                found.Add(resource);
            }
            else
            {
                missing.Add(reference);
            }
        }
        return found;
    }
}
