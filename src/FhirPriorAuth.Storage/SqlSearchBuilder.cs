using System.Text;
using Dapper;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Storage;

/// <summary>
/// Translates a <see cref="SearchQuery"/> into one parameterized SELECT. The most selective criterion becomes
/// <c>r.surrogate_id IN (index-table subquery)</c>, which drives the lookup from its index; the others become
/// <c>EXISTS</c> probes by surrogate id. Values are always parameters, never spliced into the text.
/// </summary>
public sealed class SqlSearchBuilder(SqlDialect dialect)
{
    /// <summary>The SELECT of one search page (one row more than the page, to know whether a next page exists).</summary>
    public (string Sql, DynamicParameters Parameters) Search(SearchQuery query)
    {
        var p = new DynamicParameters();
        var where = new StringBuilder("r.resource_type = @Type AND r.is_current = 1 AND r.is_deleted = 0");
        p.Add("Type", query.ResourceType);
        int n = 0;
        string Param(object? value)
        {
            var name = "p" + n++;
            p.Add(name, value);
            return "@" + name;
        }

        // One criterion drives the lookup (IN, read from its index); the others are probes of each candidate row.
        // The builder picks the driver because SQLite's statistics average over all of an index's parameters: to it a
        // status code that matches every open Task looks as selective as an owner's identifier.
        var criteria = query.Criteria.OrderBy(Selectivity).ToList();
        if (query.SortBy is null && criteria.Count > 0 && SingleToken(criteria[0]) is { } token)
        {
            return InTimeOrder(query, token, criteria.Skip(1), where, p, Param);
        }
        var driver = true;
        foreach (var criterion in criteria)
        {
            where.Append(" AND (").Append(Criterion(query.ResourceType, criterion, Param, driver)).Append(')');
            driver = false;
        }
        // The sort key: the version's time, or the earliest value of a date parameter (none sorts last either way).
        var key = query.SortBy is not { } sortBy ? "r.last_updated"
            : $"COALESCE((SELECT MIN(d.start_ticks) FROM DateIndex d{dialect.ProbeBySurrogateId("DateIndex")} WHERE d.surrogate_id = r.surrogate_id " +
              $"AND d.resource_type = @Type AND d.param = {Param(sortBy.Name)}), {Param(query.Descending ? long.MinValue : long.MaxValue)})";
        if (query.After is { } after)
        {
            var (cmp, sort, seq) = (query.Descending ? "<" : ">", Param(after.SortValue), Param(after.Sequence));
            where.Append($" AND ({key} {cmp} {sort} OR ({key} = {sort} AND r.surrogate_id {cmp} {seq}))");
        }
        var direction = query.Descending ? "DESC" : "ASC";
        var take = Param(query.Count + 1);
        var sql = $"SELECT {dialect.Top(take)}{dialect.ResourceColumns}, {key} AS SortKey FROM Resource r WHERE {where} " +
                  $"ORDER BY SortKey {direction}, r.surrogate_id {direction}{dialect.Limit(take)}";
        return (sql, p);
    }

    /// <summary>
    /// A search driven by one system-qualified token value, in <c>_lastUpdated</c> order: that value's index rows are
    /// read in time order (the code index is sorted by time after the value) and joined to their resources, so the page
    /// ends the reading instead of every match being fetched and sorted. Index rows exist only for current versions,
    /// so their time is the resource's.
    /// </summary>
    private (string Sql, DynamicParameters Parameters) InTimeOrder(SearchQuery query, (string Param, string System, string Code) token,
        IEnumerable<SearchCriterion> probes, StringBuilder where, DynamicParameters p, Func<object?, string> param)
    {
        where.Append($" AND o.resource_type = @Type AND o.param = {param(token.Param)} AND o.system = {param(token.System)} AND o.code = {param(token.Code)}");
        foreach (var criterion in probes)
        {
            where.Append(" AND (").Append(Criterion(query.ResourceType, criterion, param, driver: false)).Append(')');
        }
        if (query.After is { } after)
        {
            var (cmp, sort, seq) = (query.Descending ? "<" : ">", param(after.SortValue), param(after.Sequence));
            where.Append($" AND (o.last_updated {cmp} {sort} OR (o.last_updated = {sort} AND o.surrogate_id {cmp} {seq}))");
        }
        var direction = query.Descending ? "DESC" : "ASC";
        var take = param(query.Count + 1);
        var sql = $"SELECT {dialect.Top(take)}{dialect.ResourceColumns}, o.last_updated AS SortKey " +
                  $"FROM TokenIndex o{dialect.ReadValueInOrder("TokenIndex")} JOIN Resource r ON r.surrogate_id = o.surrogate_id WHERE {where} " +
                  $"ORDER BY o.last_updated {direction}, o.surrogate_id {direction}{dialect.Limit(take)}";
        return (sql, p);
    }

