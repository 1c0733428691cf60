using System.Data.Common;

namespace FhirPriorAuth.Storage;

/// <summary>
/// Group commit for a database with one writer (SQLite): concurrent write transactions queue up, and whoever holds the
/// writer's turn runs everything queued in one transaction, each piece of work inside its own savepoint, with one
/// durable commit for all. A piece that fails is rolled back alone and its caller gets its exception; a commit that
/// fails fails every caller in the batch. Each caller returns only after its work is committed.
/// </summary>
/// <remarks>
/// Without it, concurrent writers take turns through SQLite's busy handler, which sleeps (up to 100 ms at a time)
/// instead of waiting for the lock to be released, and every request pays for its own WAL sync.
/// </remarks>
internal sealed class GroupCommit(Func<CancellationToken, Task<DbConnection>> open)
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _queueLock = new();
    private List<Work> _queue = [];

    public async Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        var item = new Work<T>(work);
        lock (_queueLock)
        {
            _queue.Add(item);
        }
        await _turn.WaitAsync(CancellationToken.None);
        try
        {
            if (!item.Done)
            {
                List<Work> batch;
                lock (_queueLock)
                {
                    (batch, _queue) = (_queue, []);
                }
                await CommitAsync(batch);
            }
        }
        finally
        {
            _turn.Release();
        }
        return await item.Completion.Task.WaitAsync(ct);
    }

    private async Task CommitAsync(List<Work> batch)
    {
        try
        {
            // Work that was queued is run even if its caller gave up: the caller may only have stopped listening.
            await using var connection = await open(CancellationToken.None);
            await using var tx = await connection.BeginTransactionAsync();
            foreach (var work in batch)
            {
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
            }
            await tx.CommitAsync();
        }
        catch (Exception e)
        {
            foreach (var work in batch)
            {
                work.Fail(e);
            }
        }
        foreach (var work in batch)
        {
            work.Finish();
        }
    }

    private abstract class Work
    {
        private Exception? _error;

        public bool Done { get; protected set; }

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
            Done = true;
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
