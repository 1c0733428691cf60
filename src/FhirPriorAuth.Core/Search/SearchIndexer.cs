using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Search;

/// <summary>
/// Extracts the index rows of a resource: each search parameter's expression is read as member paths where it is one
/// (<see cref="MemberPaths"/>), and evaluated as FHIRPath otherwise.
/// </summary>
public sealed class SearchIndexer
{
    private readonly SearchParameterRegistry _registry;
    private readonly bool _readMemberPaths;

    // Per parameter instance (the registry hands out the same ones): its member paths, or null for FHIRPath.
    private readonly ConcurrentDictionary<SearchParameterDefinition, MemberPaths?> _memberPaths = new(ReferenceEqualityComparer.Instance);

    /// <summary>An indexer over the registry's parameters.</summary>
    public SearchIndexer(SearchParameterRegistry registry)
        : this(registry, readMemberPaths: true)
    {
    }

    /// <param name="registry">The parameters.</param>
    /// <param name="readMemberPaths">False evaluates every expression as FHIRPath (tests compare the two).</param>
    internal SearchIndexer(SearchParameterRegistry registry, bool readMemberPaths)
    {
        _registry = registry;
        _readMemberPaths = readMemberPaths;
    }

    /// <summary>The suffix of the token rows that index <c>Reference.identifier</c>, searched with <c>:identifier</c>.</summary>
    public const string IdentifierSuffix = ":identifier";

    /// <summary>The longest string indexed; longer text is cut so index keys stay within database limits.</summary>
    public const int MaxIndexedLength = 256;

    /// <summary>All index rows of the resource (none for <c>_id</c>/<c>_lastUpdated</c>, which live on the resource row).</summary>
    public IReadOnlyList<IndexValue> Extract(Resource resource)
    {
        var rows = new List<IndexValue>();
        var selected = new List<Base>();
        FhirEvaluationContext? context = null;
        foreach (var parameter in _registry.For(resource.TypeName))
        {
            if (parameter.IsResourceColumn)
            {
                continue;
            }
            selected.Clear();
            if (_readMemberPaths && _memberPaths.GetOrAdd(parameter, static p => MemberPaths.TryCompile(p.ResourceType, p.Expression)) is { } paths)
            {
                paths.Collect(resource, selected);
            }
            else
            {
                selected.AddRange(resource.Select(parameter.Expression, context ??= new FhirEvaluationContext()).OfType<Base>());
            }
            foreach (var element in selected)
            {
                AddRows(parameter, element, rows);
            }
        }
        return rows.Distinct().ToList();
    }

    private static void AddRows(SearchParameterDefinition p, Base element, List<IndexValue> rows)
    {
        switch (p.Type)
        {
            case SearchParamType.Token:
            case SearchParamType.Uri:
                foreach (var (system, code) in Tokens(element))
                {
                    rows.Add(new TokenIndexValue(p.Name, Cut(system), Cut(code)!));
                }
                break;
            case SearchParamType.String:
                foreach (var text in Strings(element))
                {
                    rows.Add(new StringIndexValue(p.Name, Cut(text)!, Cut(Normalize(text))!));
                }
                break;
            case SearchParamType.Reference:
                AddReference(p, element, rows);
                break;
            case SearchParamType.Date:
                if (DateRange(element) is { } range)
                {
                    rows.Add(new DateIndexValue(p.Name, range.Start.UtcTicks, range.End.UtcTicks));
                }
                break;
        }
    }

    private static void AddReference(SearchParameterDefinition p, Base element, List<IndexValue> rows)
    {
        switch (element)
        {
            case ResourceReference reference:
                if (reference.Reference is { Length: > 0 } literal && ParseReference(literal) is var (type, id)
                    && (p.TargetType is null || type == p.TargetType))
                {
                    rows.Add(new ReferenceIndexValue(p.Name, type, Cut(id)!));
                }
                if (reference.Identifier?.Value is { Length: > 0 } value
                    && (p.TargetType is null || reference.Type is null || reference.Type == p.TargetType))
                {
                    rows.Add(new TokenIndexValue(p.Name + IdentifierSuffix, Cut(reference.Identifier.System), Cut(value)!));
                }
                break;
            case PrimitiveType { JsonValue: string uri } when uri.Length > 0:
                rows.Add(new ReferenceIndexValue(p.Name, null, Cut(uri)!));
                break;
        }
    }

