using System.Text.RegularExpressions;
using Dapper;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>SQLite chooses indexes by statistics; without them a selective search walks a whole type.</summary>
public sealed class SqliteStatisticsTests(SqliteDatabase database) : IClassFixture<SqliteDatabase>
{
    [Fact]
    public async Task AfterRefreshingStatistics_AnIdentifierSearchStartsFromTheIdentifier()
    {
        await WriteClaimsAsync(database, 0, 300);
        var (parsed, _) = new SearchQueryParser(SearchParameterRegistry.Default).Parse("Claim", ResourceInteractions.ParseQueryString("identifier=urn:test:claims|C7,urn:test:claims|C8"));
        var (sql, parameters) = new SqlSearchBuilder(database.Store.Dialect).Search(parsed);

        Assert.DoesNotContain("PRIMARY KEY", await PlanAsync(sql, parameters));
        await database.Store.Dialect.RefreshStatisticsAsync(default);
        // The Claims are found through the token index and read by their keys, instead of scanning every Claim by date.
        // (A single value is always read that way, in time order: see the Task search below.)
        Assert.Contains("INTEGER PRIMARY KEY", await PlanAsync(sql, parameters));
        Assert.Equal(2, (await database.Store.SearchAsync(parsed, default)).Resources.Count);
    }

    [Fact]
    public async Task AStatusAndOwnerSearch_StartsFromTheOwner_AndProbesTheStatus()
    {
        // Every Task is requested; each owner has a few. Statistics alone cannot tell the two apart (they average over
        // every token parameter), so the search must start from the owner's identifier whatever the parameter order.
        var fhir = new ResourceInteractions(database.Store, SearchParameterRegistry.Default, TimeProvider.System);
        var writes = Enumerable.Range(0, 300).Select(i => fhir.PrepareWrite(new Hl7.Fhir.Model.Task
        {
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Owner = new ResourceReference { Identifier = new Identifier("urn:test:owners", "O" + i % 30) },
            Identifier = [new Identifier("urn:test:tasks", "T" + i)],
        }, ResourceInteractions.NewId(), 1, 0)).ToList();
        await database.Store.CommitAsync(writes, default);
        await database.Store.Dialect.RefreshStatisticsAsync(default);

        foreach (var text in new[] { "status=requested&owner:identifier=urn:test:owners|O7", "owner:identifier=urn:test:owners|O7&status=requested" })
        {
            var (parsed, _) = new SearchQueryParser(SearchParameterRegistry.Default).Parse("Task", ResourceInteractions.ParseQueryString(text));
            var (sql, parameters) = new SqlSearchBuilder(database.Store.Dialect).Search(parsed);
            // The owner's index rows are read in time order, so the page needs no sort; the status is one seek in each
            // candidate's own index rows, not a read of every requested Task's.
            var plan = await PlanAsync(sql, parameters);
            Assert.Contains("SEARCH o USING COVERING INDEX IX_TokenIndex_Code (resource_type=? AND param=? AND code=? AND system=?)", plan);
            Assert.Equal("owner:identifier", parameters.Get<string>(Regex.Match(sql, @"o\.param = @(\w+)").Groups[1].Value));
            Assert.DoesNotContain("TEMP B-TREE", plan);
            Assert.Contains("EXISTS USING COVERING INDEX IX_TokenIndex_Resource (surrogate_id=? AND resource_type=? AND param=? AND code=?)", plan);
            Assert.Equal(10, (await database.Store.SearchAsync(parsed with { Count = 50 }, default)).Resources.Count);
        }
    }

