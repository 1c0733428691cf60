using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Pas;

/// <summary>Registers the PAS feature: policies, the authorization store and the submit/inquire service.</summary>
public static class PasSetup
{
    /// <summary>The FHIR bases and the PAS version each serves; the first is the main base.</summary>
    public static readonly IReadOnlyList<(string Prefix, PasVersion Version)> Bases =
    [
        ("/fhir", PasVersion.V2_2_1),
        ("/pas/2.2.1/fhir", PasVersion.V2_2_1),
        ("/pas/2.0.1/fhir", PasVersion.V2_0_1),
    ];

    /// <summary>Adds the PAS services. Policy files are loaded and checked now, so a bad file stops the start.</summary>
    public static IServiceCollection AddPas(this IServiceCollection services, IConfiguration configuration, SqlResourceStore resources)
    {
        var options = configuration.GetSection("Pas").Get<PasOptions>() ?? new PasOptions();
        var directory = string.IsNullOrWhiteSpace(options.PolicyDirectory) ? PasOptions.DemoPolicyDirectory : options.PolicyDirectory;
        services.AddSingleton(new PolicyEngine(PolicyLoader.LoadDirectory(directory)));
        services.AddSingleton<IAuthorizationStore>(new SqlAuthorizationStore(resources));
        services.AddSingleton<PriorAuthorizationService>();
        foreach (var operation in PasEndpoints.Operations())
        {
            services.AddSingleton(operation);
        }
        return services;
    }
}
