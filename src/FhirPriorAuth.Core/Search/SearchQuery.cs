using FhirPriorAuth.Core.Fhir;

namespace FhirPriorAuth.Core.Search;

/// <summary>A parsed, validated search: criteria are AND-ed, the values inside one criterion OR-ed.</summary>
/// <param name="ResourceType">The type searched.</param>
/// <param name="Criteria">What must match.</param>
/// <param name="Count">Page size.</param>
/// <param name="Descending">Order descending instead of ascending.</param>
/// <param name="After">Where the page starts (from a <c>next</c> link), or null for the first page.</param>
/// <param name="SortBy">The date parameter to order by (earliest value of each resource; those without one last), or null for <c>_lastUpdated</c>.</param>
public sealed record SearchQuery(
    string ResourceType,
    IReadOnlyList<SearchCriterion> Criteria,
    int Count,
    bool Descending = false,
    SearchCursor? After = null,
    SearchParameterDefinition? SortBy = null);

/// <summary>One parameter of a search with its modifier and OR-ed values.</summary>
public sealed record SearchCriterion(SearchParameterDefinition Parameter, string? Modifier, IReadOnlyList<SearchValue> Values);

/// <summary>A value of a search criterion.</summary>
public abstract record SearchValue;

/// <summary>
/// A token value. <see cref="System"/> null with <see cref="SystemGiven"/> false matches any system; with
/// <see cref="SystemGiven"/> true (<c>|code</c>) it matches only codes without a system. <see cref="Code"/> null
/// (<c>system|</c>) matches any code of the system.
/// </summary>
public sealed record TokenSearchValue(string? System, string? Code, bool SystemGiven) : SearchValue;

/// <summary>A string value, already normalized for the default starts-with match.</summary>
public sealed record StringSearchValue(string Value) : SearchValue;

/// <summary>A reference value: <see cref="TargetType"/> null matches any type.</summary>
public sealed record ReferenceSearchValue(string? TargetType, string Id) : SearchValue;

/// <summary>A date value with its comparison prefix.</summary>
public sealed record DateSearchValue(DatePrefix Prefix, FhirDateRange Range) : SearchValue;

/// <summary>FHIR date search prefixes.</summary>
public enum DatePrefix
{
    /// <summary>The value's range contains the resource's range.</summary>
    Eq,
    /// <summary>Not eq.</summary>
    Ne,
    /// <summary>The resource's range ends after the value's.</summary>
    Gt,
    /// <summary>The resource's range starts before the value's.</summary>
    Lt,
    /// <summary>gt or eq.</summary>
    Ge,
    /// <summary>lt or eq.</summary>
    Le,
    /// <summary>Starts after the value's range ends.</summary>
    Sa,
    /// <summary>Ends before the value's range starts.</summary>
    Eb,
    /// <summary>The two ranges overlap.</summary>
    Ap,
}

/// <summary>A keyset position in a result list: the last row's sort value and row sequence.</summary>
public readonly record struct SearchCursor(long SortValue, long Sequence)
{
    /// <summary>The opaque text carried in a <c>next</c> link.</summary>
    public override string ToString() => $"{SortValue}.{Sequence}";

    /// <summary>Reads a cursor from a link; false when the text was not written by <see cref="ToString"/>.</summary>
    public static bool TryParse(string? text, out SearchCursor cursor)
    {
        cursor = default;
        var parts = text?.Split('.');
        if (parts is not { Length: 2 } || !long.TryParse(parts[0], out var sort) || !long.TryParse(parts[1], out var seq))
        {
            return false;
        }
        cursor = new SearchCursor(sort, seq);
        return true;
    }
}
