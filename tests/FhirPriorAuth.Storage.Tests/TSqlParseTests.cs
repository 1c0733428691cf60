using System.Reflection;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>No SQL Server runs here, so every T-SQL text the product can send is at least parsed by SQL Server's own parser.</summary>
public class TSqlParseTests
{
    private static readonly SqlServerDialect Dialect = new("Server=unused;Database=unused");

    private static void AssertParses(string sql, string what)
    {
        var parser = new TSql170Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        parser.Parse(reader, out var errors);
        Assert.True(errors.Count == 0, $"{what} does not parse as T-SQL: " +
            string.Join("; ", errors.Select(e => $"line {e.Line}: {e.Message}")) + Environment.NewLine + sql);
    }

    public static TheoryData<string> MigrationScripts() =>
        new(MigrationRunner.Scripts(StorageOptions.SqlServer).Select(m => $"{m.Version:D4}_{m.Name}"));

    [Theory]
    [MemberData(nameof(MigrationScripts))]
    public void EveryMigrationBatchParses(string migration)
    {
        var script = MigrationRunner.Scripts(StorageOptions.SqlServer).Single(m => $"{m.Version:D4}_{m.Name}" == migration);
        foreach (var batch in MigrationRunner.Batches(script.Script))
        {
            AssertParses(batch, migration);
        }
    }

    [Fact]
    public void SqliteAndSqlServerHaveTheSameMigrations() =>
        Assert.Equal(MigrationRunner.Scripts(StorageOptions.Sqlite).Select(m => (m.Version, m.Name)),
                     MigrationRunner.Scripts(StorageOptions.SqlServer).Select(m => (m.Version, m.Name)));

    [Fact]
    public void EveryFixedStatementParses()
    {
        var statements = typeof(SqlServerDialect).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.PropertyType == typeof(string) && p.Name != nameof(SqlDialect.Name) && p.Name != nameof(SqlDialect.ResourceColumns))
            .ToList();
        Assert.True(statements.Count >= 15, "the dialect's statements were not found");
        foreach (var property in statements)
        {
            AssertParses((string)property.GetValue(Dialect)!, property.Name);
        }
    }

    public static TheoryData<string, string> Queries() => new()
    {
        { "Patient", "identifier=http://sys|M1,M2&name=smi&_count=10" },
        { "Patient", "identifier=|x&family:exact=Smith&given:contains=an&_sort=-_lastUpdated" },
        { "Patient", "identifier=http://sys|&birthdate=ge1970-01-01&birthdate=lt1980" },
        { "Claim", "_id=a,b,c&_lastUpdated=gt2024-01-01&use=preauthorization&created=eq2024-05" },
        { "Claim", "patient=Patient/p1&provider:Organization=o1&insurer:identifier=http://npi|123" },
        { "Claim", "created=ne2024&created=sa2024-01-01&created=eb2025&created=le2024-06&created=ap2024-03-01" },
        { "ClaimResponse", "request=Claim/c1&outcome=queued,complete" },
        { "Task", "focus=Claim/c1&owner=https://x/Organization/o1&status=requested&code=http://c|x&for=urn:uuid:abc" },
        { "Task", "status=requested&owner:identifier=urn:q|clinical-review&due=lt2026-12-01&_sort=due" },
        { "Task", "status=requested&_sort=-due" },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public void EverySearchShapeParses(string type, string query)
    {
        var parser = new SearchQueryParser(SearchParameterRegistry.Default);
        var (parsed, _) = parser.Parse(type, Core.Fhir.ResourceInteractions.ParseQueryString(query));
        var builder = new SqlSearchBuilder(Dialect);
        AssertParses(builder.Search(parsed).Sql, query);
        AssertParses(builder.Search(parsed with { After = new SearchCursor(638000000000000000, 42) }).Sql, query + " (next page)");
    }

    [Fact]
    public void EveryHistoryShapeParses()
    {
        var builder = new SqlSearchBuilder(Dialect);
        AssertParses(builder.History(new HistoryQuery(null, null, null, 10, null)).Sql, "system history");
        AssertParses(builder.History(new HistoryQuery("Claim", "c1", DateTimeOffset.UtcNow, 10, new SearchCursor(0, 5))).Sql, "instance history");
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 2)]
    public void TheAuthorizationLookupParses(int members, int providers) =>
        AssertParses(Dialect.FindAuthorizations(members, providers), $"authorization lookup {members}/{providers}");

    [Fact]
    public void ABrokenStatementIsCaught()
    {
        // Proves the check above can fail.
        Assert.ThrowsAny<Exception>(() => AssertParses("SELECT FROM WHERE Resource r LIMIT 5", "broken"));
    }
}
