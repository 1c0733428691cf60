using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Server.Crd;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.FollowUp;
using FhirPriorAuth.Server.Pas;
using FhirPriorAuth.Server.Security;
using FhirPriorAuth.Server.Subscriptions;
using FhirPriorAuth.Server.Validation;
using FhirPriorAuth.Storage;

namespace FhirPriorAuth.Server.Hosting;

/// <summary>Composition of the server: one place that says which services and endpoints exist.</summary>
public static class ServerSetup
{
    /// <summary>Registers configuration, storage, the FHIR core and start-up work.</summary>
    public static WebApplicationBuilder AddFhirPriorAuth(this WebApplicationBuilder builder)
    {
        var fhirOptions = builder.Configuration.GetSection("Fhir").Get<FhirOptions>() ?? new FhirOptions();
        builder.Services.AddSingleton(fhirOptions);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = fhirOptions.MaxRequestBodyBytes);

        var storage = builder.Configuration.GetSection("Storage").Get<StorageOptions>() ?? new StorageOptions();
        if (!Path.IsPathRooted(storage.DataDirectory))
        {
            storage.DataDirectory = Path.Combine(builder.Environment.ContentRootPath, storage.DataDirectory);
        }
        var dialect = storage.CreateDialect();
        builder.Services.AddSingleton(dialect);
        var resources = new SqlResourceStore(dialect);
        builder.Services.AddSingleton<IResourceStore>(resources);
        builder.Services.AddSingleton(new MigrationRunner(dialect));
        builder.AddFhirSecurity(dialect, storage.DataDirectory);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(SearchParameterRegistry.Default);
        builder.Services.AddSingleton<ResourceInteractions>();
        builder.Services.AddSingleton<CapabilityStatementBuilder>();
        builder.Services.AddPas(builder.Configuration, resources);
        builder.Services.AddPasValidation(builder.Configuration, builder.Environment);

        builder.Services.AddHealth();
        builder.Services.AddHostedService<StartupWork>();
        // After StartupWork, whose start migrates the database the worker reads.
        builder.Services.AddFollowUp(builder.Configuration, dialect);
        builder.Services.AddSubscriptions(builder.Configuration, resources);
        builder.Services.AddCrd(builder.Configuration, resources);
        return builder;
    }

    /// <summary>Adds the middleware and maps every endpoint group.</summary>
    public static WebApplication UseFhirPriorAuth(this WebApplication app)
    {
        // Audit is outermost so that it records the final status of every request, errors included.
        app.UseMiddleware<AuditTrail>();
        app.UseMiddleware<FhirErrorMiddleware>();
        app.UseStatusCodePages(FhirErrorMiddleware.WriteStatusOutcomeAsync);
        app.UseSecurityHeaders();
        if (!app.Environment.IsDevelopment() && !app.Environment.IsEnvironment("Test"))
        {
            app.UseHsts();
        }
        app.UseCors();
        app.UseMiddleware<AccessMiddleware>();
        app.UseRateLimiter();

        app.MapHealth();
        foreach (var (prefix, version) in PasSetup.Bases)
        {
            app.MapFhirRest(prefix, version).MapPas(prefix, version).MapReview(prefix).MapAttachments(prefix).MapDecisionRecord()
                .MapSubscriptions(prefix, version);
        }
        app.MapCrd();
        app.MapTokenEndpoints(PasSetup.Bases.Select(b => b.Prefix));
        return app;
    }
}
