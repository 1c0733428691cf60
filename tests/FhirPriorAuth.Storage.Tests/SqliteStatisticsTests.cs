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
        var fhir = new ResourceInteractions(database.Store, SearchParameterRegistry.Default, TimeProvider.System);
        var writes = Enumerable.Range(0, 300).Select(i => fhir.PrepareWrite(
            new Claim { Identifier = [new Identifier("urn:test:claims", "C" + i)], Use = ClaimUseCode.Preauthorization },
            ResourceInteractions.NewId(), 1, 0)).ToList();
        await database.Store.CommitAsync(writes, default);
        var (parsed, _) = new SearchQueryParser(SearchParameterRegistry.Default).Parse("Claim", ResourceInteractions.ParseQueryString("identifier=urn:test:claims|C7"));
        var (sql, parameters) = new SqlSearchBuilder(database.Store.Dialect).Search(parsed);

        Assert.DoesNotContain("PRIMARY KEY", await PlanAsync(sql, parameters));
        await database.Store.Dialect.RefreshStatisticsAsync(default);
        // The Claim is found through the token index and read by its key, instead of scanning every Claim by date.
        Assert.Contains("INTEGER PRIMARY KEY", await PlanAsync(sql, parameters));
        Assert.Single((await database.Store.SearchAsync(parsed, default)).Resources);
    }

    private async Task<string> PlanAsync(string sql, DynamicParameters parameters)
    {
        await using var connection = await database.Store.Dialect.OpenAsync(default);
        var plan = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + sql, parameters);
        return string.Join(" | ", plan.Select(p => p.Item4));
    }
}
