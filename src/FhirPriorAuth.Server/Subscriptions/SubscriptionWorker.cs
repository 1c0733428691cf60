using FhirPriorAuth.Core.Subscriptions;

namespace FhirPriorAuth.Server.Subscriptions;

/// <summary>
/// Delivers due notifications: leases due Subscriptions and sends what each has waiting (handshakes, events, heartbeats).
/// It polls, and is woken at once when a Subscription is created or changed. Several replicas can run it; the leases
/// keep each Subscription with one of them at a time, so its events arrive in order.
/// </summary>
public sealed class SubscriptionWorker(NotificationDelivery delivery, SubscriptionOptions options, ILogger<SubscriptionWorker> log) : BackgroundService
{
    private const int BatchSize = 20;
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Runs a pass now rather than at the next poll.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>One pass: delivers for up to a batch of due Subscriptions; returns how many it leased.</summary>
    public Task<int> RunOnceAsync(CancellationToken ct) => delivery.RunOnceAsync(_owner, BatchSize, ct);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                while (await RunOnceAsync(stop) == BatchSize)
                {
                    // A full batch: more may be due right now.
                }
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                log.LogError(e, "Subscription delivery could not read its state; next attempt in {Interval}", options.PollInterval);
            }
            try
            {
                // Wall-clock polling: the server's clock (movable in tests) only decides what is due.
                await _wake.WaitAsync(options.PollInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