    [Fact]
    public async Task TheRefresh_AnalysesEachIndexOfATableThatIsNewOrTenTimesLarger_AndNothingElse()
    {
        // A store of its own: what is stale depends on every row written before.
        using var store = new SqliteDatabase();
        await store.Store.Dialect.RefreshStatisticsAsync(default);
        Assert.Empty(await store.Store.Dialect.RefreshStatisticsAsync(default));

        await WriteClaimsAsync(store, 0, 200);
        var first = await store.Store.Dialect.RefreshStatisticsAsync(default);
        // One index at a time, so the writes queued behind the refresh wait for one index, not a table.
        Assert.Contains(first, a => a.StartsWith("ANALYZE \"IX_TokenIndex_Code\" in "));
        Assert.Contains(first, a => a.StartsWith("ANALYZE \"IX_TokenIndex_Resource\" in "));
        Assert.DoesNotContain(first, a => a.Contains("ANALYZE \"TokenIndex\"") || a.Contains("ANALYZE \"SmartClient"));
        Assert.Empty(await store.Store.Dialect.RefreshStatisticsAsync(default));

        await WriteClaimsAsync(store, 200, 400);
        Assert.Empty(await store.Store.Dialect.RefreshStatisticsAsync(default));
        await WriteClaimsAsync(store, 600, 2400);
        Assert.Contains(await store.Store.Dialect.RefreshStatisticsAsync(default), a => a.StartsWith("ANALYZE \"IX_TokenIndex_Code\" in "));
    }

    [Fact]
    public async Task AnIndexAnalysedLarge_IsCountedOnAReadingConnection_AndKeepsTheFiguresOfItsLastAnalysis()
    {
        using var store = new SqliteDatabase();
        var dialect = (SqliteDialect)store.Store.Dialect;
        dialect.CountedFrom = 500;
        // A Claim is one Resource row and two token rows: both tables are analysed at 500 entries or more.
        await WriteClaimsAsync(store, 0, 600);
        await dialect.RefreshStatisticsAsync(default);
        var analysed = await StatisticsAsync(store);
        Assert.True(long.Parse(analysed["IX_TokenIndex_Code"].Split(' ')[0]) >= 500);

        await WriteClaimsAsync(store, 600, 6000);
        await using (var connection = await dialect.OpenAsync(default))
        {
            // Old versions: rows the partial indexes leave out.
            await connection.ExecuteAsync("UPDATE Resource SET is_current = 0 WHERE surrogate_id % 3 = 0");
        }
        var refreshed = await dialect.RefreshStatisticsAsync(default);
        Assert.Contains(refreshed, a => a.StartsWith("counted \"IX_TokenIndex_Code\" ("));
        Assert.Contains(refreshed, a => a.StartsWith("counted \"IX_Resource_LastUpdated\" ("));
        Assert.DoesNotContain(refreshed, a => a.StartsWith("ANALYZE"));
        var counted = await StatisticsAsync(store);
        await using (var connection = await dialect.OpenAsync(default))
        {
            var entries = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM TokenIndex");
            Assert.Equal($"{entries}{analysed["IX_TokenIndex_Code"][analysed["IX_TokenIndex_Code"].IndexOf(' ')..]}", counted["IX_TokenIndex_Code"]);
            // A partial index counts only the rows its condition selects.
            var current = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM Resource WHERE is_current = 1 AND is_deleted = 0");
            Assert.StartsWith($"{current} ", counted["IX_Resource_LastUpdated"]);
        }
        // The writer plans with the new count at once: SQLite's own staleness check, made on the writer's connection,
        // finds nothing left to do.
        Assert.Empty(await dialect.RefreshStatisticsAsync(default));
    }

    private static async Task<Dictionary<string, string>> StatisticsAsync(SqliteDatabase store)
    {
        await using var connection = await store.Store.Dialect.OpenAsync(default);
        return (await connection.QueryAsync<(string, string)>("SELECT idx, stat FROM sqlite_stat1 WHERE idx IS NOT NULL")).ToDictionary(r => r.Item1, r => r.Item2);
    }

    private static async Task WriteClaimsAsync(SqliteDatabase store, int from, int count)
    {
        var fhir = new ResourceInteractions(store.Store, SearchParameterRegistry.Default, TimeProvider.System);
        await store.Store.CommitAsync(Enumerable.Range(from, count).Select(i => fhir.PrepareWrite(
            new Claim { Identifier = [new Identifier("urn:test:claims", "C" + i)], Use = ClaimUseCode.Preauthorization },
            ResourceInteractions.NewId(), 1, 0)).ToList(), default);
    }

    private async Task<string> PlanAsync(string sql, DynamicParameters parameters)
    {
        await using var connection = await database.Store.Dialect.OpenAsync(default);
        var plan = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + sql, parameters);
        return string.Join(" | ", plan.Select(p => p.Item4));
    }
}
