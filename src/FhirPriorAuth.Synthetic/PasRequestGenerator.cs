using System.Globalization;
using System.Text.Json.Nodes;
using Bogus;

namespace FhirPriorAuth.Synthetic;

/// <summary>
/// Varied PAS 2.2.1 request Bundles for benchmarks and load: a conformant template (an Inferno-derived request of
/// ~25 KB, 11 entries) with a new member, patient, requesting provider, codes, dates, quantities and 1–4 items each
/// time. Providers come from a fixed pool, as in real traffic, where a few thousand practices send most requests.
/// </summary>
public sealed class PasRequestGenerator
{
    private const string Cpt = "http://www.ama-assn.org/go/cpt";
    private const string Hcpcs = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";

    /// <summary>Codes the demo policy decides each way: approved, modified, denied, pended for documents or review.</summary>
    private static readonly (string System, string Code)[] Codes =
    [
        (Cpt, "99213"), (Cpt, "99214"), (Cpt, "72148"), (Cpt, "70551"), (Cpt, "15780"), (Cpt, "33510"),
        (Hcpcs, "E0601"), (Hcpcs, "G0154"), (Hcpcs, "B4184"), (Hcpcs, "E1223"),
    ];

    private static readonly string[] Diagnoses = ["M54.50", "M51.26", "G43.909", "R51.9", "G35", "J45.909", "E11.9", "I10"];

    private readonly JsonNode _template;
    private readonly Faker _faker;
    private readonly string[] _providerNpis;
    private readonly DateOnly _today;

    /// <summary>Creates a generator over a template request (JSON) with a fixed seed.</summary>
    public PasRequestGenerator(string templateJson, int seed = PayerDataGenerator.DefaultSeed, int providers = 200, DateOnly? today = null)
    {
        _template = JsonNode.Parse(templateJson) ?? throw new ArgumentException("The template is not JSON.");
        _faker = new Faker { Random = new Randomizer(seed) };
        _providerNpis = Enumerable.Range(0, providers).Select(_ => PayerDataGenerator.Npi(_faker)).ToArray();
        _today = today ?? DateOnly.FromDateTime(DateTime.UtcNow);
    }

    /// <summary>The provider NPIs requests come from.</summary>
    public IReadOnlyList<string> ProviderNpis => _providerNpis;

    /// <summary>The next request Bundle, as compact JSON.</summary>
    public string Next()
    {
        var f = _faker;
        var bundle = _template.DeepClone();
        var member = "M" + f.Random.Replace("#########");
        bundle["identifier"]!["value"] = Guid.NewGuid().ToString();
        bundle["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);

        foreach (var entry in bundle["entry"]!.AsArray())
        {
            var resource = entry!["resource"]!;
            switch (resource["resourceType"]!.GetValue<string>())
            {
                case "Claim":
                    VaryClaim(resource);
                    break;
                case "Patient":
                    resource["identifier"]![0]!["value"] = member;
                    resource["name"]![0]!["family"] = f.Name.LastName().ToUpperInvariant();
                    resource["name"]![0]!["given"] = new JsonArray(f.Name.FirstName().ToUpperInvariant());
                    resource["birthDate"] = f.Date.PastDateOnly(80, _today.AddYears(-1)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                    break;
                case "Coverage":
                    foreach (var identifier in resource["identifier"]!.AsArray())
                    {
                        identifier!["value"] = member;
                    }
                    resource["subscriberId"] = member;
                    break;
                case "Organization" when entry["fullUrl"]!.GetValue<string>().EndsWith("/UMOExample", StringComparison.Ordinal):
                    resource["identifier"]![0]!["value"] = f.PickRandom(_providerNpis);
                    resource["name"] = f.Company.CompanyName() + " Medical Group";
                    break;
                case "Practitioner":
                    resource["identifier"]![0]!["value"] = PayerDataGenerator.Npi(f);
                    break;
            }
        }
        return bundle.ToJsonString();
    }

    private void VaryClaim(JsonNode claim)
    {
        var f = _faker;
        claim["identifier"]![0]!["value"] = f.Random.Replace("??########").ToUpperInvariant();
        claim["created"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);
        claim["diagnosis"]![0]!["diagnosisCodeableConcept"]!["coding"]![0]!["code"] = f.PickRandom(Diagnoses);

        var template = claim["item"]![0]!;
        var items = new JsonArray();
        int count = f.Random.Int(1, 4);
        for (int sequence = 1; sequence <= count; sequence++)
        {
            var item = template.DeepClone();
            var (system, code) = f.PickRandom(Codes);
            item["sequence"] = sequence;
            item["productOrService"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = system, ["code"] = code }) };
            item["servicedDate"] = _today.AddDays(f.Random.Int(3, 90)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            item["quantity"]!["value"] = f.Random.Int(1, 12);
            foreach (var extension in item["extension"]!.AsArray())
            {
                if (extension!["url"]!.GetValue<string>().EndsWith("extension-itemTraceNumber", StringComparison.Ordinal))
                {
                    extension["valueIdentifier"]!["value"] = f.Random.Replace("#######");
                }
            }
            items.Add(item);
        }
        claim["item"] = items;
    }
}
