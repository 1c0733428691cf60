using System.Globalization;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>
/// Keeps an authorization's follow-ups in step with its item decisions: opens a clinical review Task for an item newly
/// pended for review (never a second one), and closes the documentation requests and Tasks of items that no longer
/// wait for what they ask. Everything it changes is returned as writes for the caller's one transaction.
/// </summary>
public sealed class FollowUpLedger(IResourceStore resources, ResourceInteractions fhir, FollowUpSettings? settings = null)
{
    /// <summary>Task output type that points at a document that answered a documentation Task.</summary>
    public const string DocumentOutput = "attachment-received";

    /// <summary>
    /// Review Tasks (with their escalation and, in demo runs, auto-decision work) for the items of
    /// <paramref name="decisions"/> pended for clinical review that have no open review yet; recorded on the authorization.
    /// </summary>
    public (List<ResourceWrite> Writes, List<WorkItem> Work) OpenReviews(AuthorizationRecord authorization, string claimId,
        IEnumerable<ItemDecision> decisions, DateTimeOffset now)
    {
        var (writes, work) = (new List<ResourceWrite>(), new List<WorkItem>());
        foreach (var decision in decisions.Where(d => d.Action == ReviewAction.Pended && d.Pend == PendReason.ClinicalReview))
        {
            if (authorization.FollowUps.Any(f => f.Sequence == decision.Sequence && f.Kind == FollowUpKinds.Review && f.ClosedAt is null))
            {
                continue;
            }
            var task = FollowUpTasks.ReviewTask(ResourceInteractions.NewId(), authorization, claimId, decision.Sequence, decision.Reason, now);
            // Clinical reviews wait in the payer's own queue: their Tasks are not sent to the provider nor visible to it.
            writes.Add(fhir.PrepareWrite(task, task.Id!, 1, 0, access: [PriorAuthorizationService.ReviewQueueLabel]));
            authorization.FollowUps.Add(new FollowUpRecord(decision.Sequence, FollowUpKinds.Review, $"Task/{task.Id}", now));
            work.Add(WorkItem.New(WorkKinds.EscalateTask, $"Task/{task.Id}", FollowUpTasks.Due(task) ?? now));
            if (settings?.AutoDecideReviewsAfter is { } delay)
            {
                work.Add(WorkItem.New(WorkKinds.AutoDecide, $"Task/{task.Id}", now + delay));
            }
        }
        return (writes, work);
    }

    /// <summary>
    /// Closes every open follow-up whose item no longer waits for it, and those <paramref name="superseded"/> names:
    /// a documentation Task is completed (with <paramref name="documents"/> as its output) when its item was decided,
    /// and cancelled when superseded; a documentation request likewise completed or revoked; a review Task completed.
    /// </summary>
    /// <param name="authorization">The authorization with its new item decisions.</param>
    /// <param name="now">When.</param>
    /// <param name="why">The note written on each closed resource.</param>
    /// <param name="superseded">Follow-ups replaced by new ones (a Claim Update's response asks again).</param>
    /// <param name="documents">Documents that settled the items, cited on completed documentation Tasks.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<List<ResourceWrite>> CloseSettledAsync(AuthorizationRecord authorization, DateTimeOffset now, string why,
        Func<FollowUpRecord, bool>? superseded, IReadOnlyList<string>? documents, CancellationToken ct)
    {
        var writes = new List<ResourceWrite>();
        var items = authorization.Items.ToDictionary(i => i.Sequence);
        for (int i = 0; i < authorization.FollowUps.Count; i++)
        {
            var followUp = authorization.FollowUps[i];
            if (followUp.ClosedAt is not null)
            {
                continue;
            }
            // Closed while its item still waits means replaced by a newer request for the same thing.
            var replaced = StillWaits(followUp, items.GetValueOrDefault(followUp.Sequence));
            if (replaced && superseded?.Invoke(followUp) != true)
            {
                continue;
            }
            authorization.FollowUps[i] = followUp with { ClosedAt = now };
            if (await resources.ReadAsync(followUp.ResourceType, followUp.Id, null, ct) is not { IsDeleted: false } stored)
            {
                continue;
            }
            var resource = FhirJson.Parse(stored.Json.Span, followUp.ResourceType);
            var labels = AccessLabels.Strip(resource);
            if (!Close(resource, replaced, why, documents, now))
            {
                continue;
            }
            writes.Add(fhir.PrepareWrite(resource, followUp.Id, stored.Version + 1, stored.Version, access: labels));
        }
        return writes;
    }

    private static bool StillWaits(FollowUpRecord followUp, AuthorizationItem? item) =>
        item?.Decision is { Action: ReviewAction.Pended } decision && followUp.Kind switch
        {
            FollowUpKinds.Documentation => decision.Pend == PendReason.Documentation,
            FollowUpKinds.Review => decision.Pend == PendReason.ClinicalReview,
            _ => false,
        };

    /// <summary>Closes one resource; false when somebody closed it already.</summary>
    private static bool Close(Resource resource, bool replaced, string why, IReadOnlyList<string>? documents, DateTimeOffset now)
    {
        var note = new Annotation { Time = now.ToString("o", CultureInfo.InvariantCulture), Text = why };
        switch (resource)
        {
            case Task task when !FollowUpTasks.IsClosed(task):
                task.Status = replaced ? Task.TaskStatus.Cancelled : Task.TaskStatus.Completed;
                task.LastModified = now.ToString("o", CultureInfo.InvariantCulture);
                task.Note.Add(note);
                if (!replaced)
                {
                    task.Output.AddRange((documents ?? []).Select(d => new Task.OutputComponent
                    {
                        Type = new CodeableConcept(FollowUpTasks.CodeSystem, DocumentOutput, "Documentation received"),
                        Value = new ResourceReference(d),
                    }));
                }
                return true;
            case CommunicationRequest request when request.Status is RequestStatus.Active or RequestStatus.Draft or RequestStatus.OnHold:
                request.Status = replaced ? RequestStatus.Revoked : RequestStatus.Completed;
                request.Note.Add(note);
                return true;
            default:
                return false;
        }
    }
}
