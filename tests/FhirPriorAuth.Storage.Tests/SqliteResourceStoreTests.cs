namespace FhirPriorAuth.Storage.Tests;

public sealed class SqliteDatabase : IDisposable
{
    public SqliteDatabase()
    {
        Directory = Path.Combine(Path.GetTempPath(), "fhirpa-storage-" + Guid.NewGuid().ToString("N"));
        Store = new SqlResourceStore(new StorageOptions { DataDirectory = Directory }.CreateDialect());
        new MigrationRunner(Store.Dialect).MigrateAsync(default).GetAwaiter().GetResult();
    }

    public string Directory { get; }

    public SqlResourceStore Store { get; }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

public class SqliteResourceStoreTests(SqliteDatabase database) : ResourceStoreContract, IClassFixture<SqliteDatabase>
{
    protected override SqlResourceStore Store => database.Store;
}
