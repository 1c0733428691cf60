using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Crd;

/// <summary>Registers CRD: the coverage-requirements service, its assertions, feedback and the EHR reader.</summary>
public static class CrdSetup
{
    /// <summary>Adds the CRD services.</summary>
    public static IServiceCollection AddCrd(this IServiceCollection services, SqlResourceStore resources)
    {
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