    /// <summary>
    /// Splits a literal reference into type and id. Absolute URLs keep their last <c>Type/id</c>; references of other
    /// forms (<c>urn:uuid:</c>, contained) are kept whole with no type.
    /// </summary>
    /// <remarks>
    /// Read by hand rather than by a regular expression, whose match allocated for each of a submission's references:
    /// <c>[.../]Type/id[/_history/version]</c>, a type of two or more ASCII letters starting upper case, an id of 1-64
    /// ASCII letters, digits, '-' and '.'; one line break at the very end is ignored, as the expression's <c>$</c> did.
    /// </remarks>
    public static (string? Type, string Id) ParseReference(string reference)
    {
        var text = reference.AsSpan();
        if (text.EndsWith('\n'))
        {
            text = text[..^1];
        }
        const string History = "/_history/";
        var history = text.LastIndexOf(History);
        if (history >= 0 && text.Length > history + History.Length && !text[(history + History.Length)..].Contains('/'))
        {
            text = text[..history];
        }
        var slash = text.LastIndexOf('/');
        if (slash < 0)
        {
            return (null, reference);
        }
        var id = text[(slash + 1)..];
        var type = text[(text[..slash].LastIndexOf('/') + 1)..slash];
        if (!FhirIds.IsWellFormed(id)
            || type.Length < 2 || !char.IsAsciiLetterUpper(type[0]) || type.ContainsAnyExcept(TypeCharacters))
        {
            return (null, reference);
        }
        var typeName = type.ToString();
        return ModelInfo.IsKnownResource(typeName) ? (typeName, id.ToString()) : (null, reference);
    }

    private static readonly SearchValues<char> TypeCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static IEnumerable<(string? System, string Code)> Tokens(Base element)
    {
        switch (element)
        {
            case Coding c when c.Code is { Length: > 0 }:
                yield return (c.System, c.Code!);
                break;
            case CodeableConcept cc:
                foreach (var c in cc.Coding.Where(c => c.Code is { Length: > 0 }))
                {
                    yield return (c.System, c.Code!);
                }
                break;
            case Identifier i when i.Value is { Length: > 0 }:
                yield return (i.System, i.Value!);
                break;
            case ContactPoint cp when cp.Value is { Length: > 0 }:
                yield return (null, cp.Value!);
                break;
            case FhirBoolean b when b.Value is { } v:
                yield return (null, v ? "true" : "false");
                break;
            case PrimitiveType primitive when primitive.JsonValue is { } value && Convert.ToString(value, CultureInfo.InvariantCulture) is { Length: > 0 } s:
                yield return (null, s);
                break;
        }
    }

    private static IEnumerable<string> Strings(Base element)
    {
        IEnumerable<string?> values = element switch
        {
            HumanName n => [n.Text, n.Family, .. n.Given, .. n.Prefix, .. n.Suffix],
            Address a => [a.Text, .. a.Line, a.City, a.District, a.State, a.PostalCode, a.Country],
            PrimitiveType { JsonValue: string s } => [s],
            _ => [],
        };
        return values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!);
    }

    private static FhirDateRange? DateRange(Base element)
    {
        switch (element)
        {
            case Period period:
                var start = FhirDateRange.TryParse(period.Start, out var s) ? s.Start : DateTimeOffset.MinValue;
                var end = FhirDateRange.TryParse(period.End, out var e) ? e.End : FhirDateRange.OpenEnd;
                return period.Start is null && period.End is null ? null : new FhirDateRange(start, end);
            case Instant { Value: { } instant }:
                return FhirDateRange.Point(instant);
            case PrimitiveType primitive when primitive.JsonValue is string text && FhirDateRange.TryParse(text, out var r):
                return r;
            default:
                return null;
        }
    }

    /// <summary>Lower-cases and strips diacritics, as FHIR string search requires.</summary>
    public static string Normalize(string text)
    {
        var decomposed = text.Trim().Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var ch in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(ch) != UnicodeCategory.NonSpacingMark)
            {
                sb.Append(char.ToLowerInvariant(ch));
            }
        }
        return sb.ToString();
    }

    private static string? Cut(string? value) =>
        value is { Length: > MaxIndexedLength } ? value[..MaxIndexedLength] : value;
}
