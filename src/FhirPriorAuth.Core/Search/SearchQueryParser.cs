using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Search;

/// <summary>
/// Turns query-string pairs into a <see cref="SearchQuery"/>. Unknown parameters are ignored and reported (FHIR's
/// lenient handling) unless the client asks for <c>handling=strict</c>; malformed values are always a 400.
/// </summary>
public sealed class SearchQueryParser(SearchParameterRegistry registry)
{
    /// <summary>Page size when <c>_count</c> is absent.</summary>
    public const int DefaultCount = 20;

    /// <summary>The largest page served.</summary>
    public const int MaxCount = 200;

    /// <summary>Parameters that shape the response rather than select resources.</summary>
    private static readonly HashSet<string> ResultParameters = ["_count", "_sort", "_format", "_pretty", "_total", "ct"];

    /// <summary>Parses a search of <paramref name="resourceType"/>.</summary>
    /// <returns>The query and the names of parameters that were ignored.</returns>
    public (SearchQuery Query, IReadOnlyList<string> Ignored) Parse(string resourceType,
        IEnumerable<KeyValuePair<string, string>> parameters, bool strict = false)
    {
        var criteria = new List<SearchCriterion>();
        var ignored = new List<string>();
        int count = DefaultCount;
        bool descending = false;
        SearchCursor? after = null;
        SearchParameterDefinition? sortBy = null;

        foreach (var (key, rawValue) in parameters)
        {
            var value = rawValue ?? "";
            switch (key)
            {
                case "_count":
                    count = ParseCount(value);
                    continue;
                case "_sort":
                    descending = value.StartsWith('-');
                    var sortName = value.TrimStart('-');
                    sortBy = sortName == SearchParameterNames.LastUpdated ? null
                        : registry.Find(resourceType, sortName) is { Type: SearchParamType.Date } date ? date
                        : throw FhirException.BadRequest(
                            $"Sorting by '{value}' is not supported; use _lastUpdated or a date parameter of {resourceType}, '-' first for descending.",
                            "_sort", OperationOutcome.IssueType.NotSupported);
                    continue;
                case "ct":
                    after = ParseCursor(value);
                    continue;
            }
            if (ResultParameters.Contains(key))
            {
                continue;
            }

            var (name, modifier) = SplitModifier(key);
            var definition = registry.Find(resourceType, name);
            if (definition is null)
            {
                if (strict)
                {
                    throw FhirException.BadRequest($"{resourceType} has no search parameter '{name}'.", key,
                        OperationOutcome.IssueType.NotSupported);
                }
                ignored.Add(key);
                continue;
            }
            criteria.Add(ParseCriterion(definition, modifier, key, value));
        }
        return (new SearchQuery(resourceType, criteria, count, descending, after, sortBy), ignored);
    }

    /// <summary>Reads <c>_count</c>: a non-negative integer, capped at <see cref="MaxCount"/>.</summary>
    public static int ParseCount(string value) => int.TryParse(value, out var count) && count >= 0
        ? Math.Min(count, MaxCount)
        : throw FhirException.BadRequest($"_count must be a non-negative integer, not '{value}'.", "_count");

    /// <summary>Reads the paging token of a <c>next</c> link.</summary>
    public static SearchCursor ParseCursor(string value) => SearchCursor.TryParse(value, out var cursor)
        ? cursor
        : throw FhirException.BadRequest("The paging token 'ct' is not one this server issued.", "ct");

    private static (string Name, string? Modifier) SplitModifier(string key)
    {
        var colon = key.IndexOf(':');
        return colon < 0 ? (key, null) : (key[..colon], key[(colon + 1)..]);
    }

    private static SearchCriterion ParseCriterion(SearchParameterDefinition p, string? modifier, string key, string value)
    {
        CheckModifier(p, modifier, key);
        var values = SplitValues(value).Select(v => ParseValue(p, modifier, key, v)).ToList();
        if (values.Count == 0)
        {
            throw FhirException.BadRequest($"The search parameter '{key}' has no value.", key);
        }
        return new SearchCriterion(p, modifier, values);
    }

    private static void CheckModifier(SearchParameterDefinition p, string? modifier, string key)
    {
        var allowed = modifier is null || p.Type switch
        {
            SearchParamType.String => modifier is "exact" or "contains",
            SearchParamType.Reference => modifier == "identifier" || ModelInfo.IsKnownResource(modifier),
            _ => false,
        };
        if (!allowed)
        {
            throw FhirException.BadRequest($"The modifier ':{modifier}' is not supported on '{p.Name}'.", key,
                OperationOutcome.IssueType.NotSupported);
        }
    }

    private static SearchValue ParseValue(SearchParameterDefinition p, string? modifier, string key, string value)
    {
        switch (p.Type)
        {
            case SearchParamType.Token:
            case SearchParamType.Uri:
                return ParseToken(value);
            case SearchParamType.String:
                return new StringSearchValue(modifier == "exact" ? value : SearchIndexer.Normalize(value));
            case SearchParamType.Reference:
                if (modifier == "identifier")
                {
                    return ParseToken(value);
                }
                var (type, id) = SearchIndexer.ParseReference(value);
                if (type is null && !value.Contains(':') && !value.Contains('/'))
                {
                    type = modifier ?? p.TargetType; // a bare id
                }
                if (modifier is not null && type is not null && type != modifier)
                {
                    throw FhirException.BadRequest($"'{value}' is not a {modifier} reference.", key);
                }
                return new ReferenceSearchValue(type, id);
            case SearchParamType.Date:
                return ParseDate(key, value);
            default:
                throw FhirException.BadRequest($"Search by '{p.Name}' is not supported.", key, OperationOutcome.IssueType.NotSupported);
        }
    }

    private static TokenSearchValue ParseToken(string value)
    {
        var bar = IndexOfUnescaped(value, '|');
        if (bar < 0)
        {
            return new TokenSearchValue(null, Unescape(value), false);
        }
        var system = Unescape(value[..bar]);
        var code = Unescape(value[(bar + 1)..]);
        return new TokenSearchValue(system.Length == 0 ? null : system, code.Length == 0 ? null : code, true);
    }

    private static DateSearchValue ParseDate(string key, string value)
    {
        var prefix = DatePrefix.Eq;
        var text = value;
        if (value.Length > 2 && char.IsLetter(value[0]))
        {
            if (!Enum.TryParse(value[..2], ignoreCase: true, out prefix) || !char.IsDigit(value[2]))
            {
                throw FhirException.BadRequest($"'{value[..2]}' is not a date search prefix.", key);
            }
            text = value[2..];
        }
        if (!FhirDateRange.TryParse(text, out var range))
        {
            throw FhirException.BadRequest($"'{text}' is not a FHIR date, dateTime or instant.", key);
        }
        return new DateSearchValue(prefix, range);
    }

    /// <summary>Splits on unescaped commas (FHIR's OR).</summary>
    private static IEnumerable<string> SplitValues(string value)
    {
        int start = 0;
        for (int i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || (value[i] == ',' && (i == 0 || value[i - 1] != '\\')))
            {
                if (i > start)
                {
                    yield return value[start..i];
                }
                start = i + 1;
            }
        }
    }

    private static int IndexOfUnescaped(string value, char c)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == c && (i == 0 || value[i - 1] != '\\'))
            {
                return i;
            }
        }
        return -1;
    }

    private static string Unescape(string value) =>
        value.Replace("\\,", ",", StringComparison.Ordinal).Replace("\\|", "|", StringComparison.Ordinal)
             .Replace("\\$", "$", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
}
