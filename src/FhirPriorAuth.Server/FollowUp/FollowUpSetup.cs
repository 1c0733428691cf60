using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Storage;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary>Registers follow-up: the work queue and its worker, reviews, attachments and the EHR document pull.</summary>
public static class FollowUpSetup
{
    /// <summary>Adds the follow-up services (sections <c>FollowUp</c> and <c>Ehr</c>).</summary>
    public static IServiceCollection AddFollowUp(this IServiceCollection services, IConfiguration configuration, SqlDialect dialect)
    {
        var followUp = configuration.GetSection("FollowUp").Get<FollowUpOptions>() ?? new FollowUpOptions();
        services.AddSingleton(followUp);
        services.AddSingleton(new FollowUpSettings(followUp.AutoDecideReviewsAfter, followUp.EhrBudget, followUp.PullInterval));
        services.AddSingleton<IWorkQueue>(sp => new SqlWorkQueue(dialect, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<FollowUpLedger>();
        services.AddSingleton<SupportingDocuments>();
        services.AddSingleton<FollowUpWork>();
        services.AddSingleton<ReviewDecisions>();
        services.AddSingleton(new FhirOperationRegistration("Task", "complete", ReviewEndpoints.OperationUrl));
        services.AddSingleton<Attachments>();
        services.AddSingleton<DecisionRecords>();
        services.AddSingleton(new FhirOperationRegistration(null, "submit-attachment", AttachmentEndpoints.OperationUrl));
        services.AddSingleton<FollowUpWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<FollowUpWorker>());

        var ehr = configuration.GetSection("Ehr").Get<EhrOptions>() ?? new EhrOptions();
        if (ehr.Connections.Count > 0)
        {
            services.AddSingleton(ehr);
            services.AddSingleton<IDocumentSource, EhrDocumentSource>();
            services.AddHttpClient(EhrDocumentSource.HttpClientName).AddResilienceHandler("ehr", pipeline =>
            {
                // Wall-clock time: these waits are for another system, not the server's (test-movable) clock.
                pipeline.TimeProvider = TimeProvider.System;
                // Retries within one search; the caller's budget (or the worker's lease) bounds the whole of it.
                pipeline.AddTimeout(TimeSpan.FromSeconds(60));
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = ehr.RetryDelay,
                });
                pipeline.AddTimeout(TimeSpan.FromSeconds(10));
            });
        }
        return services;
    }
}
