using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>SQLite's writes are committed in groups: what queues behind a writer shares one transaction.</summary>
public sealed class SqliteGroupCommitTests(SqliteDatabase database) : IClassFixture<SqliteDatabase>
{
    [Fact]
    public async Task OnlyATakenKey_IsAUniqueViolation_NotAMissingValue()
    {
        var dialect = database.Store.Dialect;
        await using var connection = await dialect.OpenAsync(default);
        await connection.ExecuteAsync("CREATE TEMP TABLE Keyed (id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE)");
        await connection.ExecuteAsync("INSERT INTO Keyed VALUES ('a', 'x')");

        var takenKey = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('a', 'y')"));
        var takenValue = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('b', 'x')"));
        var missing = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('c', NULL)"));

        Assert.True(dialect.IsUniqueViolation(takenKey));
        Assert.True(dialect.IsUniqueViolation(takenValue));
        Assert.False(dialect.IsUniqueViolation(missing));
    }

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
    public async Task WritesQueuedWhileABatchRuns_JoinItsCommit()
    {
        var dialect = database.Store.Dialect;
        var running = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        // The first piece of a batch is running when the others are queued: they join its transaction, not the next.
        var first = dialect.WriteAsync(async (_, tx) => { running.SetResult(); await release.Task; return tx; }, default);
        await running.Task;
        var joining = Enumerable.Range(0, 3).Select(_ => dialect.WriteAsync((_, tx) => Task.FromResult(tx), default)).ToList();
        release.SetResult();

        var transaction = await first;
        Assert.All(await Task.WhenAll(joining), tx => Assert.Same(transaction, tx));
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

    [Fact]
    public async Task TheWriter_KeepsOneConnectionWithALargerPageCache_AndReplacesItAfterAFailedCommit()
    {
        var dialect = database.Store.Dialect;
        Task<(DbConnection Connection, int Cache)> Writer() => dialect.WriteAsync(async (connection, tx) =>
            (connection, await connection.ExecuteScalarAsync<int>("PRAGMA cache_size", transaction: tx)), default);

        var first = await Writer();
        Assert.Equal(-SqliteDialect.WriterCacheKiB, first.Cache);
        // The background checkpointer copies the log; the writer's own checkpoint is only a bound on it.
        Assert.Equal(WalCheckpointOptions.Default.WriterBound, await dialect.WriteAsync((connection, tx) =>
            connection.ExecuteScalarAsync<int>("PRAGMA wal_autocheckpoint", transaction: tx), default));
        Assert.Same(first.Connection, (await Writer()).Connection);
        await using (var reader = await dialect.OpenAsync(default))
        {
            Assert.Equal(-2000, await reader.ExecuteScalarAsync<int>("PRAGMA cache_size")); // SQLite's default
        }

        // A commit that fails (here: its transaction was taken away) costs the writer its connection, not its service.
        await Assert.ThrowsAnyAsync<Exception>(() => dialect.WriteAsync((_, tx) => { tx.Rollback(); return Task.FromResult(0); }, default));
        var after = await Writer();
        Assert.NotSame(first.Connection, after.Connection);
        Assert.Equal(-SqliteDialect.WriterCacheKiB, after.Cache);
    }
}

/// <summary>The writer is a thread of its own, started with the first write and again after it has been idle.</summary>
public sealed class GroupCommitWriterTests(SqliteDatabase database) : IClassFixture<SqliteDatabase>
{
    [Fact]
    public async Task WorkRunsOnTheWritersOwnThread_AndAWriterThatLeftWhenIdleIsStartedAgain()
    {
        var commit = new GroupCommit(database.Store.Dialect.OpenAsync, idleExit: TimeSpan.FromSeconds(1));
        var threads = new List<Thread>();
        Task<int> Write(int i) => commit.RunAsync((_, _) =>
        {
            threads.Add(Thread.CurrentThread);
            return Task.FromResult(i);
        }, default);

        Assert.Equal(1, await Write(1));
        Assert.Equal(2, await Write(2));
        Assert.False(threads[0].IsThreadPoolThread);
        Assert.Equal("SQLite writer", threads[0].Name);
        Assert.Same(threads[0], threads[1]);

        Assert.True(threads[0].Join(TimeSpan.FromSeconds(10)), "the idle writer did not exit");
        Assert.Equal(3, await Write(3));
        Assert.NotSame(threads[0], threads[2]);
        Assert.Equal("SQLite writer", threads[2].Name);
    }

    [Fact]
    public async Task AnIdleCaller_CommitsOnItsOwnThread_AndTheWriterRunsTheFollowUpAndTheAfterCommitWork()
    {
        var afterCommit = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        var followedUp = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit(database.Store.Dialect.OpenAsync, committed: _ => afterCommit.TrySetResult(Thread.CurrentThread),
            followUp: (_, _) => { followedUp.TrySetResult(Thread.CurrentThread); return Task.CompletedTask; }, poolIdle: () => true);
        Thread? ranOn = null;

        var caller = Thread.CurrentThread;
        var written = commit.RunAsync((_, _) =>
        {
            ranOn = Thread.CurrentThread;
            commit.FollowUp();
            return Task.FromResult(1);
        }, default, hereWhenIdle: true);

        Assert.True(written.IsCompletedSuccessfully, "an idle caller's batch did not commit before RunAsync returned");
        Assert.Same(caller, ranOn);
        await commit.FollowedUp;
        Assert.Equal("SQLite writer", (await followedUp.Task.WaitAsync(TimeSpan.FromSeconds(10))).Name);
        Assert.Equal("SQLite writer", (await afterCommit.Task.WaitAsync(TimeSpan.FromSeconds(10))).Name);
    }

