using FhirPriorAuth.Core.Pas;

namespace FhirPriorAuth.Core.Tests.Pas;

/// <summary>Authorization numbers: readable, unique, and in the order they were made.</summary>
public sealed class AuthorizationNumberTests
{
    [Fact]
    public void Numbers_SortAsTheTimesTheyWereMadeAt_AcrossTheDayAndIntoTheNext()
    {
        var start = new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero);
        // Steps from a millisecond to hours, each digit of the time part carrying over, and past midnight.
        var times = new[] { 0L, 1, 31, 32, 33, 1_023, 1_024, 32_767, 32_768, 1_048_575, 1_048_576, 33_554_431, 33_554_432, 86_399_999, 86_400_000, 86_400_001 }
            .Select(ms => start.AddMilliseconds(ms)).ToList();
        var numbers = times.Select(PriorAuthorizationService.NewAuthorizationNumber).ToList();

        Assert.Equal(numbers, numbers.Order(StringComparer.Ordinal));
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
        Assert.All(numbers, n => Assert.Matches("^PA202611(29|30)-[2-9A-HJ-NP-Z]{12}$", n));
        Assert.StartsWith("PA20261130-222222", numbers[^2]);
        Assert.StartsWith("PA20261129-222222", numbers[0]);
        Assert.StartsWith("PA20261129-222223", numbers[1]);
    }

    [Fact]
    public void Numbers_MadeInTheSameMillisecond_DifferInTheirRandomPart_AndTheDateIsUtc()
    {
        var now = new DateTimeOffset(2026, 11, 29, 23, 30, 0, TimeSpan.FromHours(-5)); // 04:30 UTC on the 30th
        var numbers = Enumerable.Range(0, 1_000).Select(_ => PriorAuthorizationService.NewAuthorizationNumber(now)).ToList();

        Assert.Equal(1_000, numbers.Distinct().Count());
        Assert.Single(numbers.Select(n => n[..17]).Distinct());
        Assert.StartsWith("PA20261130-", numbers[0]);
    }
}
