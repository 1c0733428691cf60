using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Crd;

/// <summary>Registers CRD: the coverage-requirements service, its assertions, feedback and the EHR reader.</summary>
public static class CrdSetup
{
    /// <summary>Adds the CRD services.</summary>
    public static IServiceCollection AddCrd(this IServiceCollection services, IConfiguration configuration, SqlResourceStore resources)
    {
        var options = configuration.GetSection("Crd").Get<CrdOptions>() ?? new CrdOptions();
        if (options.Clients.FirstOrDefault(c => string.IsNullOrWhiteSpace(c.Issuer) || (c.Jwks ?? c.JwksFile ?? c.JwksUrl) is null) is { } bad)
        {
            throw new InvalidOperationException($"Crd:Clients: every client needs an Issuer and Jwks, JwksFile or JwksUrl ('{bad.Issuer}' has not).");
        }
        foreach (var client in options.Clients.Where(c => c.Jwks is null && c.JwksFile is not null))
        {
            // Read now: a missing or unreadable key file stops the start instead of failing every call.
            client.Jwks = File.ReadAllText(client.JwksFile!);
        }
        services.AddSingleton(new CrdSettings(options.EhrBudget));
        services.AddSingleton(options);
        services.AddSingleton<CdsClientAuthentication>();
        services.AddSingleton<ICoverageAssertionStore>(new SqlCoverageAssertionStore(resources));
        services.AddSingleton<IEhrFhir, EhrFhirClient>();
        services.AddHttpClient(EhrFhirClient.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<CoverageRequirements>();
        services.AddSingleton<CoverageAssertionLink>();
        services.AddSingleton<CrdFeedback>();
        services.AddCors(cors => cors.AddPolicy(CrdEndpoints.CorsPolicy, p => p.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "POST")));
        return services;
    }
}
