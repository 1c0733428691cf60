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

    [Fact]
    public void GivenResourcesOneAfterAnotherOnAThread_WhenSerialized_ThenEachIsAloneAndWhole()
    {
        // Large enough that its buffer is let go, then small ones that reuse one; and one the serializer gives up on.
        var large = new Bundle { Type = Bundle.BundleType.Collection };
        large.Entry.AddRange(Enumerable.Range(0, 3000).Select(i => new Bundle.EntryComponent
            { FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = new Patient { Id = $"p{i}", Name = [new HumanName { Family = new string('x', 60) }] } }));
        var small = new Patient { Id = "a", BirthDate = "1970" };
        var other = new Claim { Id = "b", Status = FinancialResourceStatusCodes.Active };
        var broken = new Patient { Id = "c", BirthDateElement = new Date { JsonValue = new object() } };

        var expected = new Dictionary<Resource, string>();
        foreach (var resource in new Resource[] { large, small, other })
        {
            using var stream = new MemoryStream();
            using (var writer = new System.Text.Json.Utf8JsonWriter(stream, FhirJson.WriterOptions()))
            {
                new Hl7.Fhir.Serialization.FhirJsonSerializer().Serialize(resource, writer);
            }
            expected[resource] = Encoding.UTF8.GetString(stream.ToArray());
        }
        Assert.True(expected[large].Length > 256 * 1024);

        // On a thread of its own, so that what this thread serialized before does not count.
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                foreach (var resource in new Resource[] { small, large, other, small })
                {
                    Assert.Equal(expected[resource], Encoding.UTF8.GetString(FhirJson.ToBytes(resource)));
                }
                Assert.ThrowsAny<Exception>(() => FhirJson.ToBytes(broken));
                Assert.Equal(expected[other], Encoding.UTF8.GetString(FhirJson.ToBytes(other)));
                var first = FhirJson.ToBytes(small);
                Assert.NotSame(first, FhirJson.ToBytes(small));
                Assert.Equal(expected[small], Encoding.UTF8.GetString(first));
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
    }
}
