using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>SQLite's writes are committed in groups: what queues behind a writer shares one transaction.</summary>
public sealed class SqliteGroupCommitTests(SqliteDatabase database) : IClassFixture<SqliteDatabase>
{
    [Fact]
    public async Task WritesQueuedBehindAWriter_CommitTogether_AndAFailingOneIsRolledBackAlone()
    {
        var dialect = database.Store.Dialect;
        var prefix = Guid.NewGuid().ToString("N");
        var release = new TaskCompletionSource();
        var holding = dialect.WriteAsync(async (_, _) => { await release.Task; return 0; }, default);

        var transactions = new ConcurrentBag<DbTransaction>();
        var queued = Enumerable.Range(1, 6).Select(i => dialect.WriteAsync(async (connection, tx) =>
        {
            transactions.Add(tx);
            await connection.ExecuteAsync("INSERT INTO SmartClient (client_id, detail) VALUES (@Id, '{}')", new { Id = $"{prefix}-{i}" }, tx);
            return i == 3 ? throw new InvalidOperationException("three fails after writing") : i;
        }, default)).ToList();
        Assert.All(queued, q => Assert.False(q.IsCompleted));
        release.SetResult();
        await holding;

        Assert.Equal("three fails after writing", (await Assert.ThrowsAsync<InvalidOperationException>(() => queued[2])).Message);
        foreach (var i in new[] { 1, 2, 4, 5, 6 })
        {
            Assert.Equal(i, await queued[i - 1]);
        }
        Assert.Single(transactions.Distinct());
        await using var connection = await dialect.OpenAsync(default);
        var stored = await connection.QueryAsync<string>("SELECT client_id FROM SmartClient WHERE client_id LIKE @Prefix", new { Prefix = prefix + "%" });
        Assert.Equal(new[] { 1, 2, 4, 5, 6 }.Select(i => $"{prefix}-{i}"), stored.Order());
    }

    [Fact]
    public async Task EveryConnection_IsDurable_AndCheckpointsItsWriteAheadLogInLargeSteps()
    {
        await using var connection = await database.Store.Dialect.OpenAsync(default);

        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("PRAGMA synchronous")); // FULL
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("PRAGMA temp_store")); // MEMORY
        Assert.Equal(10_000, await connection.ExecuteScalarAsync<int>("PRAGMA wal_autocheckpoint"));
    }
}
