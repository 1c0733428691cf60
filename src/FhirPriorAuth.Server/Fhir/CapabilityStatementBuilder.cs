using System.Reflection;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Server.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Fhir;

/// <summary>An operation a feature serves, listed in the CapabilityStatement (features register these in DI).</summary>
/// <param name="ResourceType">The type it is invoked on, or null for a system-level operation.</param>
/// <param name="Name">The operation code without <c>$</c>.</param>
/// <param name="Definition">The canonical URL of its OperationDefinition.</param>
/// <param name="PasVersion">The PAS base it is served on; null for every base.</param>
public sealed record FhirOperationRegistration(string? ResourceType, string Name, string Definition, PasVersion? PasVersion = null);

/// <summary>Builds <c>/metadata</c> from what is really wired: the registry's types and parameters and the registered operations.</summary>
public sealed class CapabilityStatementBuilder(SearchParameterRegistry registry, IEnumerable<FhirOperationRegistration> operations,
    SecurityOptions security, ServerUrls urls)
{
    private static readonly CapabilityStatement.TypeRestfulInteraction[] TypeInteractions =
    [
        CapabilityStatement.TypeRestfulInteraction.Read,
        CapabilityStatement.TypeRestfulInteraction.Vread,
        CapabilityStatement.TypeRestfulInteraction.Update,
        CapabilityStatement.TypeRestfulInteraction.Delete,
        CapabilityStatement.TypeRestfulInteraction.HistoryInstance,
        CapabilityStatement.TypeRestfulInteraction.HistoryType,
        CapabilityStatement.TypeRestfulInteraction.Create,
        CapabilityStatement.TypeRestfulInteraction.SearchType,
    ];

    private static readonly string SoftwareVersion =
        typeof(CapabilityStatementBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The CapabilityStatement of the FHIR base at <paramref name="baseUrl"/>, which serves PAS <paramref name="pas"/>.</summary>
    public CapabilityStatement Build(string baseUrl, PasVersion pas)
    {
        var served = operations.Where(o => o.PasVersion is null || o.PasVersion == pas).ToList();
        var rest = new CapabilityStatement.RestComponent
        {
            Mode = CapabilityStatement.RestfulCapabilityMode.Server,
            Interaction = [new() { Code = CapabilityStatement.SystemRestfulInteraction.HistorySystem }],
        };
        if (security.Mode == SecurityOptions.TokensMode)
        {
            rest.Security = new CapabilityStatement.SecurityComponent
            {
                Cors = true,
                Service = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR")],
                Description = "SMART Backend Services (client_credentials, private_key_jwt) or tokens of a configured identity provider; see .well-known/smart-configuration.",
            };
            var uris = new Extension { Url = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" };
            uris.Extension.Add(new Extension("token", new FhirUri(urls.TokenEndpoint)));
            rest.Security.Extension.Add(uris);
        }
        foreach (var type in registry.ResourceTypes)
        {
            // The audit trail is append-only: read and search, never written through the API.
            var interactions = type == "AuditEvent" ? TypeInteractions.Where(i => i is not (CapabilityStatement.TypeRestfulInteraction.Create
                or CapabilityStatement.TypeRestfulInteraction.Update or CapabilityStatement.TypeRestfulInteraction.Delete)) : TypeInteractions;
            // A Subscription is created by POST only, and carries its delivery state (ADR 0010).
            var subscription = type == "Subscription";
            var resource = new CapabilityStatement.ResourceComponent
            {
                Type = type,
                Interaction = interactions.Select(i => new CapabilityStatement.ResourceInteractionComponent { Code = i }).ToList(),
                Versioning = CapabilityStatement.ResourceVersionPolicy.VersionedUpdate,
                ReadHistory = true,
                UpdateCreate = !subscription,
                ConditionalCreate = !subscription,
                ConditionalUpdate = false,
                ConditionalDelete = CapabilityStatement.ConditionalDeleteStatus.NotSupported,
                SearchParam = registry.For(type).OrderBy(p => p.Name, StringComparer.Ordinal)
                    .Select(p => new CapabilityStatement.SearchParamComponent { Name = p.Name, Definition = p.Url, Type = p.Type })
                    .ToList(),
                Operation = served.Where(o => o.ResourceType == type).Select(ToComponent).ToList(),
            };
            if (subscription)
            {
                resource.Extension.Add(new Extension(Core.Subscriptions.Backport.TopicCanonical, new Canonical(Core.Subscriptions.Backport.PasTopic)));
            }
            rest.Resource.Add(resource);
        }
        rest.Operation = served.Where(o => o.ResourceType is null).Select(ToComponent).ToList();

        return new CapabilityStatement
        {
            Status = PublicationStatus.Active,
            Date = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd"),
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "FhirPriorAuth", Version = SoftwareVersion },
            Implementation = new CapabilityStatement.ImplementationComponent
            {
                Description = $"FhirPriorAuth prior-authorization server, Da Vinci PAS {pas.Label()}",
                Url = baseUrl,
            },
            Name = "FhirPriorAuthPas" + pas.Label().Replace(".", "", StringComparison.Ordinal),
            Title = $"FhirPriorAuth (Da Vinci PAS {pas.Label()})",
            Instantiates = ["http://hl7.org/fhir/us/davinci-pas/CapabilityStatement/IntermediaryCapabilities|" + pas.Label()],
            ImplementationGuide = ["http://hl7.org/fhir/us/davinci-pas/ImplementationGuide/hl7.fhir.us.davinci-pas|" + pas.Label()],
            FhirVersion = FHIRVersion.N4_0_1,
            Format = [Server.Fhir.FhirHttp.FhirJson, "json"],
            Rest = [rest],
        };
    }

    private static CapabilityStatement.OperationComponent ToComponent(FhirOperationRegistration o) =>
        new() { Name = o.Name, Definition = o.Definition };
}
