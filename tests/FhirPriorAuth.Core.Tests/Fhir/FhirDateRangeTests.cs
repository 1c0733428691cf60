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
    [InlineData(" 2024-02-29T10:15:30.123456789-05:30 ", "2024-02-29T15:45:30.1234567Z", "2024-02-29T15:45:30.1234568Z")]
    [InlineData("2024-02-29T23:15-01:00", "2024-03-01T00:15:00Z", "2024-03-01T00:16:00Z")]
    [InlineData("9999", "9999-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999+00:00")]
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
    [InlineData("2024-")]
    [InlineData("2024-02-29T10")]
    [InlineData("2024-02-29T10:15:")]
    [InlineData("2024-02-29T10:15:30.")]
    [InlineData("2024-02-29T10:15:30.1234567890Z")]
    [InlineData("2024-02-29T10:15Zjunk")]
    [InlineData("2024-02-29T10:15+02")]
    [InlineData("2024-02-29T10:15+15:00")]
    [InlineData("2024-02-29 10:15")]
    [InlineData("0000")]
    [InlineData("\u0662\u0660\u0662\u0664")] // other scripts' digits: refused, not an exception
    [InlineData("2024-0\u0662")]
    public void GivenNoDate_WhenParsed_ThenItIsRefused(string value) => Assert.False(FhirDateRange.TryParse(value, out _));
}
