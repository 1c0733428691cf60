using System.Text;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Fhir;

public class FhirJsonTests
{
    private static FhirException Refused(string json, string? type = null) =>
        Assert.Throws<FhirException>(() => FhirJson.Parse(Encoding.UTF8.GetBytes(json), type));

    [Fact]
    public void GivenAValidPatient_WhenParsedAndSerialized_ThenItRoundTrips()
    {
        const string json = """{"resourceType":"Patient","id":"p1","name":[{"family":"O'Brien"}],"birthDate":"1970-02"}""";
        var patient = FhirJson.Parse<Patient>(Encoding.UTF8.GetBytes(json));
        Assert.Equal(json, FhirJson.ToJson(patient));
    }

    [Fact]
    public void GivenMalformedJson_WhenParsed_Then400()
    {
        var e = Refused("""{"resourceType":"Patient" """);
        Assert.Equal(400, e.Status);
        Assert.Equal(OperationOutcome.IssueType.Structure, e.Outcome.Issue[0].Code);
    }

    [Fact]
    public void GivenAnUnknownElement_WhenParsed_Then400PointsAtIt()
    {
        var e = Refused("""{"resourceType":"Patient","shoeSize":42}""");
        Assert.Equal(400, e.Status);
        Assert.Contains("Patient.shoeSize", e.Outcome.Issue.SelectMany(i => i.Expression));
    }

    [Fact]
    public void GivenTheWrongResourceType_WhenParsedForAType_Then400()
    {
        var e = Refused("""{"resourceType":"Patient","id":"x"}""", "Claim");
        Assert.Equal(400, e.Status);
        Assert.Equal("resourceType", e.Outcome.Issue[0].Expression.Single());
    }

    [Fact]
    public void GivenNestingDeeperThanTheLimit_WhenParsed_Then400()
    {
        var deep = "{\"resourceType\":\"Patient\",\"extension\":[" + string.Concat(Enumerable.Repeat("{\"url\":\"x\",\"extension\":[", 100))
                   + string.Concat(Enumerable.Repeat("]}", 100)) + "]}";
        Assert.Equal(400, Refused(deep).Status);
    }

    [Fact]
    public void GivenThousandsOfErrors_WhenParsed_ThenTheOutcomeStaysSmall()
    {
        var entries = string.Join(",", Enumerable.Repeat("{}", 5000));
        var e = Refused($"{{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{entries}]}}");
        Assert.Equal(FhirJson.MaxIssues + 1, e.Outcome.Issue.Count);
    }

    [Fact]
    public void GivenAnEmptyBody_WhenParsed_Then400() => Assert.Equal(400, Refused("").Status);
}
