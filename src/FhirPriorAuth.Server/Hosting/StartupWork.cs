using System.Data.Common;
using System.Diagnostics;
using System.Runtime;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Hosting;

/// <summary>Whether the server is ready for traffic: database migrated and hot paths warmed.</summary>
public sealed class Readiness
{
    private volatile bool _ready;

    /// <summary>True once start-up work has finished.</summary>
    public bool IsReady => _ready;

    internal void MarkReady() => _ready = true;
}

/// <summary>
/// Migrates the database before Kestrel accepts requests (hosted services start first) while the PAS profiles compile,
/// then warms the parser, FHIRPath expressions and SQL paths so that the first real request is not the slow one.
/// <c>/health/ready</c> turns healthy when all that is done; Firely's schemas compile afterwards, and the database's
/// planner statistics are refreshed as tables grow.
/// </summary>
internal sealed class StartupWork(MigrationRunner migrations, SqlDialect database, ResourceInteractions interactions, PasValidator validator,
    Readiness readiness, ILogger<StartupWork> log) : BackgroundService
{
    private Task _compiling = Task.CompletedTask;

    public override async Task StartAsync(CancellationToken ct)
    {
        // Compiling the PAS profiles takes seconds; it runs while the database is migrated and Kestrel starts.
        _compiling = Task.WhenAll(Enum.GetValues<PasVersion>().Select(version => Task.Run(() =>
        {
            validator.WarmUp(version);
            log.LogInformation("PAS {Version} profiles compiled", version.Label());
        }, ct)));
        var applied = await migrations.MigrateAsync(ct);
        log.LogInformation("Database ready; migrations applied now: {Applied}", applied.Count == 0 ? "none" : string.Join(", ", applied));
        await base.StartAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        await interactions.WarmUpAsync(ct);
        await _compiling;
        readiness.MarkReady();
        // The collector's gen0 budget can only be set from the environment; where the machine hides its cache sizes the
        // default is about 2 MB, a collection every request or so under load (ADR 0012).
        log.LogInformation("FhirPriorAuth is ready; gen0 budget {Budget}",
            Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "the runtime's default (DOTNET_GCgen0size is not set)");

        // Firely's own schemas are needed only for requests the fast path cannot prove (usually invalid ones): compiled
        // after the server is ready, so a start is not held up by them.
        foreach (var version in Enum.GetValues<PasVersion>())
        {
            var corrections = await Task.Run(() => validator.Full.WarmUp(version), ct);
            log.LogInformation("PAS {Version} full validation ready; {Count} corrections applied (profiles/README.md)", version.Label(), corrections.Count);
            foreach (var correction in corrections)
            {
                log.LogDebug("Profile correction: {Correction}", correction);
            }
        }

        // Start-up leaves tens of MB of garbage (package text, parse trees, compiler scratch) in the oldest generation
        // and the large object heap, where the collector would keep it as free space; one compacting collection
        // returns it to the system (ADR 0012).
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();

        // The planner's statistics follow the data as it grows: checked once the server is ready (a store's statistics
        // persist, so only a new or much grown store waits for them), then every minute, since finding nothing stale
        // costs milliseconds.
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        do
        {
            try
            {
                await RefreshStatisticsAsync(ct);
            }
            catch (Exception e) when (e is DbException or TimeoutException)
            {
                log.LogWarning(e, "Refreshing the database statistics failed; the next attempt is in a minute");
            }
        }
        while (await timer.WaitForNextTickAsync(ct));
    }

    private async Task RefreshStatisticsAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var analysed = await database.RefreshStatisticsAsync(ct);
        if (analysed.Count > 0)
        {
            log.LogInformation("Planner statistics refreshed in {Elapsed:F0} ms: {Analysed}",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, string.Join("; ", analysed));
        }
    }
}
