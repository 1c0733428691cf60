using Dapper;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>
/// SQLite writes a version's search index rows in the writer's transaction after the one its caller waits for
/// (ADR 0015). Searches must not see the gap, and a stop inside it must not lose the rows.
/// </summary>
public sealed class SqlitePendingIndexTests
{
    private const string Members = "https://payer.example/member-id";

    private static ResourceInteractions Fhir(SqliteDatabase database) => new(database.Store, SearchParameterRegistry.Default, TimeProvider.System);

    private static Patient Member(string memberId) => new() { Identifier = [new Identifier(Members, memberId)] };

    private static async Task<IReadOnlyList<string>> FindAsync(SqliteDatabase database, string memberId) =>
        (await Fhir(database).SearchAsync("Patient", [KeyValuePair.Create("identifier", $"{Members}|{memberId}")], false, default))
        .Page.Resources.Select(r => r.Id).ToList();

    /// <summary>
    /// Leaves a stored version as a stop between the two transactions does: its rows pending, none in the index tables.
    /// </summary>
    private static async Task UnindexAsync(SqliteDatabase database, string id)
    {
        await database.Store.Dialect.IndexedAsync();
        await using var connection = await database.Store.Dialect.OpenAsync(default);
        var surrogateId = await connection.ExecuteScalarAsync<long>(
            "SELECT surrogate_id FROM Resource WHERE resource_type = 'Patient' AND resource_id = @id AND is_current = 1", new { id });
        var stored = await connection.QuerySingleAsync<(string System, string Code, long LastUpdated)>(
            "SELECT system, code, last_updated FROM TokenIndex WHERE surrogate_id = @surrogateId AND param = 'identifier'", new { surrogateId });
        await connection.ExecuteAsync(
            "DELETE FROM TokenIndex WHERE surrogate_id = @surrogateId; DELETE FROM StringIndex WHERE surrogate_id = @surrogateId; " +
            "DELETE FROM ReferenceIndex WHERE surrogate_id = @surrogateId; DELETE FROM DateIndex WHERE surrogate_id = @surrogateId;",
            new { surrogateId });
        await connection.ExecuteAsync(PendingIndex.Insert, new
        {
            SurrogateId = surrogateId,
            ResourceType = "Patient",
            stored.LastUpdated,
            Rows = PendingIndex.Encode([new TokenIndexValue("identifier", stored.System, stored.Code)]),
        });
    }

    /// <summary>Creates a member's Patient and leaves it as a stop between its commit and its index's move would.</summary>
    private static async Task<string> CreateUnindexedAsync(SqliteDatabase database, string memberId)
    {
        var id = (await Fhir(database).CreateAsync("Patient", Member(memberId), null, default)).Resource.Id;
        await UnindexAsync(database, id);
        return id;
    }

    private static async Task<long> PendingAsync(SqliteDatabase database)
    {
        await using var connection = await database.Store.Dialect.OpenAsync(default);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM PendingIndex");
    }

    [Fact]
    public async Task EveryAnsweredWrite_IsFoundByASearchStartedAfterIt()
    {
        using var database = new SqliteDatabase();
        // The rows are written just after the answer: a search that did not wait for them would miss some of these.
        for (var i = 0; i < 30; i++)
        {
            var memberId = $"M{i}-{Guid.NewGuid():N}";
            var created = await Fhir(database).CreateAsync("Patient", Member(memberId), null, default);
            Assert.Equal([created.Resource.Id], await FindAsync(database, memberId));
        }
        Assert.Equal(0, await PendingAsync(database));
    }

    [Fact]
    public async Task TheWriter_IsDurableAgainAfterAMoveThatWasNot()
    {
        using var database = new SqliteDatabase();
        await Fhir(database).CreateAsync("Patient", Member(Guid.NewGuid().ToString("N")), null, default);
        await database.Store.Dialect.IndexedAsync();

        Assert.Equal(2, await database.Store.Dialect.WriteAsync((connection, tx) => // FULL
            connection.ExecuteScalarAsync<int>("PRAGMA synchronous", transaction: tx), default));
    }

    [Fact]
    public async Task RowsAStopLeftPending_AreWrittenAtTheNextStart()
    {
        using var database = new SqliteDatabase();
        var memberId = Guid.NewGuid().ToString("N");
        var id = await CreateUnindexedAsync(database, memberId);
        Assert.Empty(await FindAsync(database, memberId));

        var restarted = new SqlResourceStore(new StorageOptions { DataDirectory = database.Directory }.CreateDialect());
        await new MigrationRunner(restarted.Dialect).MigrateAsync(default);

        Assert.Equal([id], await FindAsync(database, memberId));
        Assert.Equal(0, await PendingAsync(database));
    }

    [Fact]
    public async Task AVersionReplacedBeforeItsRowsWereWritten_NeverReachesTheIndex()
    {
        using var database = new SqliteDatabase();
        var (first, second) = (Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"));
        var id = await CreateUnindexedAsync(database, first);

        var update = Member(second);
        update.Id = id;
        await Fhir(database).UpdateAsync("Patient", id, update, 1, default);

        Assert.Empty(await FindAsync(database, first));
        Assert.Equal([id], await FindAsync(database, second));
        Assert.Equal(0, await PendingAsync(database));
        // Searches read current versions only, so a retired version's rows would not show in them: count them.
        await using var connection = await database.Store.Dialect.OpenAsync(default);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM TokenIndex WHERE code = @first", new { first }));
    }

    [Fact]
    public async Task AConditionalCreate_FindsAMatchWhoseRowsArePending()
    {
        using var database = new SqliteDatabase();
        var memberId = Guid.NewGuid().ToString("N");
        var id = await CreateUnindexedAsync(database, memberId);

        var again = await Fhir(database).CreateAsync("Patient", Member(memberId), $"identifier={Members}|{memberId}", default);

        Assert.False(again.Created);
        Assert.Equal(id, again.Resource.Id);
    }

    [Fact]
    public void PendingRows_ComeBackAsTheyWereStored()
    {
        IndexValue[] rows =
        [
            new TokenIndexValue("identifier", null, "x"), new TokenIndexValue("_security", "urn:s", "org-1"),
            new StringIndexValue("name", "Zoë", "zoe"), new ReferenceIndexValue("patient", "Patient", "p1"),
            new ReferenceIndexValue("focus", null, "urn:uuid:1"), new DateIndexValue("created", 638000000000000000, 638000000000000001),
        ];
        Assert.Equal(rows, PendingIndex.Decode(PendingIndex.Encode(rows)));
    }
}
