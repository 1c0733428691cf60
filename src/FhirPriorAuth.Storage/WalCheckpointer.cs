using System.Data.Common;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace FhirPriorAuth.Storage;

/// <summary>When SQLite's write-ahead log is copied back into the database, and by whom.</summary>
/// <param name="Interval">The pause before a background pass while commits keep coming: a page written many times in it is copied once.</param>
/// <param name="StartOverAt">Frames in the log at which the writer finishes a round, so that the log starts over.</param>
/// <param name="FinishAtMost">The most frames a background pass may leave for the writer to copy when it finishes a round.</param>
/// <param name="WriterBound">The writer's own automatic checkpoint, a bound on the log should the background fall behind.</param>
internal sealed record WalCheckpointOptions(TimeSpan Interval, int StartOverAt, int FinishAtMost, int WriterBound)
{
    /// <summary>The server's settings (docs/performance.md, "Ninth pass" and "Sixteenth pass").</summary>
    public static WalCheckpointOptions Default { get; } = new(TimeSpan.FromMilliseconds(250), 16_000, 2_000, 40_000);
}

/// <summary>
/// Copies SQLite's write-ahead log back into the database on a thread and connection of its own, so that the group
/// commit's writer, and every request queued behind it, does not stop while thousands of pages are copied and synced.
/// </summary>
/// <remarks>
/// SQLite writes the log from its start again only when a write transaction begins after every frame in it has been
/// copied. Under steady writes a checkpoint on another connection never gets there: commits land while it copies, and
/// the log grows without bound. So when a background pass has left only a few frames, the writer copies those itself
/// between two batches (a small checkpoint), and its next transaction starts the log over.
/// SQLite syncs the database file only in a pass that copies the whole log, which under steady writes is the writer's:
/// its sync then wrote out every page the round's passes had copied, about half of its turn, with every commit waiting.
/// So this thread syncs the file before it asks (<see cref="SqliteDatabaseFile.Sync"/>), and the turn syncs only its own.
/// </remarks>
internal sealed class WalCheckpointer(Func<CancellationToken, Task<DbConnection>> open, WalCheckpointOptions options)
{
    private static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(10);
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _committed = new(0, 1);
    private readonly SemaphoreSlim _finished = new(0, 1);
    private int _round; // Open, Due (the background asks the writer to finish it) or Finishing (the writer took it).
    private bool _running;

    private const int Open = 0, Due = 1, Finishing = 2;

    /// <summary>On the writer's thread after each commit: wakes the background, and finishes a round when one is due.</summary>
    public void Committed(DbConnection writer)
    {
        if (Interlocked.CompareExchange(ref _round, Finishing, Due) == Due)
        {
            try
            {
                Checkpoint(writer);
            }
            finally
            {
                Volatile.Write(ref _round, Open);
                _finished.Release();
            }
        }
        if (_committed.CurrentCount == 0)
        {
            _committed.Release(); // Only the writer releases it: no race for the one count.
        }
        lock (_lock)
        {
            if (!_running)
            {
                _running = true;
                new Thread(Run) { IsBackground = true, Name = "SQLite checkpointer" }.Start();
            }
        }
    }

    private void Run()
    {
        DbConnection? connection = null;
        try
        {
            connection = open(CancellationToken.None).GetAwaiter().GetResult();
            var behind = false;
            while (true)
            {
                if (behind)
                {
                    // Catching up, but not spinning while a long read keeps frames from being copied.
                    Thread.Sleep(options.Interval / 8);
                }
                else
                {
                    if (!WaitForCommit())
                    {
                        return;
                    }
                    Thread.Sleep(options.Interval);
                }
                var (log, copied) = Checkpoint(connection);
                behind = log - copied > options.FinishAtMost;
                if (log >= options.StartOverAt && !behind)
                {
                    SqliteDatabaseFile.Sync(connection);
                    Checkpoint(connection); // What was committed during the sync.
                    AskTheWriterToFinish();
                }
            }
        }
        catch (Exception)
        {
            // The writer's own checkpoint bounds the log; the next commit starts this thread again.
            lock (_lock)
            {
                _running = false;
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private void AskTheWriterToFinish()
    {
        Volatile.Write(ref _round, Due);
        // A writer with no more commits needs no round finished: this thread's next pass copies the rest, and the next
        // write starts the log over by itself.
        if (!_finished.Wait(IdleExit) && Interlocked.CompareExchange(ref _round, Open, Due) != Due)
        {
            _finished.Wait(); // The writer took the round as the wait ended: it releases when done, if it has not yet.
        }
    }

    /// <summary>Waits for a commit; false, with the thread marked stopped, when none came for a while.</summary>
    private bool WaitForCommit()
    {
        if (_committed.Wait(IdleExit))
        {
            return true;
        }
        lock (_lock)
        {
            // A commit between the timeout and this lock released the semaphore: keep going.
            if (_committed.Wait(0))
            {
                return true;
            }
            _running = false;
            return false;
        }
    }

    /// <summary>A passive checkpoint: copies what no reader still needs, waits for nobody. Returns the log's frames and those copied.</summary>
    private static (int Log, int Copied) Checkpoint(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt32(1), reader.GetInt32(2));
    }
}

/// <summary>The database file under a SQLite connection.</summary>
internal static class SqliteDatabaseFile
{
    private const int FileControlFilePointer = 7; // SQLITE_FCNTL_FILE_POINTER
    private const int SyncNormal = 2; // SQLITE_SYNC_NORMAL
    private const int XSyncSlot = 5; // sqlite3_io_methods: iVersion (padded to a pointer), xClose, xRead, xWrite, xTruncate, xSync.

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int XSync(IntPtr file, int flags);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern int sqlite3_file_control(IntPtr db, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, int op, out IntPtr file);

    /// <summary>
    /// Writes the file's changed pages to disk through SQLite's own handle on it (its VFS's <c>xSync</c>). A handle of our
    /// own would do the same, but closing it would drop the process's POSIX locks on the file, SQLite's among them.
    /// </summary>
    public static void Sync(DbConnection connection)
    {
        var db = ((SqliteConnection)connection).Handle ?? throw new InvalidOperationException("The connection is not open.");
        var result = sqlite3_file_control(db.DangerousGetHandle(), "main", FileControlFilePointer, out var file);
        var methods = result == 0 && file != IntPtr.Zero ? Marshal.ReadIntPtr(file) : IntPtr.Zero;
        if (methods == IntPtr.Zero)
        {
            throw new InvalidOperationException($"No database file under the connection (SQLite result {result}).");
        }
        var sync = Marshal.GetDelegateForFunctionPointer<XSync>(Marshal.ReadIntPtr(methods, XSyncSlot * IntPtr.Size));
        result = sync(file, SyncNormal);
        if (result != 0)
        {
            throw new SqliteException($"Syncing the database file failed (SQLite result {result}).", result);
        }
    }
}
