using Bogus;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Policy;

/// <summary>Builds varied prior-authorization requests with Bogus; a test pins only what it is about.</summary>
internal sealed class PolicyRequestFaker(int seed)
{
    public const string Cpt = "http://www.ama-assn.org/go/cpt";
    public const string Hcpcs = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";
    public static readonly DateTimeOffset ReceivedAt = new(2026, 11, 27, 15, 0, 0, TimeSpan.Zero);

    private readonly Faker _faker = new() { Random = new Randomizer(seed) };

    public DateOnly? ServiceDate { get; set; } = new(2026, 12, 10);
    public string? Diagnosis { get; set; }
    public (string Loinc, DateTimeOffset Date)? Document { get; set; }
    public Period? CoveragePeriod { get; set; } = new() { Start = "2026-01-01", End = "2026-12-31" };
    public FinancialResourceStatusCodes CoverageStatus { get; set; } = FinancialResourceStatusCodes.Active;
    public string Plan { get; set; } = "PLAN-" + Random.Shared.Next(100, 999);
    public string BirthDate { get; set; } = "";

    public PolicyRequest Build(params (string System, string Code, decimal? Quantity)[] items)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Collection };
        var patient = new Patient
        {
            Id = _faker.Random.Guid().ToString(),
            BirthDate = BirthDate.Length > 0 ? BirthDate : _faker.Date.PastDateOnly(80, new DateOnly(2008, 1, 1)).ToString("yyyy-MM-dd"),
            Name = [new HumanName { Family = _faker.Name.LastName(), Given = [_faker.Name.FirstName()] }],
        };
        var coverage = new Coverage
        {
            Id = _faker.Random.Guid().ToString(),
            Status = CoverageStatus,
            Period = CoveragePeriod,
            Beneficiary = new ResourceReference("Patient/" + patient.Id),
            Class = [new Coverage.ClassComponent
            {
                Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"),
                Value = Plan,
            }],
        };
        var claim = new Claim
        {
            Id = _faker.Random.Guid().ToString(),
            Status = FinancialResourceStatusCodes.Active,
            Use = ClaimUseCode.Preauthorization,
            Patient = new ResourceReference("Patient/" + patient.Id),
            Insurance = [new Claim.InsuranceComponent { Sequence = 1, Focal = true, Coverage = new ResourceReference("Coverage/" + coverage.Id) }],
        };
        if (Diagnosis is not null)
        {
            claim.Diagnosis.Add(new Claim.DiagnosisComponent
            {
                Sequence = 1,
                Diagnosis = new CodeableConcept(PolicyEngine.Icd10System, Diagnosis),
            });
        }
        int sequence = 1;
        foreach (var (system, code, quantity) in items)
        {
            claim.Item.Add(new Claim.ItemComponent
            {
                Sequence = sequence++,
                ProductOrService = new CodeableConcept(system, code),
                Quantity = quantity is { } q ? new Quantity { Value = q } : null,
                Serviced = ServiceDate is { } day ? new Date(day.ToString("yyyy-MM-dd")) : null,
            });
        }
        var resources = new List<Resource> { claim, patient, coverage };
        if (Document is { } doc)
        {
            resources.Add(new DocumentReference
            {
                Id = _faker.Random.Guid().ToString(),
                Status = DocumentReferenceStatus.Current,
                Type = new CodeableConcept("http://loinc.org", doc.Loinc),
                DateElement = new Instant(doc.Date),
                Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain", Data = "bm90ZQ=="u8.ToArray() } }],
            });
        }
        foreach (var resource in resources)
        {
            bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"http://ehr.example.org/fhir/{resource.TypeName}/{resource.Id}", Resource = resource });
        }
        return new PolicyRequest(claim, bundle, reference => Resolve(bundle, reference), ReceivedAt);
    }

    private static Resource? Resolve(Bundle bundle, ResourceReference reference) =>
        bundle.Entry.FirstOrDefault(e => e.FullUrl!.EndsWith("/" + reference.Reference, StringComparison.Ordinal))?.Resource;
}
