using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>Does one item of background work; an exception means "try again later" to the worker.</summary>
public sealed class FollowUpWork(ResourceInteractions fhir, IResourceStore store, ReviewDecisions reviews)
{
    /// <summary>The AuditEvent agent of work the server does on its own.</summary>
    public const string WorkerAgent = "fhirpriorauth-worker";

    /// <summary>Does <paramref name="item"/> as of <paramref name="now"/>.</summary>
    public Task HandleAsync(WorkItem item, DateTimeOffset now, CancellationToken ct) => item.Kind switch
    {
        WorkKinds.EscalateTask => EscalateAsync(item.Subject, now, ct),
        WorkKinds.AutoDecide => AutoDecideAsync(item.Subject, ct),
        _ => throw new InvalidOperationException($"Unknown kind of work '{item.Kind}'."),
    };

    /// <summary>Approves the item of a review Task nobody decided; a Task decided or closed meanwhile is left as it is.</summary>
    private async Task AutoDecideAsync(string subject, CancellationToken ct)
    {
        try
        {
            // The base URL only names follow-up resources, and a decision creates none.
            await reviews.DecideAsync(TaskId(subject), new ReviewerDecision(Policy.ReviewAction.Approved,
                "Approved automatically (demo setting FollowUp:AutoDecideReviewsAfter).", null, null), WorkerAgent, "", ct, human: false);
        }
        catch (FhirException e) when (e.Status is 404 or 409)
        {
            // Gone, closed, or no longer pended: nothing left to decide.
        }
    }

    private static string TaskId(string subject) =>
        subject.StartsWith("Task/", StringComparison.Ordinal) ? subject[5..] : throw new InvalidOperationException($"Not a Task: {subject}");

    /// <summary>Escalates an overdue open Task, recording the change and an AuditEvent in one commit.</summary>
    private async Task EscalateAsync(string subject, DateTimeOffset now, CancellationToken ct)
    {
        var id = TaskId(subject);
        var stored = await store.ReadAsync("Task", id, null, ct);
        if (stored is null || stored.IsDeleted)
        {
            return;
        }
        var task = FhirJson.Parse<Hl7.Fhir.Model.Task>(stored.Json.Span);
        var labels = AccessLabels.Strip(task);
        if (!FollowUpTasks.Escalate(task, now))
        {
            return;
        }
        var audit = new AuditEvent
        {
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
            Subtype = [new Coding("urn:fhirpriorauth:action", "escalate")],
            Action = AuditEvent.AuditEventAction.U,
            Recorded = now,
            Outcome = AuditEvent.AuditEventOutcome.N0,
            OutcomeDesc = "Task overdue: escalated",
            Agent = [new AuditEvent.AgentComponent { Requestor = true, Who = new ResourceReference { Identifier = new Identifier("urn:fhirpriorauth:client", WorkerAgent) } }],
            Source = new AuditEvent.SourceComponent { Observer = new ResourceReference { Display = "FhirPriorAuth" } },
            Entity = [new AuditEvent.EntityComponent { What = new ResourceReference($"Task/{id}"), Type = new Coding("http://hl7.org/fhir/resource-types", "Task") }],
        };
        await store.CommitAsync(
        [
            fhir.PrepareWrite(task, id, stored.Version + 1, stored.Version, access: labels),
            fhir.PrepareWrite(audit, ResourceInteractions.NewId(), 1, 0),
        ], ct);
    }
}
