using System.Data.Common;
using Dapper;
using FhirPriorAuth.Core.FollowUp;

namespace FhirPriorAuth.Storage;

/// <summary>The work queue over Dapper: leases on rows, claimed in one statement (ADR 0008).</summary>
public sealed class SqlWorkQueue(SqlDialect dialect, TimeProvider clock) : IWorkQueue
{
    /// <inheritdoc />
    public Task EnqueueAsync(IReadOnlyList<WorkItem> items, CancellationToken ct) =>
        dialect.WriteAsync((connection, tx) => InsertAsync(dialect, connection, tx, items, clock.GetUtcNow(), ct), ct);

    /// <summary>Queues work inside the caller's transaction (a submission's escalations are saved with it).</summary>
    internal static Task<int> InsertAsync(SqlDialect dialect, DbConnection connection, DbTransaction tx, IReadOnlyList<WorkItem> items,
        DateTimeOffset now, CancellationToken ct) =>
        items.Count == 0 ? Task.FromResult(0) : connection.ExecuteAsync(new CommandDefinition(dialect.InsertWorkItem,
            items.Select(i => new { i.Id, i.Kind, i.Subject, NotBefore = i.NotBefore.UtcTicks, CreatedAt = now.UtcTicks }), tx, cancellationToken: ct));

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkItem>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken ct)
    {
        var rows = await dialect.WriteAsync((connection, tx) => connection.QueryAsync<WorkRow>(new CommandDefinition(dialect.ClaimWork,
            new { Owner = owner, Now = now.UtcTicks, LeaseUntil = leaseUntil.UtcTicks, Max = max }, tx, cancellationToken: ct)), ct);
        return rows.Select(r => r.ToItem()).OrderBy(i => i.NotBefore).ToList();
    }

    /// <inheritdoc />
    public async Task<bool> CompleteAsync(WorkItem item, string owner, CancellationToken ct) =>
        await dialect.WriteAsync((connection, tx) => connection.ExecuteAsync(new CommandDefinition(dialect.CompleteWork,
            new { item.Id, Owner = owner }, tx, cancellationToken: ct)), ct) == 1;

    /// <inheritdoc />
    public Task RetryAsync(WorkItem item, string owner, DateTimeOffset notBefore, string error, CancellationToken ct) =>
        dialect.WriteAsync((connection, tx) => connection.ExecuteAsync(new CommandDefinition(dialect.RetryWork,
            new { item.Id, Owner = owner, NotBefore = notBefore.UtcTicks, Error = error.Length > 2000 ? error[..2000] : error }, tx, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkItem>> PendingAsync(int max, CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<WorkRow>(new CommandDefinition(dialect.ReadPendingWork, new { Max = max }, cancellationToken: ct));
        return rows.Select(r => r.ToItem()).ToList();
    }

    private sealed class WorkRow
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Subject { get; set; } = "";
        public long NotBefore { get; set; }
        public int Attempts { get; set; }
        public string? LastError { get; set; }

        public WorkItem ToItem() => new(Id, Kind, Subject, new DateTimeOffset(NotBefore, TimeSpan.Zero), Attempts, LastError);
    }
}
