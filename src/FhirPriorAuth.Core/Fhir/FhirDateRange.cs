using System.Globalization;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// The instant range a FHIR date, dateTime or instant stands for, at its precision: <c>2024-02</c> is all of February.
/// <see cref="End"/> is exclusive. Values without a zone are read as UTC, so search and index agree.
/// </summary>
public readonly record struct FhirDateRange(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>A range open at the end (a period without <c>end</c>).</summary>
    public static readonly DateTimeOffset OpenEnd = DateTimeOffset.MaxValue;

    /// <summary>The range of a single instant.</summary>
    public static FhirDateRange Point(DateTimeOffset instant) => new(instant, instant.AddTicks(1));

    /// <summary>Parses a FHIR date/dateTime/instant string into its range.</summary>
    /// <remarks>
    /// Reads <c>yyyy[-MM[-dd[Thh:mm[:ss[.fffffffff]][Z|(+|-)hh:mm]]]]</c> by hand, in ASCII digits only: a regular
    /// expression's <c>\d</c> also took other scripts' digits, which the number parser then refused with an exception
    /// (a search's 500), and its match allocated on every date indexed.
    /// </remarks>
    public static bool TryParse(string? value, out FhirDateRange range)
    {
        range = default;
        if (value is null)
        {
            return false;
        }
        var text = value.AsSpan().Trim();
        if (!Number(text, 0, 4, out var year))
        {
            return false;
        }
        try
        {
            if (text.Length == 4)
            {
                var y = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero);
                range = new(y, year == 9999 ? OpenEnd : y.AddYears(1));
                return true;
            }
            if (text[4] != '-' || !Number(text, 5, 2, out var month))
            {
                return false;
            }
            if (text.Length == 7)
            {
                var mo = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
                range = new(mo, mo.AddMonths(1));
                return true;
            }
            if (text[7] != '-' || !Number(text, 8, 2, out var day))
            {
                return false;
            }
            if (text.Length == 10)
            {
                var d = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero);
                range = new(d, d.AddDays(1));
                return true;
            }
            if (text[10] != 'T' || !Number(text, 11, 2, out var hour) || text.Length < 16 || text[13] != ':'
                || !Number(text, 14, 2, out var minute))
            {
                return false;
            }
            var at = 16;
            var second = 0;
            var precision = TimeSpan.FromMinutes(1);
            var fraction = ReadOnlySpan<char>.Empty;
            if (at < text.Length && text[at] == ':')
            {
                if (!Number(text, at + 1, 2, out second))
                {
                    return false;
                }
                at += 3;
                precision = TimeSpan.FromSeconds(1);
                if (at < text.Length && text[at] == '.')
                {
                    var digits = at + 1;
                    while (digits < text.Length && digits - at - 1 < 9 && char.IsAsciiDigit(text[digits]))
                    {
                        digits++;
                    }
                    fraction = text[(at + 1)..digits];
                    if (fraction.IsEmpty)
                    {
                        return false;
                    }
                    at = digits;
                }
            }
            var offset = TimeSpan.Zero;
            if (at < text.Length)
            {
                if (text[at] == 'Z' && at + 1 == text.Length)
                {
                    // UTC, as without a zone.
                }
                else if (text[at] is '+' or '-' && text.Length == at + 6 && Number(text, at + 1, 2, out var zoneHours)
                    && text[at + 3] == ':' && Number(text, at + 4, 2, out var zoneMinutes))
                {
                    offset = new TimeSpan(zoneHours, zoneMinutes, 0);
                    if (text[at] == '-')
                    {
                        offset = -offset;
                    }
                }
                else
                {
                    return false;
                }
            }
            var start = new DateTimeOffset(year, month, day, hour, minute, second, offset);
            if (!fraction.IsEmpty)
            {
                // A tick is 100 ns: digits past the seventh are below it.
                var digits = Math.Min(fraction.Length, 7);
                var tick = (long)Math.Pow(10, 7 - digits);
                start = start.AddTicks(long.Parse(fraction[..digits], CultureInfo.InvariantCulture) * tick);
                precision = TimeSpan.FromTicks(tick);
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

    /// <summary>The number written in exactly <paramref name="length"/> ASCII digits at <paramref name="at"/>.</summary>
    private static bool Number(ReadOnlySpan<char> text, int at, int length, out int number)
    {
        number = 0;
        if (text.Length < at + length)
        {
            return false;
        }
        foreach (var c in text.Slice(at, length))
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            number = number * 10 + (c - '0');
        }
        return true;
    }
}
