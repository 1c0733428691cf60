using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>Does one item of background work; an exception means "try again later" to the worker.</summary>
public sealed class FollowUpWork(ResourceInteractions fhir, IResourceStore store, ReviewDecisions reviews, IAuthorizationStore authorizations,
    SupportingDocuments documents, IWorkQueue queue, FollowUpSettings? settings = null, IDocumentSource? ehr = null,
    Subscriptions.NotificationDelivery? notifications = null)
{
    /// <summary>The AuditEvent agent of work the server does on its own.</summary>
    public const string WorkerAgent = "fhirpriorauth-worker";

    /// <summary>Does <paramref name="item"/> as of <paramref name="now"/>.</summary>
    public Task HandleAsync(WorkItem item, DateTimeOffset now, CancellationToken ct) => item.Kind switch
    {
        WorkKinds.EscalateTask => EscalateAsync(item.Subject, now, ct),
        WorkKinds.AutoDecide => AutoDecideAsync(item.Subject, ct),
        WorkKinds.PullDocuments => PullDocumentsAsync(item.Subject, now, ct),
        WorkKinds.NotifySubscribers => notifications?.RecordAsync(item.Subject, item.Id, now, ct) ?? Task.CompletedTask,
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

    /// <summary>
    /// Searches the provider's EHR for the documents an authorization still waits for, and hands what it finds to
    /// <see cref="SupportingDocuments"/>. Until the decision is due, a search that finds nothing is made again after the
    /// pull interval, and a failing EHR is retried with the worker's backoff (the exception). Each search is audited.
    /// </summary>
    private async Task PullDocumentsAsync(string number, DateTimeOffset now, CancellationToken ct)
    {
        if (ehr is null || await authorizations.ReadAsync(number, ct) is not { } authorization
            || now >= authorization.ReceivedAt + ClaimResponseBuilder.DecisionClock(authorization.Expedited)
            || DocumentQuery.For(authorization, authorization.Items.Select(i => i.Decision), now) is not { } query
            || !ehr.Serves(query.Providers))
        {
            // Nothing waits any more, the clock ran out (escalation takes over), or the EHR is no longer configured.
            return;
        }
        var entity = new ResourceReference { Identifier = new Identifier(FollowUpAudit.AuthorizationSystem, number) };
        DocumentSearch found;
        try
        {
            found = await ehr.FindAsync(query, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            var failed = FollowUpAudit.Event("ehr-pull", $"EHR search for authorization {number} failed: {e.Message}", false, [entity], now);
            await store.CommitAsync([fhir.PrepareWrite(failed, failed.Id!, 1, 0)], ct);
            throw;
        }
        var audit = FollowUpAudit.Event("ehr-pull", $"EHR search for authorization {number}: found {found.Documents.Count} document(s).", true, [entity], now);
        await store.CommitAsync([fhir.PrepareWrite(audit, audit.Id!, 1, 0)], ct);
        if (found.Documents.Count > 0)
        {
            var record = JsonSerializer.SerializeToUtf8Bytes(new { ehr = found.Ehr, queries = found.Queries, documents = found.Documents.Select(d => d.Id) });
            var key = $"ehr:{number}:{found.Ehr}:{string.Join(",", found.Documents.Select(d => d.Id).Order(StringComparer.Ordinal))}";
            // The base URL only names follow-up resources, and documents received create none.
            authorization = (await documents.ReceiveAsync(authorization, found.Documents, new DocumentOrigin(StepKinds.Ehr, found.Ehr, found.Queries),
                record, key, "", ct)).Authorization;
        }
        if (authorization.Items.Any(i => i.Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation }))
        {
            await queue.EnqueueAsync([WorkItem.New(WorkKinds.PullDocuments, number, now + (settings ?? new FollowUpSettings()).Interval)], ct);
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
        var audit = FollowUpAudit.Event("escalate", "Task overdue: escalated", true,
            [new ResourceReference($"Task/{id}")], now);
        audit.Action = AuditEvent.AuditEventAction.U;
        audit.Entity[0].Type = new Coding("http://hl7.org/fhir/resource-types", "Task");
        await store.CommitAsync(
        [
            fhir.PrepareWrite(task, id, stored.Version + 1, stored.Version, access: labels),
            fhir.PrepareWrite(audit, audit.Id!, 1, 0),
        ], ct);
    }
}
