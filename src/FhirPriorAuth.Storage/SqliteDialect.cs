using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Dapper;
using FhirPriorAuth.Core.Search;
using Microsoft.Data.Sqlite;

namespace FhirPriorAuth.Storage;

/// <summary>SQLite: the embedded default. One file in WAL mode, synchronous=FULL so that an acknowledged commit is on disk.</summary>
public sealed partial class SqliteDialect : SqlDialect
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private readonly GroupCommit _writer;

    /// <summary>A dialect over the database the connection string names.</summary>
    public SqliteDialect(string connectionString)
        : this(connectionString, WalCheckpointOptions.Default)
    {
    }

    internal SqliteDialect(string connectionString, WalCheckpointOptions checkpoints)
    {
        _connectionString = connectionString;
        _checkpoints = checkpoints;
        var checkpointer = new WalCheckpointer(OpenAsync, checkpoints);
        _writer = new GroupCommit(OpenWriterAsync, committed: checkpointer.Committed,
            followUp: (connection, tx) => PendingIndex.MoveAsync(this, connection, tx, CancellationToken.None));
    }

    private readonly WalCheckpointOptions _checkpoints;

    private readonly string _connectionString;

    /// <inheritdoc />
    public override string Name => StorageOptions.Sqlite;

    /// <inheritdoc />
    public override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        // The settings belong to SQLite's connection, which the pool keeps from one open to the next: set once per
        // handle, not compiled and run again on every open (several per request).
        if (!Configured.TryGetValue(connection.Handle!, out _))
        {
            await ConfigureAsync(connection, ct);
            Configured.AddOrUpdate(connection.Handle!, Configured);
        }
        return connection;
    }

    private static async Task ConfigureAsync(SqliteConnection connection, CancellationToken ct)
    {
        using var pragma = connection.CreateCommand();
        // busy_timeout lets SQLite retry a locked write within milliseconds; without it the driver sleeps 150 ms a time.
        // temp_store: each request of a group commit has its savepoint, whose journal of changed pages spilled to a temporary
        // file past 64 KB; in memory it halves the write calls of a submission (690 -> 332) and the bytes written.
        // wal_autocheckpoint: a submission dirties about 150 index pages at random places; copying them back after every
        // 1,000 WAL pages (the default) wrote and re-read the same hot pages over and over. After 10,000 (a WAL of up to
        // 40 MB) reads per submission fell from about 180 to 135 and closed-loop throughput rose 13-30% (docs/performance.md).
        // The group commit's writer sets its own bound: WalCheckpointer copies its log.
        pragma.CommandText = "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 10000;";
        await pragma.ExecuteNonQueryAsync(ct);
    }

    /// <summary>SQLite connections (handles) that have the settings of <see cref="ConfigureAsync"/> and no others.</summary>
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    /// <summary>
    /// The group commit's own connection, kept from batch to batch, with a larger page cache than SQLite's 2 MB: a
    /// submission inserts about 70 index rows at random places, and with the default cache the writer read most of the
    /// pages on their way back from the file: about 130 read calls per submission, 55 with 8 MB (RSS no higher in our
    /// runs), 42 with 32 MB (which took RSS to the 400 MB target; docs/performance.md, "Sixth pass"). Its checkpoints
    /// are a background thread's (<see cref="WalCheckpointer"/>); its own only bound the log.
    /// </summary>
    internal async Task<DbConnection> OpenWriterAsync(CancellationToken ct)
    {
        var connection = new WriterConnection(_connectionString);
        await connection.OpenAsync(ct);
        // The writer changes its settings (its cache, its log bound, synchronous = NORMAL for a moment): its handle is
        // set up in full here, and a reader that gets it from the pool later sets it up again.
        Configured.Remove(connection.Handle!);
        await ConfigureAsync(connection, ct);
        using var cache = connection.CreateCommand();
        cache.CommandText = $"PRAGMA cache_size = -{WriterCacheKiB}; PRAGMA wal_autocheckpoint = {_checkpoints.WriterBound};";
        await cache.ExecuteNonQueryAsync(ct);
        return connection;
    }

    /// <summary>The writer connection's page cache, in KiB.</summary>
    internal const int WriterCacheKiB = 8192;

    /// <inheritdoc />
    public override object Row<T>(T row) => new PrefixedParameters(row);

    /// <inheritdoc />
    public override object Rows<T>(IEnumerable<T> rows) => rows.Select(r => new PrefixedParameters(r)).ToList();

    /// <inheritdoc />
    /// <remarks>
    /// Without statistics SQLite walks a type's whole last-updated index for a search that one index row answers (a
    /// Claim by identifier took 24 ms at 200,000 authorizations, 0.05 ms with them). Even sampled, ANALYZE reads for
    /// seconds on a store of several GB, and it writes, so it holds the writer: a full ANALYZE every 10 minutes stalled
    /// every write for 5.5 s on a 4.9 GB store (docs/performance.md, "Tenth pass"). So only what SQLite's own
    /// <c>PRAGMA optimize</c> finds stale is analysed (a table never analysed, or by its B-tree's estimate 10 times larger
    /// or smaller since: after 4-10 times the rows on our load); and each index is analysed as its own piece of writer work, so
    /// the submissions queued behind it wait for one index at most (0.3-0.5 s on that store) and not for a whole table.
    /// A connection reads the statistics when it loads the schema, and a refresh of existing statistics does not change
    /// the schema: the pool is emptied, so that every connection opened after the refresh plans with them.
    /// An index whose last analysis saw <see cref="CountedFrom"/> entries or more is not analysed again: the bundled
    /// SQLite counts every entry of the index while it holds the writer (0.4 s warm and 8 s cold for the token index of a
    /// 4.9 GB store, and ten times that at a million authorizations). A reading connection counts instead, and the writer
    /// only replaces the count in the index's statistics row. The rest of the row is what SQLite's own sampled analysis
    /// found last time: it reads about the first thousand entries, so those figures do not follow the store's size
    /// (three analyses of the token index at 4,000 to 45,000 submissions differed only in its rows per code, 2 to 4;
    /// docs/performance.md, "Nineteenth pass").
    /// </remarks>
    public override async Task<IReadOnlyList<string>> RefreshStatisticsAsync(CancellationToken ct)
    {
        // Debug mode (0x1) lists the ANALYZE statements optimize would run; 0x10000 checks every table, not only those
        // this connection has queried.
        var stale = await _writer.RunAsync(async (connection, tx) =>
            (await connection.QueryAsync<string>(new CommandDefinition("PRAGMA optimize = 0x10003", transaction: tx, cancellationToken: ct))).ToList(), ct);
        var analysed = new List<string>();
        foreach (var statement in stale)
        {
            // A line this code does not recognise is run as optimize gives it; a table without indexes is analysed whole.
            var table = AnalyzeTable().Match(statement);
            IEnumerable<string> analyses = [statement];
            if (table.Success)
            {
                var name = table.Groups[1].Value.Replace("\"\"", "\"");
                if (name == nameof(PendingIndex))
                {
                    continue; // Empty but for moments, and only ever read whole: its statistics would be stale at once.
                }
                // Each index with its definition, whose condition a partial index's count needs.
                var indexes = await _writer.RunAsync(async (connection, tx) => (await connection.QueryAsync<(string Name, bool Partial, string? Sql)>(new CommandDefinition(
                    "SELECT l.name, l.partial, s.sql FROM pragma_index_list(@name) l LEFT JOIN sqlite_schema s ON s.name = l.name",
                    new { name }, tx, cancellationToken: ct))).ToList(), ct);
                var toAnalyse = new List<string>();
                foreach (var (index, partial, sql) in indexes)
                {
                    var counted = await RecountAsync(name, index, partial ? sql ?? "" : null, ct);
                    if (counted is null)
                    {
                        toAnalyse.Add($"ANALYZE {Quote(index)}");
                    }
                    else
                    {
                        analysed.Add(counted);
                    }
                }
                analyses = indexes.Count > 0 ? toAnalyse : [$"ANALYZE {Quote(name)}"];
            }
            foreach (var analysis in analyses)
            {
                var started = Stopwatch.GetTimestamp();
                await _writer.RunAsync(async (connection, tx) => await connection.ExecuteAsync(new CommandDefinition(
                    $"PRAGMA analysis_limit = 1000; {analysis};", transaction: tx, cancellationToken: ct)), ct);
                analysed.Add($"{analysis} in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
            }
        }
        if (analysed.Count > 0)
        {
            await using var pooled = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(pooled);
        }
        return analysed;
    }

    /// <summary>
    /// The entries an index's last analysis must have seen for a refresh to count them on a reading connection
    /// instead of analysing the index again on the writer.
    /// </summary>
    internal long CountedFrom { get; set; } = 100_000;

    /// <summary>
    /// Counts the index's entries on a reading connection and has the writer put the count in the index's statistics
    /// row; what was done, or null where the index must be analysed instead.
    /// </summary>
    private async Task<string?> RecountAsync(string table, string index, string? partialDefinition, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var stat = await CountEntriesAsync(table, index, partialDefinition, ct);
        if (stat is null)
        {
            return null;
        }
        var counted = Stopwatch.GetTimestamp();
        // ANALYZE sqlite_schema reloads the writer's statistics from the table; it reads no index.
        await _writer.RunAsync(async (connection, tx) => await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE sqlite_stat1 SET stat = @stat WHERE tbl = @table AND idx = @index; ANALYZE sqlite_schema;",
            new { stat, table, index }, tx, cancellationToken: ct)), ct);
        return $"counted {Quote(index)} ({stat[..stat.IndexOf(' ')]} entries) in {Stopwatch.GetElapsedTime(started, counted).TotalMilliseconds:F0} ms, " +
            $"written in {Stopwatch.GetElapsedTime(counted).TotalMilliseconds:F0} ms";
    }

    /// <summary>
    /// The index's statistics row with its entries counted now, on a reading connection; null where the index must be
    /// analysed instead (never analysed, analysed small, or a partial index whose condition this cannot read).
    /// <paramref name="partialDefinition"/> is a partial index's <c>CREATE INDEX</c> text, null for a full index.
    /// </summary>
    private async Task<string?> CountEntriesAsync(string table, string index, string? partialDefinition, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        // A store never analysed has no statistics table yet.
        var last = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'", cancellationToken: ct)) == 0 ? null
            : await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = @table AND idx = @index", new { table, index }, cancellationToken: ct));
        var figures = last?.IndexOf(' ') ?? -1;
        if (figures < 0 || !long.TryParse(last.AsSpan(0, figures), out var seen) || seen < CountedFrom)
        {
            return null;
        }
        // A partial index holds only the rows its condition selects, so those are what is counted.
        var condition = partialDefinition is null ? null : PartialCondition().Match(partialDefinition);
        if (condition is { Success: false })
        {
            return null;
        }
        // One read: SQLite counts the table by its smallest index, or the partial index itself. Slices by rowid would
        // let the log be copied back meanwhile, but read the table, and so every resource body (4 s against 12 ms).
        var entries = await connection.ExecuteScalarAsync<long>(new CommandDefinition(condition is null
            ? $"SELECT count(*) FROM {Quote(table)}"
            : $"SELECT count(*) FROM {Quote(table)} INDEXED BY {Quote(index)} WHERE {condition.Groups[1].Value}", cancellationToken: ct));
        return entries + last![figures..];
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    [GeneratedRegex(@"\)\s+WHERE\s+(.+)$", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex PartialCondition();

    [GeneratedRegex("""^ANALYZE "main"\."((?:[^"]|"")+)"$""")]
    private static partial Regex AnalyzeTable();

    /// <inheritdoc />
    /// <remarks>
    /// SQLite flattens an EXISTS probe into a join and, believing a status code as rare as an identifier, reads every
    /// row with that code for each candidate; the surrogate-id index reads the candidate's few rows instead.
    /// </remarks>
    public override string ProbeBySurrogateId(string table) => $" INDEXED BY IX_{table}_Resource";

    /// <inheritdoc />
    public override string ReadValueInOrder(string table) => $" INDEXED BY IX_{table}_Code";

    /// <inheritdoc />
    /// <remarks>SQLite has one writer: concurrent transactions are committed together (<see cref="GroupCommit"/>).</remarks>
    public override Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct) =>
        _writer.RunAsync(work, ct, hereWhenIdle: true);

    /// <inheritdoc />
    /// <remarks>
    /// Stored as one blob per version for the writer's next transaction (<see cref="PendingIndex"/>): the caller's commit
    /// writes about a third of the pages it did with the rows in it.
    /// </remarks>
    public override async Task WriteIndexAsync(DbConnection connection, DbTransaction tx, long surrogateId, string resourceType,
        long lastUpdated, IReadOnlyList<IndexValue> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await connection.ExecuteAsync(new CommandDefinition(PendingIndex.Insert, Row(new
        {
            SurrogateId = surrogateId,
            ResourceType = resourceType,
            LastUpdated = lastUpdated,
            Rows = PendingIndex.Encode(rows),
        }), tx, cancellationToken: ct));
        _writer.FollowUp();
    }

    /// <inheritdoc />
    public override Task IndexedAsync() => _writer.FollowedUp;

    /// <inheritdoc />
    public override Task CatchUpIndexAsync(DbConnection connection, DbTransaction tx, CancellationToken ct) =>
        PendingIndex.MoveAsync(this, connection, tx, ct);

    /// <inheritdoc />
    public override Task CatchUpIndexAsync(CancellationToken ct) =>
        _writer.RunAsync(async (connection, tx) => { await PendingIndex.MoveAsync(this, connection, tx, ct); return true; }, ct);

    /// <inheritdoc />
    public override string RetireVersion => base.RetireVersion + " " + PendingIndex.Forget;

    /// <inheritdoc />
    /// <remarks>A unique or primary key only: a NOT NULL or CHECK failure is a defect, not a row that exists already.</remarks>
    public override bool IsUniqueViolation(DbException e) =>
        e is SqliteException { SqliteErrorCode: SqliteConstraint, SqliteExtendedErrorCode: SqliteConstraintUnique or SqliteConstraintPrimaryKey };

    /// <inheritdoc />
    public override bool IsTransient(DbException e) => e is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked };

    /// <inheritdoc />
    public override string InsertResource =>
        "INSERT INTO Resource (resource_type, resource_id, version, last_updated, is_deleted, is_current, compression, body) " +
        "VALUES (@Type, @Id, @Version, @LastUpdated, @IsDeleted, 1, @Compression, @Body) RETURNING surrogate_id";

    /// <inheritdoc />
    public override string CreateSchemaVersionTable =>
        "CREATE TABLE IF NOT EXISTS SchemaVersion (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
}