    /// <summary>The indexed parameter, system and code of a criterion that is one system-qualified token, else null.</summary>
    private static (string Param, string System, string Code)? SingleToken(SearchCriterion c) =>
        (c.Parameter.Type, c.Modifier) is (SearchParamType.Token or SearchParamType.Uri, null) or (SearchParamType.Reference, "identifier")
        && c.Parameter.Name != SearchParameterNames.Id
        && c.Values is [TokenSearchValue { System: { } system, Code: { } code }]
            ? (c.Modifier == "identifier" ? c.Parameter.Name + SearchIndexer.IdentifierSuffix : c.Parameter.Name, system, code)
            : null;

    /// <summary>The SELECT of one history page, newest first, paged by surrogate id.</summary>
    public (string Sql, DynamicParameters Parameters) History(HistoryQuery query)
    {
        var p = new DynamicParameters();
        var where = new List<string>();
        if (query.ResourceType is not null)
        {
            where.Add("r.resource_type = @Type");
            p.Add("Type", query.ResourceType);
        }
        if (query.Id is not null)
        {
            where.Add("r.resource_id = @Id");
            p.Add("Id", query.Id);
        }
        if (query.Since is { } since)
        {
            where.Add("r.last_updated >= @Since");
            p.Add("Since", since.UtcTicks);
        }
        if (query.After is { } after)
        {
            where.Add("r.surrogate_id < @After");
            p.Add("After", after.Sequence);
        }
        p.Add("Take", query.Count + 1);
        var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
        var sql = $"SELECT {dialect.Top("@Take")}{dialect.ResourceColumns} FROM Resource r{filter} " +
                  $"ORDER BY r.surrogate_id DESC{dialect.Limit("@Take")}";
        return (sql, p);
    }

    /// <summary>
    /// How many rows a criterion is likely to match, as a rank (lower is fewer): ids and system-qualified tokens and
    /// references name one thing; bare codes (a status) and dates match whole populations.
    /// </summary>
    private static int Selectivity(SearchCriterion c)
    {
        if (c.Parameter.Name == SearchParameterNames.Id)
        {
            return 0;
        }
        if (c.Parameter.Name == SearchParameterNames.LastUpdated)
        {
            return 6;
        }
        return (c.Parameter.Type, c.Modifier) switch
        {
            (SearchParamType.Reference, "identifier") or (SearchParamType.Token or SearchParamType.Uri, _) =>
                c.Values.Cast<TokenSearchValue>().All(v => v.System is not null && v.Code is not null) ? 1 : 4,
            (SearchParamType.Reference, _) => 1,
            (SearchParamType.String, "exact") => 2,
            (SearchParamType.String, _) => 3,
            _ => 5,
        };
    }

