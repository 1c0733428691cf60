using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Tests.Validation;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Tests.Fhir;

/// <summary>A request parsed on two threads is the tree one parse makes, or is parsed on one thread.</summary>
public sealed class ParseInTwoTests
{
    private static readonly string Template =
        File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json"));

    [Theory]
    [MemberData(nameof(SameVerdictTests.ConformanceInputs), MemberType = typeof(SameVerdictTests))]
    public async Task InfernoInputs_ParsedInTwo_AreTheTreeOneParseMakes(string version, string file) =>
        await AssertSameTree(File.ReadAllBytes(Path.Combine(RepoPaths.InfernoPas(version), file)));

    [Fact]
    public async Task GeneratedRequests_AreCutInTwo_AndParsedInTwo_IntoTheTreeOneParseMakes()
    {
        var generator = new PasRequestGenerator(Template, seed: 5);
        for (var i = 0; i < 10; i++)
        {
            var json = Encoding.UTF8.GetBytes(generator.Next());
            Assert.NotNull(FhirJson.SplitEntries(json));
            await AssertSameTree(json);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task AnElementTheModelDoesNotDefine_InEitherHalf_IsDropped_AndSaidToBe(int entry)
    {
        var json = JsonNode.Parse(Template)!.AsObject();
        var entries = json["entry"]!.AsArray();
        entries[entry < 0 ? entries.Count + entry : entry]!["resource"]!["nickname"] = "Bob";
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());
        Assert.NotNull(FhirJson.SplitEntries(bytes));

        var parsed = await FhirJson.ParseForProofInTwoAsync(bytes);

        Assert.True(FhirJson.DroppedUnknownElements(parsed));
        await AssertSameTree(bytes);
    }

    [Fact]
    public async Task AnErrorInTheLaterHalf_FailsTheParse_AsOneParseDoes()
    {
        var json = JsonNode.Parse(Template)!.AsObject();
        var entries = json["entry"]!.AsArray();
        entries[^1]!["resource"] = 5;
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());
        Assert.NotNull(FhirJson.SplitEntries(bytes));

        var once = Assert.Throws<FhirException>(() => FhirJson.ParseForProof(bytes));
        var inTwo = await Assert.ThrowsAsync<FhirException>(() => FhirJson.ParseForProofInTwoAsync(bytes));
        Assert.Equal(once.Status, inTwo.Status);
    }

    [Theory]
    [InlineData("""{"resourceType":"Parameters","entry":[{},{},{},{}]}""")]
    [InlineData("""{"resourceType":"Bundle","type":"collection","entry":[{},{},{}]}""")]
    [InlineData("""{"resourceType":"Bundle","entry":[{},{},{},{}],"entry":[{}]}""")]
    [InlineData("""{"resourceType":"Bundle","entry":[{},{},{},{},null]}""")]
    [InlineData("""{"resourceType":"Bundle","entry":[{},{},{},{}]} trailing""")]
    [InlineData("""{"resourceType":"Bundle",/* a comment */"entry":[{},{},{},{}]}""")]
    [InlineData("""{"entry":[{},{},{},{}]}""")]
    [InlineData("""[{"resourceType":"Bundle","entry":[{},{},{},{}]}]""")]
    public void BodiesOfAnyOtherShape_AreNotCut(string json) => Assert.Null(FhirJson.SplitEntries(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void ABundle_IsCutBetweenEntries_NearItsMiddle()
    {
        var json = """{"resourceType":"Bundle","entry":[{"fullUrl":"urn:a"}, {"fullUrl":"urn:b"},{"fullUrl":"urn:c"},{"fullUrl":"urn:d"}],"type":"collection"}""";

        var (first, later) = FhirJson.SplitEntries(Encoding.UTF8.GetBytes(json))!.Value;

        Assert.Equal("""{"resourceType":"Bundle","entry":[{"fullUrl":"urn:a"}, {"fullUrl":"urn:b"}],"type":"collection"}""", Encoding.UTF8.GetString(first));
        Assert.Equal("""{"resourceType":"Bundle","entry":[{"fullUrl":"urn:c"},{"fullUrl":"urn:d"}]}""", Encoding.UTF8.GetString(later));
    }

    private static async Task AssertSameTree(byte[] json)
    {
        var once = FhirJson.ParseForProof(json);
        var inTwo = await FhirJson.ParseForProofInTwoAsync(json);
        Assert.Equal(FhirJson.ToJson(once), FhirJson.ToJson(inTwo));
        Assert.Equal(FhirJson.DroppedUnknownElements(once), FhirJson.DroppedUnknownElements(inTwo));
    }
}
