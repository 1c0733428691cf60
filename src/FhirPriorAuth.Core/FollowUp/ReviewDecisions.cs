using System.Globalization;
using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>What a clinical reviewer decided on one pended item.</summary>
/// <param name="Action">Approved, denied or modified.</param>
/// <param name="Reason">Why, in plain words (required for denials and modifications).</param>
/// <param name="AuthorizedQuantity">Units authorized, for a modification.</param>
/// <param name="ReviewerNpi">The reviewer's NPI, reported in the ClaimResponse (PAS 2.2.1).</param>
public sealed record ReviewerDecision(ReviewAction Action, string? Reason, decimal? AuthorizedQuantity, string? ReviewerNpi);

/// <summary>
/// <c>Task/{id}/$complete</c>: a clinical reviewer decides the item a review Task waits on. The authorization's
/// ClaimResponse gets a new version with the item's final review action and the human reviewer, the Task is completed
/// with the decision as its output, and all of it is stored like a submission, in one transaction, so <c>$inquire</c>
/// and the decision record see it at once.
/// </summary>
public sealed class ReviewDecisions(IAuthorizationStore store, IResourceStore resources, ResourceInteractions fhir, FollowUpLedger followUps)
{
    /// <summary>Code of the Task output that carries the decision.</summary>
    public const string DecisionOutput = "review-decision";

    /// <summary>Records <paramref name="decision"/> on the item of review Task <paramref name="taskId"/>; returns the new ClaimResponse.</summary>
    /// <param name="taskId">The review Task.</param>
    /// <param name="decision">The decision.</param>
    /// <param name="reviewer">Who decided (client and subject), for the decision record.</param>
    /// <param name="baseUrl">The base URL of the endpoint, for fullUrls.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="human">False when the server decides by itself (the demo auto-decision): not a human review.</param>
    public async Task<ClaimResponse> DecideAsync(string taskId, ReviewerDecision decision, string reviewer, string baseUrl, CancellationToken ct,
        bool human = true)
    {
        if (decision.Action is not (ReviewAction.Approved or ReviewAction.Denied or ReviewAction.Modified))
        {
            throw FhirException.BadRequest("A reviewer approves, denies or modifies an item.", "Parameters.parameter[decision]");
        }
        if (decision.Action != ReviewAction.Approved && string.IsNullOrWhiteSpace(decision.Reason))
        {
            throw FhirException.BadRequest("A denial or modification needs a reason.", "Parameters.parameter[reason]", OperationOutcome.IssueType.Required);
        }
        if (decision.Action == ReviewAction.Modified && decision.AuthorizedQuantity is not > 0)
        {
            throw FhirException.BadRequest("A modification needs the authorized quantity.", "Parameters.parameter[quantity]", OperationOutcome.IssueType.Required);
        }

        var stored = await resources.ReadAsync("Task", taskId, null, ct);
        if (stored is null || stored.IsDeleted)
        {
            throw FhirException.NotFound($"There is no Task {taskId}.");
        }
        var task = FhirJson.Parse<Task>(stored.Json.Span);
        var labels = AccessLabels.Strip(task);
        if (task.Code?.Coding.Any(c => c.System == FollowUpTasks.CodeSystem && c.Code == FollowUpTasks.ClinicalReviewCode) != true
            || task.GroupIdentifier?.Value is not { } number
            || task.Input.FirstOrDefault(i => i.Type?.Coding.Any(c => c.Code == FollowUpTasks.ItemSequenceInput) == true)?.Value is not PositiveInt { Value: { } sequence })
        {
            throw new FhirException(422, Outcomes.Error(OperationOutcome.IssueType.BusinessRule, $"Task {taskId} is not a clinical review of an authorization item."));
        }
        if (FollowUpTasks.IsClosed(task))
        {
            throw FhirException.Conflict($"Task {taskId} is already {task.Status?.ToString().ToLowerInvariant()}.");
        }
        var authorization = await store.ReadAsync(number, ct) ?? throw FhirException.NotFound($"There is no authorization {number}.");
        var item = authorization.Items.FirstOrDefault(i => i.Sequence == sequence);
        if (item?.Decision.Action != ReviewAction.Pended)
        {
            throw FhirException.Conflict($"Item {sequence} of authorization {number} is no longer pended.");
        }
        var revision = await AuthorizationRevision.LoadAsync(store, authorization, ct);

        var now = fhir.Now();
        var final = new ItemDecision(sequence, decision.Action,
            decision.Reason ?? "Approved by a clinical reviewer.", null, null, null, human ? $"{ReviewerRule}{reviewer}" : AutoDecisionRule,
            RequestedQuantity: item.Decision.RequestedQuantity, AuthorizedQuantity: decision.AuthorizedQuantity, ReviewerNpi: decision.ReviewerNpi);
        authorization.Items = authorization.Items.Select(i => i.Sequence == sequence ? i with { Decision = final, DecidedAt = now } : i).ToList();
        var (response, responseWrite, responseBundle) = revision.NextResponse(fhir, baseUrl, now);

        task.Status = Task.TaskStatus.Completed;
        task.BusinessStatus = new CodeableConcept(FollowUpTasks.CodeSystem, "decided", "Decided by a clinical reviewer");
        task.LastModified = now.ToString("o", CultureInfo.InvariantCulture);
        task.Output.Add(new Task.OutputComponent
        {
            Type = new CodeableConcept(FollowUpTasks.CodeSystem, DecisionOutput),
            Value = new CodeableConcept("https://codesystem.x12.org/005010/306", final.X12Code, final.X12Display) { Text = final.Reason },
        });

        // This Task is completed above; the item's other open follow-ups (its documentation requests) close with it.
        authorization.FollowUps = authorization.FollowUps.Select(f => f.Reference == $"Task/{taskId}" ? f with { ClosedAt = now } : f).ToList();
        var closing = await followUps.CloseSettledAsync(authorization, now, $"Item {sequence} was decided by clinical review.", null, null, ct);

        var record = new SubmissionRecord(ResourceInteractions.NewId(), $"review:{taskId}", null, now, authorization, IsNewAuthorization: false,
            [final],
            [
                responseWrite,
                fhir.PrepareWrite(task, taskId, stored.Version + 1, stored.Version, access: labels),
                .. closing,
            ],
            JsonSerializer.SerializeToUtf8Bytes(new { reviewer, task = taskId, decision = final.X12Code }), FhirJson.ToBytes(responseBundle), [],
            Kind: human ? StepKinds.Review : StepKinds.AutoDecide);
        try
        {
            if (!await store.SaveAsync(record, ct))
            {
                throw FhirException.Conflict($"Task {taskId} was decided by another request at the same time.");
            }
        }
        catch (VersionConflictException)
        {
            throw FhirException.Conflict($"Authorization {number} changed while the decision was recorded; read it again and decide.");
        }
        return response;
    }

    /// <summary>The prefix of the rule id of a reviewer's decision (followed by who decided).</summary>
    public const string ReviewerRule = "reviewer:";

    /// <summary>The rule id of a decision the server made by itself (<see cref="FollowUpSettings.AutoDecideReviewsAfter"/>).</summary>
    public const string AutoDecisionRule = "auto-decide";
}
