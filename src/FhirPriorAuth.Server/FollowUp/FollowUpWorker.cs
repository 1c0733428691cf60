using FhirPriorAuth.Core.FollowUp;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary>Settings of the background worker (section <c>FollowUp</c>).</summary>
public sealed class FollowUpOptions
{
    /// <summary>How often the queue is polled for due work.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a claimed item stays invisible to other workers; longer than any one item takes.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Items claimed at once.</summary>
    public int BatchSize { get; set; } = 20;

    /// <summary>Demo and conformance runs only: approve clinical reviews still open this long after the pend (off when unset).</summary>
    public TimeSpan? AutoDecideReviewsAfter { get; set; }

    /// <summary>How long <c>$submit</c> waits for a provider's EHR before it pends (3 s unless set).</summary>
    public TimeSpan? EhrBudget { get; set; }

    /// <summary>How long after an EHR search that found nothing it is made again (1 h unless set).</summary>
    public TimeSpan? PullInterval { get; set; }
}

/// <summary>
/// Runs due work from the durable queue: claims a batch under a lease, does each item, and completes it, or puts it
/// back with an exponential backoff when it fails. Several replicas can run it at once; leases keep them apart.
/// </summary>
public sealed class FollowUpWorker(IWorkQueue queue, FollowUpWork work, FollowUpOptions options, TimeProvider clock, ILogger<FollowUpWorker> log)
    : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.PollInterval, clock);
        do
        {
            try
            {
                while (await RunOnceAsync(stop) == options.BatchSize)
                {
                    // A full batch: there may be more due right now.
                }
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                log.LogError(e, "The follow-up worker could not read its queue; next attempt in {Interval}", options.PollInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stop));
    }

    /// <summary>Claims and does one batch of due work; returns how many items were claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Not cancelled: a claim the writer commits after its caller gave up would hold its items until the lease ran out,
        // and the next start would wait for that. Claimed, they are handed back below when the server is stopping.
        var items = await queue.ClaimAsync(_owner, now, now + options.Lease, options.BatchSize, CancellationToken.None);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            try
            {
                ct.ThrowIfCancellationRequested();
                await work.HandleAsync(item, now, ct);
                if (!await queue.CompleteAsync(item, _owner, ct))
                {
                    log.LogWarning("Work {Id} ({Kind} {Subject}) outlived its lease; another worker may repeat it", item.Id, item.Kind, item.Subject);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Shutting down: hand back what this worker holds, so the next start need not wait out the lease.
                foreach (var held in items.Skip(i))
                {
                    await queue.RetryAsync(held, _owner, now, "interrupted by shutdown", CancellationToken.None);
                }
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var delay = Backoff(item.Attempts);
                log.LogWarning(e, "Work {Id} ({Kind} {Subject}) failed on attempt {Attempt}; retrying in {Delay}", item.Id, item.Kind, item.Subject, item.Attempts, delay);
                await queue.RetryAsync(item, _owner, now + delay, e.Message, ct);
            }
        }
        return items.Count;
    }

    /// <summary>30 s, 1 min, 2 min … capped at 1 hour, with up to 20 % jitter so retries of many items spread out.</summary>
    internal static TimeSpan Backoff(int attempt)
    {
        var seconds = Math.Min(3600, 30 * Math.Pow(2, Math.Max(0, attempt - 1)));
        return TimeSpan.FromSeconds(seconds * (1 + Random.Shared.NextDouble() * 0.2));
    }
}
