using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FhirPriorAuth.Server.Hosting;

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (start-up work is done: 200, else 503).
/// </summary>
public static class Health
{
    /// <summary>Registers <see cref="Readiness"/> and the readiness check.</summary>
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddSingleton<Readiness>();
        services.AddHealthChecks().AddCheck<ReadinessCheck>("ready", tags: ["ready"]);
        // Warming up is reported as Degraded, which the health check service logs as a warning at every probe of a
        // starting server: noise. A check that fails (Unhealthy) is still logged, as an error.
        services.AddLogging(logging => logging.AddFilter(typeof(HealthCheckService).Namespace + ".DefaultHealthCheckService", LogLevel.Error));
        return services;
    }

    /// <summary>Maps the two health endpoints.</summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            // Healthy is 200 and Unhealthy 503 by default; Degraded (warming up) would be 200.
            ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable },
        });
        return app;
    }
}

/// <summary>Healthy once start-up work is done; until then Degraded ("warming up"), which <c>/health/ready</c> answers with 503.</summary>
internal sealed class ReadinessCheck(Readiness readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        Task.FromResult(readiness.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded("warming up"));
}
