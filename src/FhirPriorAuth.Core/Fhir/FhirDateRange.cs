using System.Globalization;
using System.Text.RegularExpressions;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// The instant range a FHIR date, dateTime or instant stands for, at its precision: <c>2024-02</c> is all of February.
/// <see cref="End"/> is exclusive. Values without a zone are read as UTC, so search and index agree.
/// </summary>
public readonly partial record struct FhirDateRange(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>A range open at the end (a period without <c>end</c>).</summary>
    public static readonly DateTimeOffset OpenEnd = DateTimeOffset.MaxValue;

    /// <summary>The range of a single instant.</summary>
    public static FhirDateRange Point(DateTimeOffset instant) => new(instant, instant.AddTicks(1));

    /// <summary>Parses a FHIR date/dateTime/instant string into its range.</summary>
    public static bool TryParse(string? value, out FhirDateRange range)
    {
        range = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }
        var m = Pattern().Match(value.Trim());
        if (!m.Success)
        {
            return false;
        }
        try
        {
            int year = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
            if (!m.Groups["mo"].Success)
            {
                var y = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero);
                range = new(y, year == 9999 ? OpenEnd : y.AddYears(1));
                return true;
            }
            int month = int.Parse(m.Groups["mo"].Value, CultureInfo.InvariantCulture);
            if (!m.Groups["d"].Success)
            {
                var mo = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
                range = new(mo, mo.AddMonths(1));
                return true;
            }
            int day = int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture);
            if (!m.Groups["h"].Success)
            {
                var d = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero);
                range = new(d, d.AddDays(1));
                return true;
            }
            var offset = TimeSpan.Zero;
            if (m.Groups["tz"].Success && m.Groups["tz"].Value != "Z")
            {
                var tz = m.Groups["tz"].Value;
                offset = new TimeSpan(int.Parse(tz.AsSpan(1, 2), CultureInfo.InvariantCulture),
                    int.Parse(tz.AsSpan(4, 2), CultureInfo.InvariantCulture), 0);
                if (tz[0] == '-')
                {
                    offset = -offset;
                }
            }
            var start = new DateTimeOffset(year, month, day,
                int.Parse(m.Groups["h"].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups["mi"].Value, CultureInfo.InvariantCulture),
                m.Groups["s"].Success ? int.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture) : 0, offset);
            TimeSpan precision;
            if (m.Groups["f"].Success)
            {
                var fraction = m.Groups["f"].Value;
                var digits = Math.Min(fraction.Length, 7);
                start = start.AddTicks(long.Parse(fraction.AsSpan(0, digits), CultureInfo.InvariantCulture) * (long)Math.Pow(10, 7 - digits));
                precision = TimeSpan.FromTicks((long)Math.Pow(10, 7 - digits));
            }
            else
            {
                precision = m.Groups["s"].Success ? TimeSpan.FromSeconds(1) : TimeSpan.FromMinutes(1);
            }
            start = start.ToUniversalTime();
            range = new(start, start + precision);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^(?<y>\d{4})(-(?<mo>\d{2})(-(?<d>\d{2})(T(?<h>\d{2}):(?<mi>\d{2})(:(?<s>\d{2})(\.(?<f>\d{1,9}))?)?(?<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$")]
    private static partial Regex Pattern();
}
