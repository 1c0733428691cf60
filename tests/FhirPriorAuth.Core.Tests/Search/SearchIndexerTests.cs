using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Search;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.Tests.Search;

public class SearchIndexerTests
{
    private readonly SearchIndexer _indexer = new(SearchParameterRegistry.Default);

    [Fact]
    public void GivenAPatient_WhenIndexed_ThenIdentifierNameAndBirthDateAreRows()
    {
        var patient = new Patient
        {
            Identifier = [new Identifier("https://payer.example/member-id", "M123")],
            Name = [new HumanName { Family = "Müller", Given = ["Anna"] }],
            BirthDate = "1980-05",
            Gender = AdministrativeGender.Female,
        };
        var rows = _indexer.Extract(patient);

        Assert.Contains(new TokenIndexValue("identifier", "https://payer.example/member-id", "M123"), rows);
        Assert.Contains(new TokenIndexValue("gender", null, "female"), rows);
        Assert.Contains(new StringIndexValue("family", "Müller", "muller"), rows);
        Assert.Contains(new StringIndexValue("name", "Anna", "anna"), rows);
        var birth = Assert.Single(rows.OfType<DateIndexValue>(), r => r.Param == "birthdate");
        Assert.Equal(new DateTime(1980, 5, 1).Ticks, birth.StartTicks);
        Assert.Equal(new DateTime(1980, 6, 1).Ticks, birth.EndTicks);
    }

    [Fact]
    public void GivenATaskForAGroup_WhenIndexed_ThenPatientIsNotIndexedButForIs()
    {
        var task = new Task { For = new ResourceReference("Group/g1"), Status = Task.TaskStatus.Requested, Intent = Task.TaskIntent.Order };
        var rows = _indexer.Extract(task);

        Assert.DoesNotContain(rows, r => r.Param == "patient");
        Assert.Contains(new ReferenceIndexValue("for", "Group", "g1"), rows);
        Assert.Contains(new ReferenceIndexValue("subject", "Group", "g1"), rows);
    }

    [Fact]
    public void GivenReferencesOfEveryForm_WhenIndexed_ThenTypeAndIdAreSplitWherePossible()
    {
        var claim = new Claim
        {
            Patient = new ResourceReference("https://ehr.example/fhir/Patient/p-9/_history/2"),
            Provider = new ResourceReference("urn:uuid:6a5c0f3e-0d5e-4c39-9d64-1f1c3a0e1b22"),
            Insurer = new ResourceReference { Identifier = new Identifier("http://hl7.org/fhir/sid/us-npi", "1234567893") },
        };
        var rows = _indexer.Extract(claim);

        Assert.Contains(new ReferenceIndexValue("patient", "Patient", "p-9"), rows);
        Assert.Contains(new ReferenceIndexValue("provider", null, "urn:uuid:6a5c0f3e-0d5e-4c39-9d64-1f1c3a0e1b22"), rows);
        Assert.Contains(new TokenIndexValue("insurer" + SearchIndexer.IdentifierSuffix, "http://hl7.org/fhir/sid/us-npi", "1234567893"), rows);
    }

    [Fact]
    public void GivenAPeriodWithoutEnd_WhenIndexed_ThenTheRangeIsOpen()
    {
        var rows = _indexer.Extract(new Task
        {
            ExecutionPeriod = new Period { Start = "2026-01-01" }, Status = Task.TaskStatus.Requested, Intent = Task.TaskIntent.Order,
        });
        var period = Assert.Single(rows.OfType<DateIndexValue>(), r => r.Param == "period");
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, period.EndTicks);
    }

    [Fact]
    public void EveryOwnedTypeHasIdLastUpdatedAndItsPasParameters()
    {
        var registry = SearchParameterRegistry.Default;
        foreach (var type in registry.ResourceTypes)
        {
            Assert.NotNull(registry.Find(type, "_id"));
            Assert.NotNull(registry.Find(type, "_lastUpdated"));
        }
        foreach (var (type, name) in new[] { ("Claim", "use"), ("Claim", "created"), ("Claim", "provider"), ("Claim", "insurer"),
                     ("ClaimResponse", "request"), ("ClaimResponse", "outcome"), ("Task", "focus"), ("Task", "owner"),
                     ("Task", "code"), ("Task", "for"), ("Task", "patient"), ("Coverage", "patient") })
        {
            Assert.NotNull(registry.Find(type, name));
        }
        Assert.Equal("Task.for", registry.Find("Task", "patient")!.Expression);
        Assert.Equal("Patient", registry.Find("Task", "patient")!.TargetType);
    }

    [Theory]
    [InlineData("Patient/123")]
    [InlineData("https://ehr.example.org/fhir/Patient/123")]
    [InlineData("Patient/123/_history/2")]
    [InlineData("https://ehr.example.org/fhir/Practitioner/p-1.a/_history/7")]
    [InlineData("Patient/123\n")]
    [InlineData("Patient/123/_history/2\n")]
    [InlineData("Patient/123\n\n")]
    [InlineData("Patient/123/_history/")]
    [InlineData("Patient/123/_history/2/x")]
    [InlineData("Patient/_history/2")]
    [InlineData("Patient/1/_history/2/_history/3")]
    [InlineData("X/Patient/_history/5")]
    [InlineData("urn:uuid:2f4e3c9a-0d1b-4c55-9a86-1f8f0d6a3b21")]
    [InlineData("#contained-1")]
    [InlineData("Patient/")]
    [InlineData("/123")]
    [InlineData("P/123")]
    [InlineData("patient/123")]
    [InlineData("NotAType/123")]
    [InlineData("Patient/12_3")]
    [InlineData("Patient/ab c")]
    [InlineData("Patient/\u0661\u0662")]
    [InlineData("Pätient/123")]
    [InlineData("Patient/1234567890123456789012345678901234567890123456789012345678901234")]
    [InlineData("Patient/12345678901234567890123456789012345678901234567890123456789012345")]
    [InlineData("a/b/Claim/c-1")]
    [InlineData("Claim/c-1/")]
    [InlineData("")]
    public void GivenAReference_WhenParsed_ThenTheAnswerIsTheRegularExpressionsItReplaced(string reference)
    {
        // The pattern the hand-written reader replaced, as its specification.
        var m = Regex.Match(reference, @"(?:^|/)(?<type>[A-Z][A-Za-z]+)/(?<id>[A-Za-z0-9\-\.]{1,64})(?:/_history/[^/]+)?$");
        var expected = m.Success && ModelInfo.IsKnownResource(m.Groups["type"].Value)
            ? (m.Groups["type"].Value, m.Groups["id"].Value)
            : ((string?)null, reference);
        Assert.Equal(expected, SearchIndexer.ParseReference(reference));
    }
}
