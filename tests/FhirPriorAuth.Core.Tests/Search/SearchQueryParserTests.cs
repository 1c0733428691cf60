using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;

namespace FhirPriorAuth.Core.Tests.Search;

public class SearchQueryParserTests
{
    private readonly SearchQueryParser _parser = new(SearchParameterRegistry.Default);

    private SearchQuery Parse(string type, string query, bool strict = false) =>
        _parser.Parse(type, ResourceInteractions.ParseQueryString(query), strict).Query;

    [Theory]
    [InlineData("identifier=abc", null, "abc", false)]
    [InlineData("identifier=http://sys|abc", "http://sys", "abc", true)]
    [InlineData("identifier=|abc", null, "abc", true)]
    [InlineData("identifier=http://sys|", "http://sys", null, true)]
    public void GivenTokenForms_WhenParsed_ThenSystemAndCodeAreSplit(string query, string? system, string? code, bool systemGiven)
    {
        var value = Assert.IsType<TokenSearchValue>(Parse("Patient", query).Criteria.Single().Values.Single());
        Assert.Equal(new TokenSearchValue(system, code, systemGiven), value);
    }

    [Fact]
    public void GivenCommaSeparatedValues_WhenParsed_ThenTheyAreAlternatives()
    {
        var criterion = Parse("Task", "status=requested,in-progress").Criteria.Single();
        Assert.Equal(2, criterion.Values.Count);
    }

    [Theory]
    [InlineData("Task", "_sort=due", "due", false)]
    [InlineData("Task", "_sort=-due", "due", true)]
    [InlineData("Claim", "_sort=-created", "created", true)]
    [InlineData("Claim", "_sort=-_lastUpdated", null, true)]
    public void GivenASortByADate_WhenParsed_ThenTheParameterAndDirectionAreKept(string type, string query, string? parameter, bool descending)
    {
        var parsed = Parse(type, query);
        Assert.Equal((parameter, descending), (parsed.SortBy?.Name, parsed.Descending));
    }

    [Theory]
    [InlineData("created=ge2024-01-01", DatePrefix.Ge)]
    [InlineData("created=2024-01", DatePrefix.Eq)]
    [InlineData("created=sa2024-01-01T10:00:00Z", DatePrefix.Sa)]
    public void GivenDatePrefixes_WhenParsed_ThenPrefixAndRangeAreRead(string query, DatePrefix prefix)
    {
        var value = Assert.IsType<DateSearchValue>(Parse("Claim", query).Criteria.Single().Values.Single());
        Assert.Equal(prefix, value.Prefix);
    }

    [Theory]
    [InlineData("Claim", "created=2024-99-01")]
    [InlineData("Claim", "created=xx2024-01-01")]
    [InlineData("Claim", "_count=-1")]
    [InlineData("Claim", "_sort=use")]
    [InlineData("Claim", "_sort=nonsense")]
    [InlineData("Claim", "ct=garbage")]
    [InlineData("Claim", "use:exact=claim")]
    [InlineData("Patient", "name:missing=true")]
    public void GivenMalformedParameters_WhenParsed_Then400(string type, string query)
    {
        var e = Assert.Throws<FhirException>(() => Parse(type, query));
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public void GivenAnUnknownParameter_WhenLenient_ThenItIsIgnoredAndReported()
    {
        var (query, ignored) = _parser.Parse("Patient", [KeyValuePair.Create("shoe-size", "42")], strict: false);
        Assert.Empty(query.Criteria);
        Assert.Equal(["shoe-size"], ignored);
    }

    [Fact]
    public void GivenAnUnknownParameter_WhenStrict_Then400()
    {
        var e = Assert.Throws<FhirException>(() => Parse("Patient", "shoe-size=42", strict: true));
        Assert.Equal(400, e.Status);
    }

    [Fact]
    public void GivenAHugeCount_WhenParsed_ThenItIsCapped() =>
        Assert.Equal(SearchQueryParser.MaxCount, Parse("Patient", "_count=100000").Count);

    [Theory]
    [InlineData("patient=Patient/p1", "Patient", "p1")]
    [InlineData("patient=p1", null, "p1")]
    [InlineData("provider=Organization/o1", "Organization", "o1")]
    [InlineData("provider:Organization=o1", "Organization", "o1")]
    [InlineData("provider=https://ehr.example/fhir/Practitioner/pr1", "Practitioner", "pr1")]
    public void GivenReferenceForms_WhenParsed_ThenTypeAndIdAreRead(string query, string? type, string id)
    {
        var value = Assert.IsType<ReferenceSearchValue>(Parse("Claim", query).Criteria.Single().Values.Single());
        Assert.Equal(new ReferenceSearchValue(type, id), value);
    }
}
