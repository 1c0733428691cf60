using Dapper;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Core.Subscriptions;

namespace FhirPriorAuth.Storage;

/// <summary>Subscription delivery state and the notification outbox over Dapper (ADR 0010).</summary>
public sealed class SqlSubscriptionStore(SqlResourceStore resources) : ISubscriptionStore
{
    private SqlDialect Dialect => resources.Dialect;

    /// <inheritdoc />
    public Task<WriteResult> SaveAsync(ResourceWrite subscription, SubscriptionDelivery delivery, CancellationToken ct) =>
        resources.RetryTransientAsync(() => Dialect.WriteAsync(async (connection, tx) =>
        {
            var result = await resources.WriteAsync(connection, tx, subscription, BodyCodec.Encode(subscription), ct);
            var row = Row(delivery);
            if (await connection.ExecuteAsync(new CommandDefinition(Dialect.UpdateSubscriptionDelivery, row, tx, cancellationToken: ct)) == 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertSubscriptionDelivery, row, tx, cancellationToken: ct));
            }
            return result;
        }, ct), ct);

    /// <inheritdoc />
    public async Task<SubscriptionDelivery?> ReadAsync(string id, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<DeliveryRow>(new CommandDefinition(Dialect.ReadSubscriptionDelivery, new { Id = id }, cancellationToken: ct));
        return row?.ToDelivery();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SubscriptionDelivery>> LiveAsync(CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<DeliveryRow>(new CommandDefinition(Dialect.ReadLiveSubscriptions, cancellationToken: ct));
        return rows.Select(r => r.ToDelivery()).ToList();
    }

    /// <inheritdoc />
    public Task<bool> AddEventAsync(string id, string source, string authorizationNumber, string focus, DateTimeOffset now, CancellationToken ct) =>
        resources.RetryTransientAsync(() => Dialect.WriteAsync(async (connection, tx) =>
        {
            var parameters = new { Id = id, Source = source, Number = authorizationNumber, Focus = focus, Now = now.UtcTicks };
            if (await connection.ExecuteAsync(new CommandDefinition(Dialect.CountSubscriptionEvent, parameters, tx, cancellationToken: ct)) == 0)
            {
                return false;
            }
            await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertSubscriptionEvent, parameters, tx, cancellationToken: ct));
            return true;
        }, ct), ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<SubscriptionDelivery>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken ct)
    {
        var rows = await Dialect.WriteAsync((connection, tx) => connection.QueryAsync<DeliveryRow>(new CommandDefinition(Dialect.ClaimSubscriptions,
            new { Owner = owner, Now = now.UtcTicks, LeaseUntil = leaseUntil.UtcTicks, Max = max }, tx, cancellationToken: ct)), ct);
        return rows.Select(r => r.ToDelivery()).OrderBy(d => d.Due).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SubscriptionEvent>> EventsAsync(string id, long after, int max, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<EventRow>(new CommandDefinition(Dialect.ReadSubscriptionEvents,
            new { Id = id, After = after, Max = max }, cancellationToken: ct));
        return rows.Select(r => new SubscriptionEvent(r.Number, r.AuthorizationNumber, r.Focus, new DateTimeOffset(r.OccurredAt, TimeSpan.Zero))).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NotificationRecord>> NotificationsAsync(string authorizationNumber, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<NotificationRow>(new CommandDefinition(Dialect.ReadAuthorizationNotifications,
            new { Number = authorizationNumber }, cancellationToken: ct));
        return rows.Select(r => new NotificationRecord($"Subscription/{r.SubscriptionId}", r.EventNumber, new DateTimeOffset(r.RecordedAt, TimeSpan.Zero),
            r.DeliveredAt is { } d ? new DateTimeOffset(d, TimeSpan.Zero) : null)).ToList();
    }

    /// <inheritdoc />
    public Task DeliveredAsync(string id, long number, DateTimeOffset now, CancellationToken ct) =>
        Dialect.WriteAsync(async (connection, tx) =>
        {
            var parameters = new { Id = id, Number = number, Now = now.UtcTicks };
            await connection.ExecuteAsync(new CommandDefinition(Dialect.MarkEventDelivered, parameters, tx, cancellationToken: ct));
            return await connection.ExecuteAsync(new CommandDefinition(Dialect.MarkSubscriptionDelivered, parameters, tx, cancellationToken: ct));
        }, ct);

    /// <inheritdoc />
    public Task ReleaseAsync(string id, string owner, DateTimeOffset now, DateTimeOffset due, DateTimeOffset? failingSince, string? error, CancellationToken ct) =>
        Dialect.WriteAsync((connection, tx) => connection.ExecuteAsync(new CommandDefinition(Dialect.ReleaseSubscription,
            new { Id = id, Owner = owner, Now = now.UtcTicks, Due = due.UtcTicks, FailingSince = failingSince?.UtcTicks, Error = Truncate(error) },
            tx, cancellationToken: ct)), ct);

    private static string? Truncate(string? error) => error is { Length: > 2000 } ? error[..2000] : error;

    private static object Row(SubscriptionDelivery d) => new
    {
        d.Id,
        d.Status,
        Filters = string.Join('\n', d.Filters),
        d.BaseUrl,
        Version = d.Version.Label(),
        Due = d.Due.UtcTicks,
        FailingSince = d.FailingSince?.UtcTicks,
        LastError = Truncate(d.LastError),
    };

    private sealed class DeliveryRow
    {
        public string Id { get; set; } = "";
        public string Status { get; set; } = "";
        public string Filters { get; set; } = "";
        public string BaseUrl { get; set; } = "";
        public string Version { get; set; } = "";
        public long LastEvent { get; set; }
        public long Delivered { get; set; }
        public long Due { get; set; }
        public long? FailingSince { get; set; }
        public string? LastError { get; set; }

        public SubscriptionDelivery ToDelivery() => new(Id, Status, Filters.Split('\n', StringSplitOptions.RemoveEmptyEntries), BaseUrl,
            Version == PasVersion.V2_0_1.Label() ? PasVersion.V2_0_1 : PasVersion.V2_2_1, LastEvent, Delivered,
            new DateTimeOffset(Due, TimeSpan.Zero), FailingSince is { } f ? new DateTimeOffset(f, TimeSpan.Zero) : null, LastError);
    }

    private sealed class NotificationRow
    {
        public string SubscriptionId { get; set; } = "";
        public long EventNumber { get; set; }
        public long RecordedAt { get; set; }
        public long? DeliveredAt { get; set; }
    }

    private sealed class EventRow
    {
        public long Number { get; set; }
        public string AuthorizationNumber { get; set; } = "";
        public string Focus { get; set; } = "";
        public long OccurredAt { get; set; }
    }
}
