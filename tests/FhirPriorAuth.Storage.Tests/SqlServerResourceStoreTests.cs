namespace FhirPriorAuth.Storage.Tests;

/// <summary>The SQL Server database named by FHIRPA_TEST_SQLSERVER, migrated once; absent, every test reports skipped.</summary>
public sealed class SqlServerDatabase
{
    public const string Variable = "FHIRPA_TEST_SQLSERVER";

    public SqlServerDatabase()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return;
        }
        Store = new SqlResourceStore(new StorageOptions { Provider = StorageOptions.SqlServer, ConnectionString = connectionString }.CreateDialect());
        new MigrationRunner(Store.Dialect).MigrateAsync(default).GetAwaiter().GetResult();
    }

    public SqlResourceStore? Store { get; }
}

public class SqlServerResourceStoreTests(SqlServerDatabase database) : ResourceStoreContract, IClassFixture<SqlServerDatabase>
{
    protected override SqlResourceStore Store => database.Store!;

    protected override void SkipUnlessAvailable() =>
        Skip.If(database.Store is null, $"Set {SqlServerDatabase.Variable} to a SQL Server connection string to run these tests.");
}

public class SqlServerAuthorizationStoreTests(SqlServerDatabase database) : AuthorizationStoreContract, IClassFixture<SqlServerDatabase>
{
    protected override SqlResourceStore Store => database.Store!;

    protected override void SkipUnlessAvailable() =>
        Skip.If(database.Store is null, $"Set {SqlServerDatabase.Variable} to a SQL Server connection string to run these tests.");
}
