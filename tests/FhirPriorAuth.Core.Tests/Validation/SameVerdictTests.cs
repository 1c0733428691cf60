// Firely annotates nearly every element as nullable; these tests edit shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>
/// The fast validation path must never accept what Firely rejects: over the Inferno inputs, generated requests and
/// deliberately broken ones, the server's validator reports exactly Firely's errors, and valid requests are proven on
/// the fast path (otherwise the speed would come from nowhere).
/// </summary>
public sealed class SameVerdictTests
{
    private static readonly Lazy<PasValidator> Shared = new(() => new PasValidator(new FirelyPasValidator(new FhirPackageLocator([RepoPaths.FhirPackages]))));

    /// <summary>One validator for the validation tests: compiling the profiles is most of their time.</summary>
    internal static PasValidator Validator => Shared.Value;

    public static TheoryData<string, string> ConformanceInputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "2.0.1", "2.2.1" })
        {
            foreach (var file in Directory.GetFiles(RepoPaths.InfernoPas(version), "*.json").Order())
            {
                if (!file.EndsWith("subscription_resource.json", StringComparison.Ordinal))
                {
                    data.Add(version, Path.GetFileName(file));
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ConformanceInputs))]
    public void InfernoInputs_FirelysErrors_AndValidOnesProvenFast(string version, string file)
    {
        var pasVersion = version == "2.0.1" ? PasVersion.V2_0_1 : PasVersion.V2_2_1;
        var bundle = Parse(File.ReadAllBytes(Path.Combine(RepoPaths.InfernoPas(version), file)));
        var operation = file.Contains("inquire", StringComparison.Ordinal) ? PasOperation.Inquire : PasOperation.Submit;

        var (stock, proof, ours) = Compare(bundle, pasVersion, operation);

        if (stock.Count == 0)
        {
            Assert.True(proof.Proven, $"a valid request should be proven on the fast path: {proof.Reason}");
        }
        else
        {
            Assert.False(proof.Proven, "proven although Firely reports: " + string.Join(" | ", stock));
        }
        Assert.Equal(stock, ours);
    }

    [Fact]
    public void GeneratedRequests_AreValid_AndProvenFast()
    {
        var generator = new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed: 11);
        for (var i = 0; i < 15; i++)
        {
            var (stock, proof, ours) = Compare(Parse(Encoding.UTF8.GetBytes(generator.Next())), PasVersion.V2_2_1, PasOperation.Submit);
            Assert.Empty(stock);
            Assert.True(proof.Proven, proof.Reason);
            Assert.Empty(ours);
        }
    }

    /// <summary>Each breaks a valid request in one way the issue names (or a neighbour of it).</summary>
    private static readonly Dictionary<string, Action<Bundle>> Breakages = new()
    {
        ["missing required element: Claim.insurer"] = b => Claim(b).Insurer = null,
        ["missing required element: Claim.item.sequence"] = b => Claim(b).Item[0].SequenceElement = null,
        ["missing required element: Bundle.timestamp"] = b => b.TimestampElement = null,
        ["wrong fixed value: Claim.use"] = b => Claim(b).Use = ClaimUseCode.Claim,
        ["wrong fixed value: Bundle.type"] = b => b.Type = Bundle.BundleType.Batch,
        ["bad cardinality: the care-team scope extension twice"] = b =>
        {
            var scope = Claim(b).CareTeam[0].Extension.First(e => e.Url.EndsWith("extension-careTeamClaimScope", StringComparison.Ordinal));
            Claim(b).CareTeam[0].Extension.Add((Extension)scope.DeepCopy());
        },
        ["bad cardinality: a Claim without items"] = b => Claim(b).Item.Clear(),
        ["broken reference: Claim.insurer points at a Patient"] = b => Claim(b).Insurer = new ResourceReference(b.Entry.First(e => e.Resource is Patient).FullUrl),
        ["broken reference: Claim.provider points at the Claim itself"] = b => Claim(b).Provider = new ResourceReference(b.Entry[0].FullUrl),
        ["invalid type: the care-team scope is a string"] = b =>
            Claim(b).CareTeam[0].Extension.First(e => e.Url.EndsWith("extension-careTeamClaimScope", StringComparison.Ordinal)).Value = new FhirString("yes"),
        ["invalid type: Claim.item.serviced is a boolean"] = b => Claim(b).Item[0].Serviced = new FhirBoolean(true),
        ["code outside a required binding: Claim.type"] = b => Claim(b).Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/claim-type", "not-a-claim-type"),
        ["required binding with text only: Claim.type"] = b => Claim(b).Type = new CodeableConcept { Text = "professional" },
        ["bad date: Patient.birthDate"] = b => Entry<Patient>(b).BirthDate = "2020-13-01",
        ["bad id: Patient.id"] = b => Entry<Patient>(b).Id = "p 1",
        ["empty string: Patient.name.family"] = b => Entry<Patient>(b).Name[0].Family = "",
        ["unknown modifier extension on the Claim"] = b => Claim(b).ModifierExtension.Add(new Extension("http://example.org/unknown-modifier", new FhirBoolean(true))),
        ["extension outside its context: a Claim extension on the Patient"] = b =>
            Entry<Patient>(b).Extension.Add(new Extension("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-levelOfServiceCode",
                new CodeableConcept("https://codesystem.x12.org/005010/1338", "U"))),
        ["entry without fullUrl"] = b => b.Entry[1].FullUrl = null,
        ["duplicate fullUrl"] = b => b.Entry[2].FullUrl = b.Entry[1].FullUrl,
        ["entry declaring an unknown profile"] = b => Entry<Patient>(b).Meta.Profile = ["http://example.org/StructureDefinition/unknown"],
        ["invariant broken: a Period that ends before it starts"] = b => Claim(b).BillablePeriod = new Period { Start = "2024-05-02", End = "2024-05-01" },
    };

    public static TheoryData<string> BreakageNames() => new(Breakages.Keys);

    [Theory]
    [MemberData(nameof(BreakageNames))]
    public void BrokenRequests_AreNotProven_AndGetFirelysErrors(string breakage)
    {
        var bundle = Parse(File.ReadAllBytes(Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")));
        Breakages[breakage](bundle);

        var (stock, proof, ours) = Compare(bundle, PasVersion.V2_2_1, PasOperation.Submit);

        Assert.True(stock.Count > 0, "the breakage should make Firely report an error");
        Assert.False(proof.Proven, "proven although Firely reports: " + string.Join(" | ", stock));
        Assert.Equal(stock, ours);
    }

    /// <summary>Values the SDK's parser refuses itself (a PAS request is parsed without those checks when it is proven).</summary>
    private static readonly Dictionary<string, Action<JsonObject>> RefusedByTheParser = new()
    {
        ["date out of range"] = b => Resource(b, "Patient")["birthDate"] = "2020-13-01",
        ["dateTime without seconds"] = b => Resource(b, "Claim")["created"] = "2024-05-01T10:00",
        ["instant that is no date"] = b => b["timestamp"] = "yesterday",
        ["id with a space"] = b => Resource(b, "Patient")["id"] = "p 1",
        ["empty string"] = b => Resource(b, "Patient")["name"]![0]!["family"] = "",
        ["code with a trailing space"] = b => Resource(b, "Claim")["item"]![0]!["productOrService"]!["coding"]![0]!["code"] = "72148 ",
        ["base64Binary that is not base64"] = b => Resource(b, "DocumentReference")["content"]![0]!["attachment"]!["data"] = "not base64!",
        ["string literal for a boolean"] = b => Resource(b, "Patient")["active"] = "true",
        ["boolean literal for a string"] = b => Resource(b, "Patient")["name"]![0]!["family"] = true,
        ["string literal for a positiveInt"] = b => Resource(b, "Claim")["item"]![0]!["sequence"] = "1",
        ["number literal for a date"] = b => Resource(b, "Patient")["birthDate"] = 20200101,
        ["integer out of range"] = b => Resource(b, "Claim")["item"]![0]!["sequence"] = 3000000000,
        ["empty string in a list"] = b => Resource(b, "Patient")["name"]![0]!["given"] = new JsonArray(""),
        ["positiveInt zero"] = b => Resource(b, "Claim")["item"]![0]!["sequence"] = 0,
        ["required element missing: Claim.status"] = b => Resource(b, "Claim").Remove("status"),
        ["required element missing: Bundle.type"] = b => b.Remove("type"),
        ["required element missing: Claim.patient"] = b => Resource(b, "Claim").Remove("patient"),
        ["code not in the SDK's enumeration"] = b => Resource(b, "Patient")["gender"] = "Male",
        ["unknown resource type"] = b => b["entry"]![1]!["resource"] = new JsonObject { ["resourceType"] = "Widget", ["id"] = "w1" },
    };

    public static TheoryData<string> RefusedByTheParserNames() => new(RefusedByTheParser.Keys);

    [Theory]
    [MemberData(nameof(RefusedByTheParserNames))]
    public void ValuesTheParserRefuses_AreNeverProven_WhenParsedWithoutItsChecks(string breakage)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")))!.AsObject();
        RefusedByTheParser[breakage](json);
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());

        var refused = Assert.Throws<FhirException>(() => FhirJson.ParseIgnoringUnknownElements(bytes));
        Assert.Equal(400, refused.Status);
        // Parsed without the checks, the request reads; a proof of it must fail, so that the checked parse answers.
        var parsedWithoutChecks = (Bundle)FhirJson.ParseForProof(bytes);
        Assert.Null(Validator.TryProve(parsedWithoutChecks, PasVersion.V2_2_1, PasOperation.Submit));
    }

    [Fact]
    public void ElementsTheModelDoesNotDefine_AreNeverProven()
    {
        var bundle = Parse(File.ReadAllBytes(Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")));
        Assert.NotNull(Validator.TryProve(bundle, PasVersion.V2_2_1, PasOperation.Submit));

        Entry<Patient>(bundle).Name[0]["nickname"] = new FhirString("Bob");

        Assert.True(Entry<Patient>(bundle).Name[0].HasOverflow);
        Assert.Null(Validator.TryProve(bundle, PasVersion.V2_2_1, PasOperation.Submit));
    }

    private static JsonObject Resource(JsonObject bundle, string type) =>
        bundle["entry"]!.AsArray().Select(e => e!["resource"]!.AsObject()).First(r => (string)r["resourceType"]! == type);

    private static (List<string> Stock, ConformanceProof Proof, List<string> Ours) Compare(Bundle bundle, PasVersion version, PasOperation operation)
    {
        var stock = Validator.Full.Validate(bundle, version, operation).Errors.Select(Describe).ToList();
        var proof = Validator.Prove(bundle, version, operation);
        var ours = Validator.Validate(bundle, version, operation).Errors.Select(Describe).ToList();
        return (stock, proof, ours);
    }

    private static string Describe(OperationOutcome.IssueComponent issue) => $"{issue.Severity} {issue.Code} {issue.Diagnostics} @ {string.Join(",", issue.Expression)}";

    private static Bundle Parse(byte[] json) => (Bundle)FhirJson.ParseIgnoringUnknownElements(json);

    private static Claim Claim(Bundle bundle) => Entry<Claim>(bundle);

    private static T Entry<T>(Bundle bundle) where T : Resource => bundle.Entry.Select(e => e.Resource).OfType<T>().First();
}
