using FhirPriorAuth.Core.Subscriptions;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Subscriptions;

/// <summary>Settings of Subscription delivery (section <c>Subscriptions</c>).</summary>
public sealed class SubscriptionOptions
{
    /// <summary>Hosts notifications may be sent to; empty allows any host over an allowed scheme.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Schemes allowed for any allowed host.</summary>
    public List<string> AllowedSchemes { get; set; } = ["https"];

    /// <summary>Also allow http to loopback addresses (development and conformance tools on the same machine).</summary>
    public bool HttpOnLoopback { get; set; } = true;

    /// <summary>How long one notification may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long delivery may keep failing before the Subscription goes to error.</summary>
    public TimeSpan ErrorAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The first retry delay after a failed delivery; later ones double.</summary>
    public TimeSpan RetryMin { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest retry delay.</summary>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the worker looks for due Subscriptions when nothing wakes it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Registers Subscriptions: the store, the PAS Subscription service, rest-hook delivery and its worker.</summary>
public static class SubscriptionSetup
{
    /// <summary>Adds the Subscription services (section <c>Subscriptions</c>).</summary>
    public static IServiceCollection AddSubscriptions(this IServiceCollection services, IConfiguration configuration, SqlResourceStore resources)
    {
        var options = configuration.GetSection("Subscriptions").Get<SubscriptionOptions>() ?? new SubscriptionOptions();
        services.AddSingleton(options);
        services.AddSingleton<ISubscriptionStore>(new SqlSubscriptionStore(resources));
        services.AddSingleton(new EndpointRules(options.AllowedHosts, options.AllowedSchemes, options.HttpOnLoopback));
        services.AddSingleton(new DeliverySettings(options.ErrorAfter, options.RetryMin, options.RetryMax, DeliverySettings.Default.Lease));
        services.AddSingleton<PasSubscriptions>();
        services.AddSingleton(new FhirOperationRegistration("Subscription", "status", Backport.StatusOperation));
        services.AddSingleton<NotificationDelivery>();
        services.AddSingleton<IRestHook, RestHook>();
        // No redirects: a receiver must not be able to bounce the server's request to a host the rules refuse.
        services.AddHttpClient(RestHook.HttpClientName, c => c.Timeout = options.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton<SubscriptionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<SubscriptionWorker>());
        return services;
    }
}
