using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>AuditEvents of what the server does on its own (escalations, EHR searches), beside those of requests.</summary>
public static class FollowUpAudit
{
    /// <summary>Code system of the AuditEvent subtypes naming the action (of a request, or of the worker).</summary>
    public const string ActionSystem = "urn:fhirpriorauth:action";

    /// <summary>Identifier system of OAuth client ids (and of the server's worker) as AuditEvent agents.</summary>
    public const string ClientSystem = "urn:fhirpriorauth:client";

    /// <summary>Identifier system naming an authorization by its number in an AuditEvent entity.</summary>
    public const string AuthorizationSystem = "urn:fhirpriorauth:authorization";

    /// <summary>An AuditEvent of <paramref name="action"/> by the server's worker about <paramref name="entities"/>.</summary>
    public static AuditEvent Event(string action, string description, bool success, IEnumerable<ResourceReference> entities, DateTimeOffset now) => new()
    {
        Id = ResourceInteractions.NewId(),
        Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
        Subtype = [new Coding(ActionSystem, action)],
        Action = AuditEvent.AuditEventAction.E,
        Recorded = now,
        Outcome = success ? AuditEvent.AuditEventOutcome.N0 : AuditEvent.AuditEventOutcome.N4,
        OutcomeDesc = description,
        Agent = [new AuditEvent.AgentComponent { Requestor = true, Who = new ResourceReference { Identifier = new Identifier(ClientSystem, FollowUpWork.WorkerAgent) } }],
        Source = new AuditEvent.SourceComponent { Observer = new ResourceReference { Display = "FhirPriorAuth" } },
        Entity = entities.Select(e => new AuditEvent.EntityComponent { What = e }).ToList(),
    };
}
