using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace FhirPriorAuth.Storage;

/// <summary>
/// The SQLite writer's connection: keeps each statement it compiles, by its text, and runs it again from then on.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite keeps compiled statements per command object only (dotnet/efcore#14044), and Dapper makes a
/// command per call, so each of the twenty-odd statements a submission runs was compiled anew on every save, on the one
/// thread every commit waits for (docs/performance.md, "Seventeenth pass"). Commands Dapper makes here lease the kept
/// statement of their text and give it back when disposed. Not thread-safe: the writer runs one batch at a time.
/// </remarks>
internal sealed class WriterConnection(string connectionString) : SqliteConnection(connectionString)
{
    // The writer runs a few dozen distinct texts; the bound keeps a text made per call from growing the cache.
    private const int MaxKept = 128;
    private readonly Dictionary<string, SqliteCommand> _kept = new(StringComparer.Ordinal);

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => new LeasedCommand(this);

    private SqliteCommand Lease(string text, DbTransaction? transaction)
    {
        if (!_kept.Remove(text, out var command))
        {
            // Not kept, or leased already (a command run inside another's reader): a fresh one, kept when given back.
            command = CreateCommand();
            command.CommandText = text;
        }
        command.Transaction = transaction as SqliteTransaction ?? Transaction;
        command.CommandTimeout = DefaultTimeout;
        return command;
    }

    private void GiveBack(SqliteCommand command)
    {
        command.Parameters.Clear();
        command.Transaction = null;
        if (_kept.Count >= MaxKept || !_kept.TryAdd(command.CommandText, command))
        {
            command.Dispose();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var command in _kept.Values)
            {
                command.Dispose();
            }
            _kept.Clear();
        }
        base.Dispose(disposing);
    }

    /// <summary>A command over the kept statement of its text, leased when the text is set.</summary>
    private sealed class LeasedCommand(WriterConnection connection) : DbCommand
    {
        private SqliteCommand? _statement;
        private DbTransaction? _transaction;
        private int? _timeout;

        private SqliteCommand Statement => _statement ?? throw new InvalidOperationException("Set the command's text first.");

        [AllowNull]
        public override string CommandText
        {
            get => _statement?.CommandText ?? "";
            set
            {
                if (_statement is { } leased)
                {
                    connection.GiveBack(leased);
                }
                _statement = connection.Lease(value ?? "", _transaction);
                if (_timeout is { } timeout)
                {
                    _statement.CommandTimeout = timeout;
                }
            }
        }

        public override int CommandTimeout
        {
            get => _statement?.CommandTimeout ?? _timeout ?? connection.DefaultTimeout;
            set
            {
                _timeout = value;
                _statement?.CommandTimeout = value;
            }
        }

        public override CommandType CommandType
        {
            get => CommandType.Text;
            set
            {
                if (value != CommandType.Text) throw new ArgumentException("SQLite runs text commands only.", nameof(value));
            }
        }

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection
        {
            get => connection;
            set
            {
                if (value != connection) throw new NotSupportedException("A writer's command stays on its connection.");
            }
        }

        protected override DbParameterCollection DbParameterCollection => Statement.Parameters;

        protected override DbTransaction? DbTransaction
        {
            get => _transaction;
            set
            {
                _transaction = value;
                _statement?.Transaction = value as SqliteTransaction;
            }
        }

        public override void Cancel() => _statement?.Cancel();

        public override int ExecuteNonQuery() => Statement.ExecuteNonQuery();

        public override object? ExecuteScalar() => Statement.ExecuteScalar();

        public override void Prepare() => Statement.Prepare();

        protected override DbParameter CreateDbParameter() => new SqliteParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => Statement.ExecuteReader(behavior);

        protected override void Dispose(bool disposing)
        {
            if (disposing && _statement is { } leased)
            {
                _statement = null;
                connection.GiveBack(leased);
            }
            base.Dispose(disposing);
        }
    }
}