    private string Criterion(string type, SearchCriterion c, Func<object?, string> param, bool driver)
    {
        var name = c.Parameter.Name;
        if (name == SearchParameterNames.Id)
        {
            return "r.resource_id IN (" + string.Join(", ", c.Values.Cast<TokenSearchValue>().Select(v => param(v.Code))) + ")";
        }
        if (name == SearchParameterNames.LastUpdated)
        {
            // A version's time is a point: the range [t, t+1 tick).
            return Or(c.Values.Cast<DateSearchValue>().Select(v => DateCondition(v, "r.last_updated", "(r.last_updated + 1)", param)));
        }

        var (table, alias, condition) = (c.Parameter.Type, c.Modifier) switch
        {
            (SearchParamType.Reference, "identifier") => ("TokenIndex", "t",
                Or(c.Values.Cast<TokenSearchValue>().Select(v => TokenCondition(v, param)))),
            (SearchParamType.Token or SearchParamType.Uri, _) => ("TokenIndex", "t",
                Or(c.Values.Cast<TokenSearchValue>().Select(v => TokenCondition(v, param)))),
            (SearchParamType.String, _) => ("StringIndex", "s",
                Or(c.Values.Cast<StringSearchValue>().Select(v => StringCondition(v, c.Modifier, param)))),
            (SearchParamType.Reference, _) => ("ReferenceIndex", "f",
                Or(c.Values.Cast<ReferenceSearchValue>().Select(v => ReferenceCondition(v, param)))),
            (SearchParamType.Date, _) => ("DateIndex", "d",
                Or(c.Values.Cast<DateSearchValue>().Select(v => DateCondition(v, "d.start_ticks", "d.end_ticks", param)))),
            _ => throw new NotSupportedException($"Search parameter type {c.Parameter.Type} is not indexed."),
        };
        var indexedName = c.Modifier == "identifier" ? name + SearchIndexer.IdentifierSuffix : name;
        var rows = $"WHERE {alias}.resource_type = {param(type)} AND {alias}.param = {param(indexedName)} AND ({condition})";
        return driver
            ? $"r.surrogate_id IN (SELECT {alias}.surrogate_id FROM {table} {alias} {rows})"
            : $"EXISTS (SELECT 1 FROM {table} {alias}{dialect.ProbeBySurrogateId(table)} {rows} AND {alias}.surrogate_id = r.surrogate_id)";
    }

    private static string Or(IEnumerable<string> conditions) => string.Join(" OR ", conditions.Select(c => $"({c})"));

    private static string TokenCondition(TokenSearchValue v, Func<object?, string> param) => (v.SystemGiven, v.System, v.Code) switch
    {
        (false, _, var code) => $"t.code = {param(code)}",
        (true, null, var code) => $"t.system IS NULL AND t.code = {param(code)}",
        (true, var system, null) => $"t.system = {param(system)}",
        (true, var system, var code) => $"t.system = {param(system)} AND t.code = {param(code)}",
    };

    private static string StringCondition(StringSearchValue v, string? modifier, Func<object?, string> param) => modifier switch
    {
        "exact" => $"s.value = {param(v.Value)}",
        "contains" => $"s.value_normalized LIKE {param("%" + EscapeLike(v.Value) + "%")} ESCAPE '\\'",
        _ => $"s.value_normalized LIKE {param(EscapeLike(v.Value) + "%")} ESCAPE '\\'",
    };

    private static string ReferenceCondition(ReferenceSearchValue v, Func<object?, string> param) => v.TargetType is null
        ? $"f.target_id = {param(v.Id)}"
        : $"f.target_id = {param(v.Id)} AND f.target_type = {param(v.TargetType)}";

    /// <summary>FHIR's date prefixes over half-open ranges: resource [start, end) against value [vs, ve).</summary>
    private static string DateCondition(DateSearchValue v, string start, string end, Func<object?, string> param)
    {
        string vs = param(v.Range.Start.UtcTicks), ve = param(v.Range.End.UtcTicks);
        var eq = $"{start} >= {vs} AND {end} <= {ve}";
        return v.Prefix switch
        {
            DatePrefix.Eq => eq,
            DatePrefix.Ne => $"NOT ({eq})",
            DatePrefix.Gt => $"{end} > {ve}",
            DatePrefix.Lt => $"{start} < {vs}",
            DatePrefix.Ge => $"{end} > {ve} OR ({eq})",
            DatePrefix.Le => $"{start} < {vs} OR ({eq})",
            DatePrefix.Sa => $"{start} >= {ve}",
            DatePrefix.Eb => $"{end} <= {vs}",
            DatePrefix.Ap => $"{start} < {ve} AND {end} > {vs}",
            _ => throw new NotSupportedException(v.Prefix.ToString()),
        };
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