    [Fact]
    public async Task ACallerComingSoonAfterABatch_IsQueuedForTheWriter()
    {
        // Batches close together mean load: a caller's thread blocked on the commit would hold up the next request.
        var commit = new GroupCommit(database.Store.Dialect.OpenAsync, poolIdle: () => true, quiet: TimeSpan.FromSeconds(5));
        Task<Thread> Write() => commit.RunAsync((_, _) => Task.FromResult(Thread.CurrentThread), default, hereWhenIdle: true);

        var caller = Thread.CurrentThread;
        Assert.Same(caller, await Write());
        Assert.Equal("SQLite writer", (await Write()).Name);
    }

    [Fact]
    public async Task ACallerThatFindsABatchRunning_JoinsIt_AndOneThatFindsThePoolBusy_IsQueuedForTheWriter()
    {
        var poolIdle = true;
        var commit = new GroupCommit(database.Store.Dialect.OpenAsync, poolIdle: () => poolIdle);
        Task<Thread> Write() => commit.RunAsync((_, _) => Task.FromResult(Thread.CurrentThread), default, hereWhenIdle: true);

        // The first batch runs on its caller's thread and holds until released; the next caller joins its commit.
        var release = new TaskCompletionSource();
        var holding = commit.RunAsync(async (_, tx) => { await release.Task; return tx; }, default, hereWhenIdle: true);
        var queued = commit.RunAsync((_, tx) => Task.FromResult(tx), default, hereWhenIdle: true);
        Assert.False(queued.IsCompleted);
        release.SetResult();
        Assert.Same(await holding, await queued);
        Assert.True(await EventuallyHereAsync(), "a caller did not commit on its own thread once the writer was done");

        poolIdle = false;
        Assert.Equal("SQLite writer", (await Write()).Name);
        poolIdle = true;
        Assert.True(await EventuallyHereAsync(), "a caller did not commit on its own thread once the pool was idle again");

        // The writer clears its mark just after answering its callers: a caller may find it still set, and be queued.
        async Task<bool> EventuallyHereAsync()
        {
            for (var i = 0; i < 100; i++)
            {
                var caller = Thread.CurrentThread;
                if (ReferenceEquals(caller, await Write()))
                {
                    return true;
                }
                await Task.Delay(10);
            }
            return false;
        }
    }
}

/// <summary>The write-ahead log is copied back off the writer's thread, and starts over under steady writes.</summary>
public sealed class WalCheckpointerTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fhirpa-wal-" + Guid.NewGuid().ToString("N"));

    public WalCheckpointerTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task UnderSteadyWrites_TheLogStartsOver_WithoutTheWritersOwnCheckpoints()
    {
        var file = Path.Combine(_directory, "wal.db");
        // Small rounds, and a writer bound no run reaches: only the background and the writer's finishing keep it short.
        var dialect = new SqliteDialect($"Data Source={file}", new WalCheckpointOptions(TimeSpan.FromMilliseconds(5), 200, 100, 1_000_000));
        await using (var connection = await dialect.OpenAsync(default))
        {
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL; CREATE TABLE Body (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
        }
        var body = new byte[8_000];
        Random.Shared.NextBytes(body);

        // Eight writers back to back keep a commit always coming: about 3 pages each, 4,800 writes, some 60 MB of log.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 600; i++)
            {
                await dialect.WriteAsync((connection, tx) => connection.ExecuteAsync("INSERT INTO Body (data) VALUES (@Data)", new { Data = body }, tx), default);
            }
        })));

        Assert.True(new FileInfo(file + "-wal").Length < 8 * 1024 * 1024, $"the log grew to {new FileInfo(file + "-wal").Length:N0} bytes");
        await using var reader = await dialect.OpenAsync(default);
        Assert.Equal(4_800, await reader.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM Body"));
    }

    [Fact]
    public async Task SyncingTheDatabaseFile_ThroughSqlitesOwnHandle_LeavesItWhole()
    {
        var file = Path.Combine(_directory, "sync.db");
        var dialect = new SqliteDialect($"Data Source={file}");
        await using var connection = await dialect.OpenAsync(default);
        await connection.ExecuteAsync("CREATE TABLE Body (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
        var body = new byte[8_000];
        Random.Shared.NextBytes(body);
        for (var i = 0; i < 50; i++)
        {
            await connection.ExecuteAsync("INSERT INTO Body (data) VALUES (@Data)", new { Data = body });
        }
        var length = new FileInfo(file).Length;

        // The slot read from SQLite's method table must be xSync: the one before it, xTruncate, would cut the file to
        // two bytes; xRead and xWrite would fail or crash on these arguments.
        SqliteDatabaseFile.Sync(connection);

        Assert.Equal(length, new FileInfo(file).Length);
        Assert.Equal("ok", await connection.ExecuteScalarAsync<string>("PRAGMA integrity_check"));
        Assert.Equal(50, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM Body WHERE data = @Data", new { Data = body }));
        await connection.CloseAsync();
        Assert.Throws<InvalidOperationException>(() => SqliteDatabaseFile.Sync(connection));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
