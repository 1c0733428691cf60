using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Security;

/// <summary>Endpoint metadata for audited endpoints that are not FHIR interactions (the token endpoint).</summary>
/// <param name="Name">What the AuditEvent calls the request.</param>
public sealed record AuditedAs(string Name);

/// <summary>What an endpoint adds to its request's AuditEvent: resources it touched that the URL does not name.</summary>
/// <param name="describe">Builds the request's AuditEvent from its state so far, these details and one more resource it touched.</param>
public sealed class AuditDetails(Func<AuditDetails, string?, AuditEvent> describe)
{
    private readonly List<string> _entities = [];
    private SubmissionAudit? _submission;

    /// <summary>
    /// The request's AuditEvent for <c>$submit</c> to commit with the submission, as the AuditEvent of a request that
    /// succeeded; when it is not committed (a replay, a failure) the trail writes the request's own as for any request.
    /// </summary>
    public SubmissionAudit ForSubmission() => _submission = new SubmissionAudit(claimResponse => describe(this, claimResponse));

    /// <summary>Whether the AuditEvent was already committed with what the request wrote.</summary>
    internal bool Recorded => _submission?.Saved == true;

    /// <summary>The client of an unauthenticated request that names itself (a token request's assertion issuer).</summary>
    public string? ClientId { get; private set; }

    /// <summary>References (<c>Type/id</c>) the request created or returned.</summary>
    public IReadOnlyList<string> Entities => _entities;

    /// <summary>Adds a resource the request touched.</summary>
    public void Add(string reference) => _entities.Add(reference);

    /// <summary>Names the client when no token does.</summary>
    public void SetClient(string clientId) => ClientId = clientId;
}

/// <summary>
/// Writes one AuditEvent for every FHIR and token request, successes and failures alike, once the answer is known.
/// AuditEvents are append-only: the REST API refuses to change them, and only admins can read them. Logs get ids only.
/// </summary>
public sealed class AuditTrail(RequestDelegate next, ResourceInteractions fhir, ILogger<AuditTrail> log)
{
    /// <summary>Identifier system of correlation ids in AuditEvents.</summary>
    public const string CorrelationSystem = "urn:fhirpriorauth:correlation-id";

    /// <summary>Runs the request, then records it.</summary>
    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        if (http.Request.Path.StartsWithSegments("/health") || HttpMethods.IsOptions(http.Request.Method))
        {
            await next(http);
            return;
        }
        var details = new AuditDetails((d, touched) => Build(http, d, touched));
        http.Features.Set(details);
        try
        {
            await next(http);
        }
        finally
        {
            await RecordAsync(http, details);
        }
    }

    private async System.Threading.Tasks.Task RecordAsync(HttpContext http, AuditDetails details)
    {
        var endpoint = http.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<FhirActionMetadata>() is null && endpoint?.Metadata.GetMetadata<AuditedAs>() is null)
        {
            // Public documents (metadata, discovery, JWKS) and unknown paths carry no protected data.
            return;
        }
        if (details.Recorded)
        {
            return; // Committed with the submission it records.
        }
        try
        {
            await fhir.CreateAsync("AuditEvent", Build(http, details, null), null, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The answer is already sent; losing its audit record must at least be loud.
            log.LogError(e, "Could not write the AuditEvent of request {CorrelationId}", http.TraceIdentifier);
        }
    }

    private static AuditEvent Build(HttpContext http, AuditDetails details, string? touched)
    {
        var endpoint = http.GetEndpoint();
        var action = endpoint?.Metadata.GetMetadata<FhirActionMetadata>();
        var named = endpoint?.Metadata.GetMetadata<AuditedAs>();
        var status = http.Response.StatusCode;
        var access = http.Features.Get<RequestAccess>();
        var caller = access?.Caller;
        var type = action?.ResourceType ?? http.GetRouteValue("type") as string;
        var id = http.GetRouteValue("id") as string;
        var name = action?.Action.ToString() ?? named!.Name;

        var audit = new AuditEvent
        {
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
            Subtype = [new Coding(Core.FollowUp.FollowUpAudit.ActionSystem, name)],
            Action = action?.Action switch
            {
                FhirAction.Create or FhirAction.Submit or FhirAction.SubmitAttachment => AuditEvent.AuditEventAction.C,
                FhirAction.Update or FhirAction.ReviewerDecision => AuditEvent.AuditEventAction.U,
                FhirAction.Delete => AuditEvent.AuditEventAction.D,
                FhirAction.Read or FhirAction.VRead or FhirAction.Search or FhirAction.Inquire
                    or FhirAction.InstanceHistory or FhirAction.TypeHistory or FhirAction.SystemHistory => AuditEvent.AuditEventAction.R,
                _ => AuditEvent.AuditEventAction.E,
            },
            Recorded = DateTimeOffset.UtcNow,
            Outcome = status < 400 ? AuditEvent.AuditEventOutcome.N0 : status < 500 ? AuditEvent.AuditEventOutcome.N4 : AuditEvent.AuditEventOutcome.N8,
            OutcomeDesc = $"HTTP {status}",
            Source = new AuditEvent.SourceComponent
            {
                Site = http.Request.Host.Host,
                Observer = new ResourceReference { Display = "FhirPriorAuth" },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
        };

        var requestor = new AuditEvent.AgentComponent
        {
            Requestor = true,
            Who = new ResourceReference { Identifier = new Identifier(Core.FollowUp.FollowUpAudit.ClientSystem, caller?.ClientId ?? details.ClientId ?? "unauthenticated") },
            AltId = caller?.Subject,
            Network = http.Connection.RemoteIpAddress is { } ip
                ? new AuditEvent.NetworkComponent { Address = ip.ToString(), Type = AuditEvent.AuditEventAgentNetworkType.N2 }
                : null,
        };
        if (caller?.Roles.Count > 0)
        {
            requestor.Role = caller.Roles.Select(r => new CodeableConcept("urn:fhirpriorauth:role", r)).ToList();
        }
        audit.Agent.Add(requestor);
        foreach (var organization in caller?.Organization ?? [])
        {
            audit.Agent.Add(new AuditEvent.AgentComponent
            {
                Requestor = false,
                Who = new ResourceReference { Identifier = new Identifier(organization.System, organization.Value) },
                Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "healthcare provider"),
            });
        }

        if (type is not null)
        {
            var entity = new AuditEvent.EntityComponent
            {
                What = id is null ? null : new ResourceReference($"{type}/{id}"),
                Type = new Coding("http://hl7.org/fhir/resource-types", type),
            };
            if (http.Request.QueryString.HasValue)
            {
                entity.Query = Encoding.UTF8.GetBytes(http.Request.QueryString.Value!.TrimStart('?'));
            }
            audit.Entity.Add(entity);
        }
        foreach (var reference in touched is null ? details.Entities : [.. details.Entities, touched])
        {
            audit.Entity.Add(new AuditEvent.EntityComponent { What = new ResourceReference(reference) });
        }
        audit.Entity.Add(new AuditEvent.EntityComponent
        {
            What = new ResourceReference { Identifier = new Identifier(CorrelationSystem, http.TraceIdentifier) },
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
        });
        return audit;
    }
}
