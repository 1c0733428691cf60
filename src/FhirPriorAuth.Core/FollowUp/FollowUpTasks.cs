using System.Globalization;
using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>
/// The payer's own Tasks for what waits on it (clinical review), and the escalation of any Task whose CMS-0057-F
/// decision clock (its <c>restriction.period.end</c>) has run out.
/// </summary>
public static class FollowUpTasks
{
    /// <summary>Codes of the payer's work queues and task states (not PAS codes: these Tasks never leave the payer).</summary>
    public const string CodeSystem = "urn:fhirpriorauth:follow-up";

    /// <summary>Identifier system of the work queues that own review Tasks.</summary>
    public const string WorkQueueSystem = "urn:fhirpriorauth:work-queue";

    /// <summary>The queue clinical reviews wait in.</summary>
    public const string ClinicalReviewQueue = "clinical-review";

    /// <summary>Task code of a clinical review.</summary>
    public const string ClinicalReviewCode = "clinical-review";

    /// <summary>Task input naming the Claim item a review is about.</summary>
    public const string ItemSequenceInput = "item-sequence";

    /// <summary>A Task for a clinical reviewer to decide one pended item of an authorization.</summary>
    /// <param name="id">The Task's id.</param>
    /// <param name="authorization">The authorization, for its number and member.</param>
    /// <param name="claimId">The stored Claim's id (<c>focus</c>).</param>
    /// <param name="itemSequence">The pended item.</param>
    /// <param name="reason">Why it was pended.</param>
    /// <param name="now">When it was pended.</param>
    public static Task ReviewTask(string id, AuthorizationRecord authorization, string claimId, int itemSequence, string reason, DateTimeOffset now)
    {
        var task = new Task
        {
            Id = id,
            Identifier = [new Identifier("urn:fhirpriorauth:task", id)],
            GroupIdentifier = new Identifier("urn:fhirpriorauth:authorization", authorization.Number),
            Status = Task.TaskStatus.Requested,
            BusinessStatus = new CodeableConcept(CodeSystem, "awaiting-review", "Awaiting clinical review"),
            Intent = Task.TaskIntent.Order,
            Priority = authorization.Expedited ? RequestPriority.Urgent : RequestPriority.Routine,
            Code = new CodeableConcept(CodeSystem, ClinicalReviewCode, "Clinical review of a pended item"),
            Description = $"Decide item {itemSequence} of prior authorization {authorization.Number}: {reason}",
            Focus = new ResourceReference($"Claim/{claimId}"),
            For = authorization.Members.Count > 0
                ? new ResourceReference { Identifier = new Identifier(authorization.Members[0].System, authorization.Members[0].Value) }
                : null,
            AuthoredOn = now.ToString("o", CultureInfo.InvariantCulture),
            LastModified = now.ToString("o", CultureInfo.InvariantCulture),
            Owner = new ResourceReference { Identifier = new Identifier(WorkQueueSystem, ClinicalReviewQueue), Display = "Clinical review" },
            Restriction = new Task.RestrictionComponent
            {
                Period = new Period(new FhirDateTime(now), new FhirDateTime(now.Add(ClaimResponseBuilder.DecisionClock(authorization.Expedited)))),
            },
        };
        task.Input.Add(new Task.ParameterComponent
        {
            Type = new CodeableConcept(CodeSystem, ItemSequenceInput),
            Value = new PositiveInt(itemSequence),
        });
        return task;
    }

    /// <summary>When a Task's decision clock runs out, if it has one.</summary>
    public static DateTimeOffset? Due(Task task) =>
        task.Restriction?.Period?.EndElement?.TryToDateTimeOffset(out var end) == true ? end : null;

    /// <summary>Whether nobody needs to act on the Task any more.</summary>
    public static bool IsClosed(Task task) => task.Status is Task.TaskStatus.Completed or Task.TaskStatus.Cancelled
        or Task.TaskStatus.Failed or Task.TaskStatus.Rejected or Task.TaskStatus.EnteredInError;

    /// <summary>
    /// Escalates an open Task whose clock has run out: business status <c>overdue</c>, priority <c>asap</c>, and a note
    /// saying when. False (and unchanged) when it is closed, not yet due, or already escalated.
    /// </summary>
    public static bool Escalate(Task task, DateTimeOffset now)
    {
        if (IsClosed(task) || Due(task) is not { } due || due > now || IsOverdue(task))
        {
            return false;
        }
        task.BusinessStatus = new CodeableConcept(CodeSystem, "overdue", "Overdue: the decision clock ran out");
        task.Priority = RequestPriority.Asap;
        task.LastModified = now.ToString("o", CultureInfo.InvariantCulture);
        task.Note.Add(new Annotation
        {
            Time = now.ToString("o", CultureInfo.InvariantCulture),
            Text = $"Escalated: due {due.ToString("o", CultureInfo.InvariantCulture)}, still {task.Status?.ToString().ToLowerInvariant()}.",
        });
        return true;
    }

    private static bool IsOverdue(Task task) => task.BusinessStatus?.Coding.Any(c => c.System == CodeSystem && c.Code == "overdue") == true;
}
