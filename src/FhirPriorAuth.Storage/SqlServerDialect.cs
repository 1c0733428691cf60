using System.Data.Common;
using Microsoft.Data.SqlClient;

namespace FhirPriorAuth.Storage;

/// <summary>SQL Server: the scale-out store that N stateless replicas share.</summary>
public sealed class SqlServerDialect : SqlDialect
{
    private static readonly HashSet<int> TransientErrors = [1205, 1222, 40001, 40197, 40501, 40613, 49918, 49919, 49920, 4060, 233, 64, -2];
    private readonly string _connectionString;
    private readonly SqlRetryLogicBaseProvider _retry;

    /// <summary>Creates the dialect with SqlClient's exponential retry for opening connections and running reads.</summary>
    public SqlServerDialect(string connectionString)
    {
        _connectionString = connectionString;
        _retry = SqlConfigurableRetryFactory.CreateExponentialRetryProvider(new SqlRetryLogicOption
        {
            NumberOfTries = 5,
            DeltaTime = TimeSpan.FromMilliseconds(200),
            MaxTimeInterval = TimeSpan.FromSeconds(10),
            TransientErrors = TransientErrors,
        });
    }

    /// <inheritdoc />
    public override string Name => StorageOptions.SqlServer;

    /// <inheritdoc />
    public override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqlConnection(_connectionString) { RetryLogicProvider = _retry };
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <inheritdoc />
    public override bool IsUniqueViolation(DbException e) => e is SqlException { Number: 2627 or 2601 };

    /// <inheritdoc />
    public override bool IsTransient(DbException e) => e is SqlException s && TransientErrors.Contains(s.Number);

    /// <inheritdoc />
    public override string Top(string take) => $"TOP ({take}) ";

    /// <inheritdoc />
    public override string Limit(string take) => "";

    /// <inheritdoc />
    public override string ReadCurrentForWrite =>
        "SELECT surrogate_id AS SurrogateId, version AS Version, is_deleted AS IsDeleted FROM Resource WITH (UPDLOCK, HOLDLOCK) " +
        "WHERE resource_type = @Type AND resource_id = @Id AND is_current = 1";

    /// <inheritdoc />
    public override string InsertResource =>
        "INSERT INTO Resource (resource_type, resource_id, version, last_updated, is_deleted, is_current, compression, body) " +
        "OUTPUT INSERTED.surrogate_id VALUES (@Type, @Id, @Version, @LastUpdated, @IsDeleted, 1, @Compression, @Body)";

    /// <inheritdoc />
    /// <remarks>READPAST skips rows another replica is claiming, UPDLOCK keeps two replicas from claiming the same row.</remarks>
    public override string ClaimWork =>
        "WITH due AS (SELECT TOP (@Max) * FROM dbo.WorkItem WITH (UPDLOCK, READPAST, ROWLOCK) " +
        "WHERE not_before <= @Now AND (lease_expires IS NULL OR lease_expires <= @Now) ORDER BY not_before) " +
        "UPDATE due SET lease_owner = @Owner, lease_expires = @LeaseUntil, attempts = attempts + 1 " +
        "OUTPUT inserted.work_id AS Id, inserted.kind AS Kind, inserted.subject AS Subject, inserted.not_before AS NotBefore, " +
        "inserted.attempts AS Attempts, inserted.last_error AS LastError;";

    /// <inheritdoc />
    public override string ClaimSubscriptions =>
        "WITH due AS (SELECT TOP (@Max) * FROM dbo.SubscriptionDelivery WITH (UPDLOCK, READPAST, ROWLOCK) " +
        "WHERE due <= @Now AND status IN ('requested', 'active') AND (lease_expires IS NULL OR lease_expires <= @Now) ORDER BY due) " +
        "UPDATE due SET lease_owner = @Owner, lease_expires = @LeaseUntil " +
        "OUTPUT inserted.subscription_id AS Id, inserted.status AS Status, inserted.filters AS Filters, inserted.base_url AS BaseUrl, " +
        "inserted.pas_version AS Version, inserted.last_event AS LastEvent, inserted.delivered AS Delivered, inserted.due AS Due, " +
        "inserted.failing_since AS FailingSince, inserted.last_error AS LastError;";

    /// <inheritdoc />
    /// <remarks>The key-range lock makes replicas storing the same new set at once wait, not fail on the key.</remarks>
    public override string InsertWarningSet =>
        "INSERT INTO WarningSet (warnings_hash, warnings) SELECT @WarningsHash, @Warnings " +
        "WHERE NOT EXISTS (SELECT 1 FROM WarningSet WITH (UPDLOCK, HOLDLOCK) WHERE warnings_hash = @WarningsHash)";

    /// <inheritdoc />
    public override string CreateSchemaVersionTable =>
        "IF OBJECT_ID(N'dbo.SchemaVersion', N'U') IS NULL " +
        "CREATE TABLE dbo.SchemaVersion (version INT NOT NULL PRIMARY KEY, name NVARCHAR(200) NOT NULL, applied_at NVARCHAR(40) NOT NULL)";

    /// <summary>Serializes migrations across replicas starting at once.</summary>
    public string AcquireMigrationLock =>
        "EXEC sp_getapplock @Resource = N'FhirPriorAuth.Migrations', @LockMode = N'Exclusive', @LockOwner = N'Session', @LockTimeout = 120000";

    /// <summary>Releases the migration lock.</summary>
    public string ReleaseMigrationLock =>
        "EXEC sp_releaseapplock @Resource = N'FhirPriorAuth.Migrations', @LockOwner = N'Session'";
}
