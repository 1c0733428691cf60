using System.Data.Common;
using Dapper;
using FhirPriorAuth.Core.Search;

namespace FhirPriorAuth.Storage;

/// <summary>
/// The SQL text of one database product. Statements both products accept live here once; a provider overrides only
/// what differs. Every statement is a public string property, so a test can parse all of them (T-SQL with ScriptDom).
/// </summary>
public abstract class SqlDialect
{
    /// <summary>The provider name used in configuration and in the migrations folder.</summary>
    public abstract string Name { get; }

    /// <summary>Opens a connection ready for use.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken ct);

    /// <summary>True when the error is a unique-key violation.</summary>
    public abstract bool IsUniqueViolation(DbException e);

    /// <summary>True when retrying the whole transaction may succeed (deadlock, lock timeout, failover).</summary>
    public abstract bool IsTransient(DbException e);

    /// <summary>
    /// Refreshes the statistics the query planner chooses indexes by, where the database does not keep them itself
    /// (SQL Server updates its statistics automatically), and names what it analysed and how long each took.
    /// </summary>
    public virtual Task<IReadOnlyList<string>> RefreshStatisticsAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Clause placed after SELECT to cap the rows (T-SQL TOP).</summary>
    public virtual string Top(string take) => "";

    /// <summary>Clause placed at the end of a SELECT to cap the rows (LIMIT).</summary>
    public virtual string Limit(string take) => $" LIMIT {take}";

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction and commits it; the result is returned once it is durable.
    /// An exception from the work rolls back what it wrote and reaches the caller.
    /// </summary>
    public virtual async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var result = await work(connection, tx);
        await tx.CommitAsync(ct);
        return result;
    }

    /// <summary>
    /// Dapper parameters for one row of a frequent write. Dapper's own by default: for SQL Server it sizes strings so that
    /// plans are reused.
    /// </summary>
    public virtual object Row<T>(T row) where T : notnull => row;

    /// <summary>Dapper parameters for rows written by one statement each, as <see cref="Row{T}"/> does for one.</summary>
    public virtual object Rows<T>(IEnumerable<T> rows) where T : notnull => rows;

    /// <summary>
    /// Text after an index table's alias in a search's per-row probe, to make the probe look rows up by surrogate id.
    /// Empty by default: a planner with histograms chooses well on its own.
    /// </summary>
    public virtual string ProbeBySurrogateId(string table) => "";

    /// <summary>Hint placed after an index table's alias to read one value's rows in the order of its code index.</summary>
    public virtual string ReadValueInOrder(string table) => "";

    /// <summary>The columns of a stored version, in the shape <see cref="ResourceRow"/> reads.</summary>
    protected const string RowColumns =
        "r.resource_type AS ResourceType, r.resource_id AS Id, r.version AS Version, r.last_updated AS LastUpdated, " +
        "r.is_deleted AS IsDeleted, r.compression AS Compression, r.body AS Body, r.surrogate_id AS Sequence";

    /// <summary>Select list of a stored version (used by the search and history builders).</summary>
    public string ResourceColumns => RowColumns;

    /// <summary>Reads the current version of a resource.</summary>
    public virtual string ReadCurrent =>
        $"SELECT {RowColumns} FROM Resource r WHERE r.resource_type = @Type AND r.resource_id = @Id AND r.is_current = 1";

    /// <summary>Reads one version of a resource.</summary>
    public virtual string ReadVersion =>
        $"SELECT {RowColumns} FROM Resource r WHERE r.resource_type = @Type AND r.resource_id = @Id AND r.version = @Version";

    /// <summary>Reads the current version inside a write transaction, locking it against concurrent writers.</summary>
    public virtual string ReadCurrentForWrite =>
        "SELECT surrogate_id AS SurrogateId, version AS Version, is_deleted AS IsDeleted FROM Resource " +
        "WHERE resource_type = @Type AND resource_id = @Id AND is_current = 1";

    /// <summary>Marks a version as history and drops its index rows (history is never searched by index).</summary>
    public virtual string RetireVersion =>
        "UPDATE Resource SET is_current = 0 WHERE surrogate_id = @SurrogateId; " +
        "DELETE FROM TokenIndex WHERE surrogate_id = @SurrogateId; " +
        "DELETE FROM StringIndex WHERE surrogate_id = @SurrogateId; " +
        "DELETE FROM ReferenceIndex WHERE surrogate_id = @SurrogateId; " +
        "DELETE FROM DateIndex WHERE surrogate_id = @SurrogateId;";

    /// <summary>Inserts a version and returns its surrogate id.</summary>
    public abstract string InsertResource { get; }

    /// <summary>Inserts a token index row.</summary>
    public virtual string InsertToken =>
        "INSERT INTO TokenIndex (surrogate_id, resource_type, param, system, code, last_updated) VALUES (@SurrogateId, @ResourceType, @Param, @System, @Code, @LastUpdated)";

    /// <summary>Inserts a string index row.</summary>
    public virtual string InsertString =>
        "INSERT INTO StringIndex (surrogate_id, resource_type, param, value, value_normalized) VALUES (@SurrogateId, @ResourceType, @Param, @Value, @Normalized)";

    /// <summary>Inserts a reference index row.</summary>
    public virtual string InsertReference =>
        "INSERT INTO ReferenceIndex (surrogate_id, resource_type, param, target_type, target_id) VALUES (@SurrogateId, @ResourceType, @Param, @TargetType, @TargetId)";

    /// <summary>Inserts a date index row.</summary>
    public virtual string InsertDate =>
        "INSERT INTO DateIndex (surrogate_id, resource_type, param, start_ticks, end_ticks) VALUES (@SurrogateId, @ResourceType, @Param, @StartTicks, @EndTicks)";

    /// <summary>
    /// Writes a version's search index rows in the caller's write transaction. Here straight into the index tables; a
    /// dialect may write them after the commit (SQLite, ADR 0015), and then makes searches wait for them.
    /// </summary>
    public virtual Task WriteIndexAsync(DbConnection connection, DbTransaction tx, long surrogateId, string resourceType,
        long lastUpdated, IReadOnlyList<IndexValue> rows, CancellationToken ct) =>
        InsertIndexRowsAsync(connection, tx, surrogateId, resourceType, lastUpdated, rows, ct);

    /// <summary>Completes when a search sees the index rows of every write answered before the call.</summary>
    public virtual Task IndexedAsync() => Task.CompletedTask;

    /// <summary>Inside a write transaction, before a search in it: makes the rows of the writes before it searchable.</summary>
    public virtual Task CatchUpIndexAsync(DbConnection connection, DbTransaction tx, CancellationToken ct) => Task.CompletedTask;

    /// <summary>At start: writes the index rows a stop left pending.</summary>
    public virtual Task CatchUpIndexAsync(CancellationToken ct) => Task.CompletedTask;

    internal async Task InsertIndexRowsAsync(DbConnection connection, DbTransaction tx, long surrogateId, string resourceType,
        long lastUpdated, IReadOnlyList<IndexValue> index, CancellationToken ct)
    {
        async Task Insert<T>(string sql, Func<T, object> row) where T : IndexValue
        {
            var rows = index.OfType<T>().Select(row).ToList();
            if (rows.Count > 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(sql, Rows(rows), tx, cancellationToken: ct));
            }
        }
        await Insert<TokenIndexValue>(InsertToken, v => new { SurrogateId = surrogateId, ResourceType = resourceType, v.Param, v.System, v.Code, LastUpdated = lastUpdated });
        await Insert<StringIndexValue>(InsertString, v => new { SurrogateId = surrogateId, ResourceType = resourceType, v.Param, v.Value, v.Normalized });
        await Insert<ReferenceIndexValue>(InsertReference, v => new { SurrogateId = surrogateId, ResourceType = resourceType, v.Param, v.TargetType, v.TargetId });
        await Insert<DateIndexValue>(InsertDate, v => new { SurrogateId = surrogateId, ResourceType = resourceType, v.Param, v.StartTicks, v.EndTicks });
    }

    /// <summary>Finds who holds a conditional-create key.</summary>
    public virtual string ReadConditionalKey =>
        "SELECT resource_id FROM ConditionalKey WHERE resource_type = @Type AND criteria_hash = @Hash";

    /// <summary>Claims a conditional-create key; fails on the unique key when another create holds it.</summary>
    public virtual string InsertConditionalKey =>
        "INSERT INTO ConditionalKey (resource_type, criteria_hash, criteria, resource_id) VALUES (@Type, @Hash, @Criteria, @Id)";

    /// <summary>Releases a key whose resource no longer matches its criteria; only that holder's row is removed.</summary>
    public virtual string DeleteConditionalKey =>
        "DELETE FROM ConditionalKey WHERE resource_type = @Type AND criteria_hash = @Hash AND resource_id = @Id";

    /// <summary>Releases every key of a deleted resource.</summary>
    public virtual string DeleteConditionalKeysOf =>
        "DELETE FROM ConditionalKey WHERE resource_type = @Type AND resource_id = @Id";

    /// <summary>Reads one authorization.</summary>
    public virtual string ReadAuthorization =>
        "SELECT detail AS Detail, row_version AS RowVersion FROM PriorAuthorization WHERE authorization_number = @Number";

    /// <summary>
    /// Authorizations with one of the member keys <c>@m0..</c> and, when <paramref name="providers"/> is positive,
    /// one of the provider keys <c>@p0..</c>; newest first, at most <c>@Limit</c>.
    /// </summary>
    public string FindAuthorizations(int members, int providers)
    {
        static string List(string prefix, int count) => string.Join(", ", Enumerable.Range(0, count).Select(i => $"@{prefix}{i}"));
        // The provider test is a correlated EXISTS on the key's primary key: a sender id shared by thousands of
        // providers must not make every inquiry list all their authorizations (an IN subquery did, growing with the store).
        var provider = providers > 0
            ? $" AND EXISTS (SELECT 1 FROM AuthorizationKey p WHERE p.kind = 'provider' AND p.key_value IN ({List("p", providers)}) AND p.authorization_number = a.authorization_number)"
            : "";
        return $"SELECT {Top("@Limit")}a.detail AS Detail, a.row_version AS RowVersion FROM PriorAuthorization a " +
            $"WHERE a.authorization_number IN (SELECT authorization_number FROM AuthorizationKey WHERE kind = 'member' AND key_value IN ({List("m", members)})){provider} " +
            $"ORDER BY a.updated_at DESC{Limit("@Limit")}";
    }

    /// <summary>Authorizations with the tracking id <c>@Key</c> (CDex attachments name their authorization by it).</summary>
    public virtual string FindAuthorizationsByTrackingId =>
        "SELECT a.detail AS Detail, a.row_version AS RowVersion FROM PriorAuthorization a " +
        "WHERE a.authorization_number IN (SELECT authorization_number FROM AuthorizationKey WHERE kind = 'tracking' AND key_value = @Key)";

    /// <summary>Claims a submission's idempotency key and stores it; fails on the unique key for a replay.</summary>
    public virtual string InsertSubmission =>
        "INSERT INTO Submission (submission_id, authorization_number, idempotency_hash, bundle_identifier, received_at, request_body, request_compression, response_body, response_compression, warnings_hash, kind) " +
        "VALUES (@Id, @Number, @Hash, @BundleIdentifier, @ReceivedAt, @RequestBody, @RequestCompression, @ResponseBody, @ResponseCompression, @WarningsHash, @Kind)";

    /// <summary>Stores a set of warnings under its hash, unless it is stored already.</summary>
    public virtual string InsertWarningSet =>
        "INSERT INTO WarningSet (warnings_hash, warnings) SELECT @WarningsHash, @Warnings " +
        "WHERE NOT EXISTS (SELECT 1 FROM WarningSet WHERE warnings_hash = @WarningsHash)";

    /// <summary>An authorization's steps, oldest first.</summary>
    public virtual string ReadSteps =>
        "SELECT submission_id AS Id, kind AS Kind, received_at AS ReceivedAt FROM Submission WHERE authorization_number = @Number ORDER BY received_at, submission_id";

    /// <summary>An authorization's recorded decisions.</summary>
    public virtual string ReadStepDecisions =>
        "SELECT submission_id AS SubmissionId, item_sequence AS Sequence, review_action AS ReviewAction, policy_id AS PolicyId, " +
        "policy_version AS PolicyVersion, rule_id AS RuleId, reason AS Reason FROM ItemDecision WHERE authorization_number = @Number";

    /// <summary>The stored response of a replayed submission.</summary>
    public virtual string ReadSubmissionResponse =>
        $"SELECT {ResponseColumns} FROM Submission WHERE idempotency_hash = @Hash";

    /// <summary>The response of the latest submission for an authorization.</summary>
    public virtual string ReadLatestResponse =>
        $"SELECT {Top("1")}{ResponseColumns} FROM Submission WHERE authorization_number = @Number ORDER BY received_at DESC, submission_id DESC{Limit("1")}";

    // A response stored without the request resources it echoes is read with the request's body, which holds them.
    private static readonly string ResponseColumns = "response_body AS Body, response_compression AS Compression, " +
        $"CASE WHEN response_compression = {BodyCodec.DeflatedEchoCut} THEN request_body END AS Request, request_compression AS RequestCompression";

    /// <summary>Opens an authorization.</summary>
    public virtual string InsertAuthorization =>
        "INSERT INTO PriorAuthorization (authorization_number, pas_version, status, expedited, claim_response_id, received_at, updated_at, row_version, detail) " +
        "VALUES (@Number, @PasVersion, @Status, @Expedited, @ClaimResponseId, @ReceivedAt, @UpdatedAt, @RowVersion, @Detail)";

    /// <summary>Updates an authorization if nobody changed it since it was read (0 rows otherwise).</summary>
    public virtual string UpdateAuthorization =>
        "UPDATE PriorAuthorization SET status = @Status, expedited = @Expedited, updated_at = @UpdatedAt, row_version = @RowVersion, detail = @Detail " +
        "WHERE authorization_number = @Number AND row_version = @ExpectedRowVersion";

    /// <summary>Drops an authorization's lookup keys before they are written again.</summary>
    public virtual string DeleteAuthorizationKeys =>
        "DELETE FROM AuthorizationKey WHERE authorization_number = @Number";

    /// <summary>Adds a lookup key.</summary>
    public virtual string InsertAuthorizationKey =>
        "INSERT INTO AuthorizationKey (kind, key_value, authorization_number) VALUES (@Kind, @Key, @Number)";

    /// <summary>Records the decision on one item.</summary>
    public virtual string InsertItemDecision =>
        "INSERT INTO ItemDecision (submission_id, authorization_number, item_sequence, review_action, policy_id, policy_version, rule_id, reason, decided_at) " +
        "VALUES (@SubmissionId, @Number, @Sequence, @ReviewAction, @PolicyId, @PolicyVersion, @RuleId, @Reason, @DecidedAt)";

    private const string WorkColumns = "work_id AS Id, kind AS Kind, subject AS Subject, not_before AS NotBefore, attempts AS Attempts, last_error AS LastError";

    /// <summary>Queues background work.</summary>
    public virtual string InsertWorkItem =>
        "INSERT INTO WorkItem (work_id, kind, subject, not_before, lease_owner, lease_expires, attempts, last_error, created_at) " +
        "VALUES (@Id, @Kind, @Subject, @NotBefore, NULL, NULL, 0, NULL, @CreatedAt)";

    /// <summary>Leases up to @Max due items that nobody holds (or whose lease expired) to @Owner, returning them.</summary>
    public virtual string ClaimWork =>
        "UPDATE WorkItem SET lease_owner = @Owner, lease_expires = @LeaseUntil, attempts = attempts + 1 WHERE work_id IN (" +
        "SELECT work_id FROM WorkItem WHERE not_before <= @Now AND (lease_expires IS NULL OR lease_expires <= @Now) ORDER BY not_before LIMIT @Max) " +
        $"RETURNING {WorkColumns}";

    /// <summary>Removes finished work, if @Owner still holds it.</summary>
    public virtual string CompleteWork => "DELETE FROM WorkItem WHERE work_id = @Id AND lease_owner = @Owner";

    /// <summary>Releases work held by @Owner to be tried again at @NotBefore.</summary>
    public virtual string RetryWork =>
        "UPDATE WorkItem SET lease_owner = NULL, lease_expires = NULL, not_before = @NotBefore, last_error = @Error WHERE work_id = @Id AND lease_owner = @Owner";

    /// <summary>Work not done yet, soonest first.</summary>
    public virtual string ReadPendingWork => $"SELECT {Top("@Max")}{WorkColumns} FROM WorkItem ORDER BY not_before{Limit("@Max")}";

    private const string DeliveryColumns =
        "subscription_id AS Id, status AS Status, filters AS Filters, base_url AS BaseUrl, pas_version AS Version, last_event AS LastEvent, " +
        "delivered AS Delivered, due AS Due, failing_since AS FailingSince, last_error AS LastError";

    /// <summary>Changes a Subscription's delivery state (not its counters or lease); 0 rows when it has none yet.</summary>
    public virtual string UpdateSubscriptionDelivery =>
        "UPDATE SubscriptionDelivery SET status = @Status, filters = @Filters, base_url = @BaseUrl, pas_version = @Version, due = @Due, " +
        "failing_since = @FailingSince, last_error = @LastError WHERE subscription_id = @Id";

    /// <summary>Starts a Subscription's delivery state.</summary>
    public virtual string InsertSubscriptionDelivery =>
        "INSERT INTO SubscriptionDelivery (subscription_id, status, filters, base_url, pas_version, last_event, delivered, due, lease_owner, lease_expires, failing_since, last_error) " +
        "VALUES (@Id, @Status, @Filters, @BaseUrl, @Version, 0, 0, @Due, NULL, NULL, @FailingSince, @LastError)";

    /// <summary>One Subscription's delivery state.</summary>
    public virtual string ReadSubscriptionDelivery => $"SELECT {DeliveryColumns} FROM SubscriptionDelivery WHERE subscription_id = @Id";

    /// <summary>Every Subscription that is not off.</summary>
    public virtual string ReadLiveSubscriptions => $"SELECT {DeliveryColumns} FROM SubscriptionDelivery WHERE status <> 'off'";

    /// <summary>Counts the next event of @Id unless @Source was recorded for it already or it is off; makes it due by @Now.</summary>
    public virtual string CountSubscriptionEvent =>
        "UPDATE SubscriptionDelivery SET last_event = last_event + 1, due = CASE WHEN due > @Now THEN @Now ELSE due END " +
        "WHERE subscription_id = @Id AND status <> 'off' " +
        "AND NOT EXISTS (SELECT 1 FROM SubscriptionEvent e WHERE e.subscription_id = @Id AND e.source = @Source)";

    /// <summary>Records the event just counted, under its number.</summary>
    public virtual string InsertSubscriptionEvent =>
        "INSERT INTO SubscriptionEvent (subscription_id, event_number, source, authorization_number, focus, occurred_at, delivered_at) " +
        "SELECT subscription_id, last_event, @Source, @Number, @Focus, @Now, NULL FROM SubscriptionDelivery WHERE subscription_id = @Id";

    /// <summary>Leases up to @Max due requested or active Subscriptions that nobody holds to @Owner, returning them.</summary>
    public virtual string ClaimSubscriptions =>
        "UPDATE SubscriptionDelivery SET lease_owner = @Owner, lease_expires = @LeaseUntil WHERE subscription_id IN (" +
        "SELECT subscription_id FROM SubscriptionDelivery WHERE due <= @Now AND status IN ('requested', 'active') " +
        "AND (lease_expires IS NULL OR lease_expires <= @Now) ORDER BY due LIMIT @Max) " +
        $"RETURNING {DeliveryColumns}";

    /// <summary>A Subscription's events after @After, in order.</summary>
    public virtual string ReadSubscriptionEvents =>
        $"SELECT {Top("@Max")}event_number AS Number, authorization_number AS AuthorizationNumber, focus AS Focus, occurred_at AS OccurredAt " +
        $"FROM SubscriptionEvent WHERE subscription_id = @Id AND event_number > @After ORDER BY event_number{Limit("@Max")}";

    /// <summary>The events of authorization @Number's changes.</summary>
    public virtual string ReadAuthorizationNotifications =>
        "SELECT subscription_id AS SubscriptionId, event_number AS EventNumber, occurred_at AS RecordedAt, delivered_at AS DeliveredAt " +
        "FROM SubscriptionEvent WHERE authorization_number = @Number ORDER BY occurred_at, subscription_id, event_number";

    /// <summary>Marks event @Number delivered.</summary>
    public virtual string MarkEventDelivered =>
        "UPDATE SubscriptionEvent SET delivered_at = @Now WHERE subscription_id = @Id AND event_number = @Number";

    /// <summary>Moves a Subscription's delivered mark to @Number and clears its failure.</summary>
    public virtual string MarkSubscriptionDelivered =>
        "UPDATE SubscriptionDelivery SET delivered = @Number, failing_since = NULL, last_error = NULL WHERE subscription_id = @Id AND delivered < @Number";

    /// <summary>Gives up @Owner's lease: due at once when events are waiting and it is not failing, otherwise at @Due.</summary>
    public virtual string ReleaseSubscription =>
        "UPDATE SubscriptionDelivery SET lease_owner = NULL, lease_expires = NULL, " +
        "due = CASE WHEN @FailingSince IS NULL AND status = 'active' AND last_event > delivered THEN @Now ELSE @Due END, " +
        "failing_since = @FailingSince, last_error = @Error WHERE subscription_id = @Id AND lease_owner = @Owner";

    /// <summary>Stores a CRD coverage assertion.</summary>
    public virtual string InsertCoverageAssertion =>
        "INSERT INTO CoverageAssertion (assertion_id, hook_instance, asserted_at, detail) VALUES (@Id, @HookInstance, @AssertedAt, @Detail)";

    /// <summary>Reads a CRD coverage assertion.</summary>
    public virtual string ReadCoverageAssertion => "SELECT detail FROM CoverageAssertion WHERE assertion_id = @Id";

    /// <summary>Reads a client registration.</summary>
    public virtual string ReadClient => "SELECT detail FROM SmartClient WHERE client_id = @ClientId";

    /// <summary>Drops a client registration before it is written again.</summary>
    public virtual string DeleteClient => "DELETE FROM SmartClient WHERE client_id = @ClientId";

    /// <summary>Writes a client registration.</summary>
    public virtual string InsertClient => "INSERT INTO SmartClient (client_id, detail) VALUES (@ClientId, @Detail)";

    /// <summary>Forgets client-assertion ids that have expired.</summary>
    public virtual string DeleteExpiredAssertions => "DELETE FROM ClientAssertion WHERE expires_at < @Now";

    /// <summary>Records a client-assertion id; fails on the primary key for a replay.</summary>
    public virtual string InsertAssertion =>
        "INSERT INTO ClientAssertion (client_id, jti, expires_at) VALUES (@ClientId, @Jti, @ExpiresAt)";

    /// <summary>Creates the schema-version table when it is missing.</summary>
    public abstract string CreateSchemaVersionTable { get; }

    /// <summary>Lists applied migrations.</summary>
    public virtual string ReadSchemaVersions => "SELECT version FROM SchemaVersion";

    /// <summary>Records an applied migration.</summary>
    public virtual string InsertSchemaVersion =>
        "INSERT INTO SchemaVersion (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt)";
}
