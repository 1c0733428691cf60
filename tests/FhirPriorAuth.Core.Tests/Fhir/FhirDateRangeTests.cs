using FhirPriorAuth.Core.Fhir;

namespace FhirPriorAuth.Core.Tests.Fhir;

public class FhirDateRangeTests
{
    [Theory]
    [InlineData("2024", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")]
    [InlineData("2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")]
    [InlineData("2024-02-29", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z")]
    [InlineData("2024-02-29T10:15", "2024-02-29T10:15:00Z", "2024-02-29T10:16:00Z")]
    [InlineData("2024-02-29T10:15:30+02:00", "2024-02-29T08:15:30Z", "2024-02-29T08:15:31Z")]
    [InlineData("2024-02-29T10:15:30.250Z", "2024-02-29T10:15:30.25Z", "2024-02-29T10:15:30.251Z")]
    public void GivenAPartialDate_WhenParsed_ThenTheRangeCoversItsPrecision(string value, string start, string end)
    {
        Assert.True(FhirDateRange.TryParse(value, out var range));
        Assert.Equal(DateTimeOffset.Parse(start), range.Start);
        Assert.Equal(DateTimeOffset.Parse(end), range.End);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2024-13")]
    [InlineData("2024-02-30")]
    [InlineData("2024-02-01T25:00Z")]
    public void GivenNoDate_WhenParsed_ThenItIsRefused(string value) => Assert.False(FhirDateRange.TryParse(value, out _));
}
