using System.Data.Common;
using System.Diagnostics;

namespace FhirPriorAuth.Storage;

/// <summary>
/// Group commit for a database with one writer (SQLite): concurrent write transactions queue up, and the writer thread
/// runs everything queued in one transaction, each piece of work inside its own savepoint, with one durable commit for
/// all. A piece that fails is rolled back alone and its caller gets its exception; a commit that fails fails every caller
/// in the batch. Each caller returns only after its work is committed.
/// </summary>
/// <remarks>
/// Without it, concurrent writers take turns through SQLite's busy handler, which sleeps (up to 100 ms at a time)
/// instead of waiting for the lock to be released, and every request pays for its own WAL sync.
/// The writer is a thread of its own, not a pool thread taking a turn: SQLite's calls block (the sync above all), and
/// a blocked pool thread left a core idle while requests waited to be validated; and a thread that mostly sleeps is
/// scheduled as soon as it wakes, where a pool thread that had been validating waited behind the others for a core,
/// holding up every caller in its batch (docs/performance.md, "Sixth pass"). It keeps its connection, and so the pages
/// it has cached, from batch to batch, and exits (closing it) when no work has come for a while. At low load none of
/// that matters and the thread hops do: a caller that finds nothing running or queued may run its batch itself
/// (<c>hereWhenIdle</c>), and the writer does what follows the commit.
/// </remarks>
/// <param name="open">Opens the writer's connection.</param>
/// <param name="idleExit">How long the writer waits for work before it exits.</param>
/// <param name="committed">Runs on the writer after a commit, once its callers have been answered (a checkpoint).</param>
/// <param name="followUp">
/// Work a piece may ask for with <see cref="FollowUp"/>: queued first for the next transaction once the piece's commit is
/// durable, so that its callers are answered without waiting for it (the search index, <see cref="PendingIndex"/>).
/// </param>
/// <param name="poolIdle">Whether the thread pool has nothing waiting (tests replace it).</param>
/// <param name="quiet">How long no batch must have run before a caller may run its own.</param>
internal sealed class GroupCommit(
    Func<CancellationToken, Task<DbConnection>> open, TimeSpan? idleExit = null, Action<DbConnection>? committed = null,
    Func<DbConnection, DbTransaction, Task>? followUp = null, Func<bool>? poolIdle = null, TimeSpan? quiet = null)
{
    private readonly TimeSpan _idleExit = idleExit ?? TimeSpan.FromSeconds(10);
    private readonly Func<bool> _poolIdle = poolIdle ?? (() => ThreadPool.PendingWorkItemCount == 0);
    private readonly TimeSpan _quiet = quiet ?? TimeSpan.FromMilliseconds(5);
    private readonly Lock _queueLock = new();
    private readonly SemaphoreSlim _queued = new(0);
    private List<Work> _queue = [];
    private bool _writing; // a writer thread runs
    private bool _busy; // a batch runs, on the writer or on its caller's thread: whoever set it owns the connection
    private bool _committedOwed; // a batch committed on its caller's thread left the after-commit work to the writer
    private DbConnection? _connection;
    private long _lastBatchEnded = -Stopwatch.Frequency * 3600; // a Stopwatch timestamp: at first, long ago
    private bool _followUpAsked; // the running batch's own: set by its pieces, read after their commit
    private Work<bool>? _followUp;
    private int _followUpFailures;

    /// <summary>Asks, from a piece running on the writer, for the follow-up after this transaction's commit.</summary>
    public void FollowUp() => _followUpAsked = true;

    /// <summary>
    /// Completes when the follow-up asked for by every commit made so far has been committed, or has failed (what it
    /// had to do is then still to do, for the next one). Never to be awaited by a piece of work: the writer runs it.
    /// </summary>
    public Task FollowedUp
    {
        get
        {
            lock (_queueLock)
            {
                // Most searches find it done: they go on without a continuation on the pool.
                return _followUp?.Completion.Task is { IsCompleted: false } pending
                    ? pending.ContinueWith(_ => { }, TaskScheduler.Default)
                    : Task.CompletedTask;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction of the group; completes once that is committed.</summary>
    /// <param name="work">The piece of work, given the connection and the transaction.</param>
    /// <param name="ct">Stops the caller's wait, not the work.</param>
    /// <param name="hereWhenIdle">
    /// When no batch runs or has run for a while (<c>quiet</c>), nothing is queued and the thread pool has nothing
    /// waiting, the caller's thread runs the batch itself: at low load a request then neither waits for the writer to
    /// wake nor, after the commit, for a pool thread to resume it (docs/performance.md, "Fifteenth pass"). Under load
    /// the writer runs everything, as before: at 100 requests/s a pool thread blocked on the commit delayed the next
    /// request's proof.
    /// </param>
    public Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct, bool hereWhenIdle = false)
    {
        var item = new Work<T>(work);
        bool here;
        lock (_queueLock)
        {
            here = hereWhenIdle && !_busy && _queue.Count == 0 && Stopwatch.GetElapsedTime(_lastBatchEnded) >= _quiet && _poolIdle();
            if (here)
            {
                _busy = true;
            }
            else
            {
                _queue.Add(item);
                StartWriter();
            }
        }
        if (here)
        {
            return HereAsync(item);
        }
        _queued.Release();
        return item.Completion.Task.WaitAsync(ct);
    }

    /// <summary>A batch on its caller's thread; what it leaves (a follow-up, the after-commit work) goes to the writer.</summary>
    private async Task<T> HereAsync<T>(Work<T> item)
    {
        try
        {
            // SQLite's driver completes its async calls synchronously, so a piece that does not wait on anything else
            // runs to its commit on this thread.
            _connection = await CommitAsync([item], _connection, here: true);
        }
        finally
        {
            lock (_queueLock)
            {
                (_busy, _lastBatchEnded) = (false, Stopwatch.GetTimestamp());
                if (_queue.Count > 0 || _committedOwed)
                {
                    StartWriter();
                    _queued.Release();
                }
            }
        }
        return await item.Completion.Task;
    }

    /// <summary>Starts the writer thread if none runs; under <see cref="_queueLock"/>.</summary>
    private void StartWriter()
    {
        if (!_writing)
        {
            _writing = true;
            new Thread(Write) { IsBackground = true, Name = "SQLite writer" }.Start();
        }
    }

    private void Write()
    {
        while (true)
        {
            if (!_queued.Wait(_idleExit))
            {
                DbConnection? leaving;
                lock (_queueLock)
                {
                    // Work queued between the timeout and this lock is still counted by the semaphore: keep going.
                    if (_queue.Count > 0 || _busy || _committedOwed)
                    {
                        continue;
                    }
                    _writing = false;
                    (leaving, _connection) = (_connection, null);
                }
                leaving?.Dispose();
                return;
            }
            List<Work> batch;
            bool owed;
            lock (_queueLock)
            {
                if (_busy)
                {
                    continue; // A batch runs on its caller's thread; it wakes the writer when it ends, if needed.
                }
                (batch, _queue) = (_queue, []);
                (owed, _committedOwed) = (_committedOwed, false);
                if (batch.Count == 0 && !owed)
                {
                    continue; // Taken with an earlier batch; the semaphore counted each piece.
                }
                _busy = true;
            }
            try
            {
                // SQLite's driver completes its async calls synchronously, so this blocks only this thread.
                if (batch.Count > 0)
                {
                    _connection = CommitAsync(batch, _connection, here: false).GetAwaiter().GetResult();
                }
                else if (_connection is { } connection)
                {
                    _connection = AfterCommit(connection);
                }
            }
            finally
            {
                lock (_queueLock)
                {
                    (_busy, _lastBatchEnded) = (false, Stopwatch.GetTimestamp());
                }
            }
        }
    }

    /// <summary>
    /// Work queued while a batch ran joins its commit: under load a commit writes many pages every piece of work shares
    /// (index pages of common values, interior pages, the tables' last pages), so fewer, larger commits write less for the
    /// same work. Nothing waits for more to come; the cap bounds how long the first piece of a batch waits for its commit.
    /// </summary>
    private void TakeQueued(List<Work> batch)
    {
        lock (_queueLock)
        {
            var taken = Math.Min(_queue.Count, MaxBatch - batch.Count);
            batch.AddRange(_queue.Take(taken));
            _queue.RemoveRange(0, taken);
        }
    }

    private const int MaxBatch = 64;

    private const int MaxFollowUpFailures = 3;

    private static async Task SynchronousAsync(DbConnection connection, string level)
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA synchronous = {level}";
        await pragma.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Commits a batch on the writer's connection (opened when there is none); returns it, or null when it failed.
    /// <paramref name="here"/>: on its caller's thread, which leaves the after-commit work to the writer.
    /// </summary>
    private async Task<DbConnection?> CommitAsync(List<Work> batch, DbConnection? connection, bool here)
    {
        var done = false;
        var followingUp = _followUp is { } queued && batch.Contains(queued);
        // A follow-up alone commits without waiting for the disk, and takes in nothing queued meanwhile: it only redoes
        // from rows already durable, a loss of power rolls it back whole (the log's checksums), and the next durable
        // commit's sync covers it. A request arriving during it then waits for less.
        var alone = followingUp && batch.Count == 1;
        try
        {
            // Work that was queued is run even if its caller gave up: the caller may only have stopped listening.
            connection ??= await open(CancellationToken.None);
            if (alone)
            {
                await SynchronousAsync(connection, "NORMAL");
            }
            await using var tx = await connection.BeginTransactionAsync();
            for (var i = 0; i < batch.Count; i++)
            {
                var work = batch[i];
                await tx.SaveAsync("work");
                try
                {
                    await work.RunAsync(connection, tx);
                }
                catch (Exception e)
                {
                    await tx.RollbackAsync("work");
                    work.Fail(e);
                }
                await tx.ReleaseAsync("work");
                if (i == batch.Count - 1 && batch.Count < MaxBatch && !alone)
                {
                    TakeQueued(batch);
                }
            }
            await tx.CommitAsync();
            if (alone)
            {
                await SynchronousAsync(connection, "FULL");
            }
            done = true;
            if (followingUp)
            {
                _followUpFailures = 0;
            }
        }
        catch (Exception e)
        {
            foreach (var work in batch)
            {
                work.Fail(e);
            }
            // A failed follow-up is asked for again, a few times: what it had to do is still in the database.
            _followUpAsked |= followingUp && ++_followUpFailures < MaxFollowUpFailures;
            // A connection a commit failed on may be in any state: the next batch opens a fresh one.
            connection?.Dispose();
            connection = null;
        }
        if (_followUpAsked && followUp is not null)
        {
            // Queued before the callers are answered, so that whoever they tell waits for it (FollowedUp).
            _followUpAsked = false;
            lock (_queueLock)
            {
                _followUp = new Work<bool>(async (c, t) => { await followUp(c, t); return true; });
                _queue.Insert(0, _followUp);
                StartWriter();
            }
            _queued.Release();
        }
        foreach (var work in batch)
        {
            work.Finish();
        }
        if (done && committed is not null)
        {
            if (!here)
            {
                return AfterCommit(connection!);
            }
            lock (_queueLock)
            {
                _committedOwed = true;
            }
        }
        return connection;
    }

    /// <summary>What runs after a commit (a checkpoint); returns the connection, or null when it is not to be trusted.</summary>
    private DbConnection? AfterCommit(DbConnection connection)
    {
        try
        {
            committed?.Invoke(connection);
            return connection;
        }
        catch (Exception)
        {
            // What runs after a commit cannot fail it; a connection that failed is not trusted with the next batch.
            connection.Dispose();
            return null;
        }
    }

    private abstract class Work
    {
        private Exception? _error;

        public abstract Task RunAsync(DbConnection connection, DbTransaction tx);

        /// <summary>Only the first failure counts: work rolled back stays failed when the commit fails too.</summary>
        public void Fail(Exception e) => _error ??= e;

        public void Finish() => Complete(_error);

        protected abstract void Complete(Exception? error);
    }

    private sealed class Work<T>(Func<DbConnection, DbTransaction, Task<T>> work) : Work
    {
        private T? _result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task RunAsync(DbConnection connection, DbTransaction tx) => _result = await work(connection, tx);

        protected override void Complete(Exception? error)
        {
            if (error is null)
            {
                Completion.SetResult(_result!);
            }
            else
            {
                Completion.SetException(error);
            }
        }
    }
}
