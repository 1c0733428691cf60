using Dapper;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>The writer's connection compiles a statement once and runs it again, as Dapper uses it.</summary>
public sealed class WriterConnectionTests : IDisposable
{
    private const string Insert = "INSERT INTO Item (id, name) VALUES (@Id, @Name)";
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"fhirpa-writer-{Guid.NewGuid():N}.db");

    private async Task<WriterConnection> OpenAsync()
    {
        var connection = new WriterConnection(new SqliteConnectionStringBuilder { DataSource = _file, Pooling = false }.ToString());
        await connection.OpenAsync();
        connection.Handle!.enable_sqlite3_next_stmt(true); // for Compiled: SQLitePCL turns the walk off by default
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS Item (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        return connection;
    }

    [Fact]
    public async Task AStatementRunThroughDapper_IsCompiledOnce_AndRunsWithEachCallsOwnValues()
    {
        await using var connection = await OpenAsync();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            for (var i = 1; i <= 3; i++)
            {
                await connection.ExecuteAsync(Insert, new { Id = i, Name = $"item {i}" }, tx);
            }
            // A command made without the transaction still runs in it, as SqliteConnection's own commands do.
            await connection.ExecuteAsync(Insert, new { Id = 4, Name = "item 4" });
            await tx.CommitAsync();
        }

        Assert.Equal(["item 1", "item 2", "item 3", "item 4"], await connection.QueryAsync<string>("SELECT name FROM Item ORDER BY id"));
        // One compiled statement of that text lives on the connection, and it ran four times.
        var (count, runs) = Compiled(connection, Insert);
        Assert.Equal(1, count);
        Assert.Equal(4, runs);
    }

    [Fact]
    public async Task AKeptStatement_ForgetsTheLastCallsValues()
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync(Insert, new { Id = 1, Name = "one" });

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ExecuteAsync(Insert, new { Id = 2 }));
        Assert.Contains("@Name", missing.Message);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM Item"));
    }

    [Fact]
    public async Task AStatementRunWhileItsTextIsReadingAlready_RunsOnAFreshCommand()
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync(Insert, new[] { new { Id = 1, Name = "a" }, new { Id = 2, Name = "b" } });
        const string Select = "SELECT name FROM Item WHERE id >= @From ORDER BY id";
        Assert.Equal(["a", "b"], await connection.QueryAsync<string>(Select, new { From = 1 })); // now kept

        // The reader holds the kept statement; the same text inside it must not reset it under the reader.
        var names = new List<string>();
        await using (var reader = await connection.ExecuteReaderAsync(Select, new { From = 1 }))
        {
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
                names.AddRange(await connection.QueryAsync<string>(Select, new { From = 2 }));
            }
        }

        Assert.Equal(["a", "b", "b", "b"], names);
        Assert.Equal(["b"], await connection.QueryAsync<string>(Select, new { From = 2 }));
    }

    [Fact]
    public async Task ACommandsTimeout_ReachesTheStatementItLeases_WhicheverIsSetFirst()
    {
        await using var connection = await OpenAsync();
        using var command = ((System.Data.Common.DbConnection)connection).CreateCommand();
        command.CommandTimeout = 7;
        command.CommandText = "SELECT 1";
        Assert.Equal(7, command.CommandTimeout);
        command.CommandTimeout = 9;
        Assert.Equal(9, command.CommandTimeout);
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    /// <summary>The compiled statements of a text on the connection, and how often they ran in all.</summary>
    private static (int Count, int Runs) Compiled(SqliteConnection connection, string text)
    {
        const int StatementRuns = 6; // SQLITE_STMTSTATUS_RUN
        var (count, runs) = (0, 0);
        for (var statement = raw.sqlite3_next_stmt(connection.Handle, null); statement is not null && !statement.IsInvalid;
             statement = raw.sqlite3_next_stmt(connection.Handle, statement))
        {
            if (raw.sqlite3_sql(statement).utf8_to_string() == text)
            {
                count++;
                runs += raw.sqlite3_stmt_status(statement, StatementRuns, 0);
            }
        }
        return (count, runs);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _file, _file + "-wal", _file + "-shm" })
        {
            File.Delete(file);
        }
    }
}
