using Dapper;
using Microsoft.Data.Sqlite;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>A SQLite connection's settings are made once per handle, and again for a handle the writer has changed.</summary>
public sealed class SqliteConnectionSettingsTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"fhirpa-settings-{Guid.NewGuid():N}.db");

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = _file, Pooling = true }.ToString();

    [Fact]
    public async Task ANewHandle_IsSetUp_AndAPooledOne_KeepsWhatItHad()
    {
        var dialect = new SqliteDialect(ConnectionString);
        await using (var first = (SqliteConnection)await dialect.OpenAsync(default))
        {
            Assert.Equal((2L, 5000L, 2L, 10000L), await SettingsAsync(first));
            await first.ExecuteAsync("PRAGMA busy_timeout = 1234");
        }
        await using (var again = (SqliteConnection)await dialect.OpenAsync(default))
        {
            // The pool's handle again: not set up a second time.
            Assert.Equal(1234L, (await SettingsAsync(again)).BusyTimeout);
        }

        SqliteConnection.ClearPool(new SqliteConnection(ConnectionString));
        await using var fresh = (SqliteConnection)await dialect.OpenAsync(default);
        Assert.Equal((2L, 5000L, 2L, 10000L), await SettingsAsync(fresh));
    }

    [Fact]
    public async Task TheWritersHandle_GivenToAReader_IsSetUpAgain()
    {
        var dialect = new SqliteDialect(ConnectionString);
        SQLitePCL.sqlite3 handle;
        await using (var reader = (SqliteConnection)await dialect.OpenAsync(default))
        {
            handle = reader.Handle!;
        }
        await using (var writer = (SqliteConnection)await dialect.OpenWriterAsync(default))
        {
            Assert.Same(handle, writer.Handle);
            Assert.Equal((2L, 5000L, 2L, (long)WalCheckpointOptions.Default.WriterBound), await SettingsAsync(writer));
            await writer.ExecuteAsync("PRAGMA synchronous = NORMAL"); // as a follow-up alone does for its commit
        }

        await using var next = (SqliteConnection)await dialect.OpenAsync(default);
        Assert.Same(handle, next.Handle);
        Assert.Equal((2L, 5000L, 2L, 10000L), await SettingsAsync(next));
    }

    private static async Task<(long Synchronous, long BusyTimeout, long TempStore, long AutoCheckpoint)> SettingsAsync(SqliteConnection connection) => (
        await connection.ExecuteScalarAsync<long>("PRAGMA synchronous"),
        await connection.ExecuteScalarAsync<long>("PRAGMA busy_timeout"),
        await connection.ExecuteScalarAsync<long>("PRAGMA temp_store"),
        await connection.ExecuteScalarAsync<long>("PRAGMA wal_autocheckpoint"));

    public void Dispose()
    {
        SqliteConnection.ClearPool(new SqliteConnection(ConnectionString));
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(_file)!, Path.GetFileName(_file) + "*"))
        {
            File.Delete(file);
        }
    }
}
