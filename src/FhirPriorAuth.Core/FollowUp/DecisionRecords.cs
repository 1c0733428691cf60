using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>
/// The whole path of one prior authorization, for the payer and its auditors: every step received and what it decided
/// (by which policy rule, or by whom), every follow-up opened and closed, the documents received, what the server did
/// by itself (EHR searches, escalations), and whether the CMS-0057-F decision clock was met.
/// </summary>
/// <param name="Authorization">The authorization number.</param>
/// <param name="Status">Its status now.</param>
/// <param name="Expedited">True for an expedited request (72-hour clock).</param>
/// <param name="ReceivedAt">When the first request was received.</param>
/// <param name="Clock">The decision clock.</param>
/// <param name="Items">Each item's current decision.</param>
/// <param name="Steps">Every recorded step, oldest first.</param>
/// <param name="FollowUps">Every follow-up opened.</param>
/// <param name="Documents">Documents received after the request (<c>DocumentReference/id</c>).</param>
/// <param name="Events">What the server did by itself, from the audit trail, oldest first.</param>
/// <param name="Notifications">The Subscription notifications its changes made, and when each was delivered.</param>
public sealed record DecisionRecord(string Authorization, string Status, bool Expedited, DateTimeOffset ReceivedAt, DecisionClock Clock,
    IReadOnlyList<ItemRecord> Items, IReadOnlyList<RecordedStep> Steps, IReadOnlyList<FollowUpRecord> FollowUps, IReadOnlyList<string> Documents,
    IReadOnlyList<EventRecord> Events, IReadOnlyList<Subscriptions.NotificationRecord> Notifications);

/// <summary>The CMS-0057-F clock of an authorization.</summary>
/// <param name="Limit">72 hours (expedited) or 7 days (standard).</param>
/// <param name="Due">When the decision is due.</param>
/// <param name="DecidedAt">When the last item got its final decision; null while any item is pended.</param>
/// <param name="HoursToDecision">From receipt to that decision.</param>
/// <param name="Met">Whether it was decided in time; null while pended and not yet due.</param>
public sealed record DecisionClock(TimeSpan Limit, DateTimeOffset Due, DateTimeOffset? DecidedAt, double? HoursToDecision, bool? Met);

/// <summary>An item's current decision.</summary>
/// <param name="Sequence">The item.</param>
/// <param name="ReviewAction">The X12 306 code.</param>
/// <param name="RuleId">The deciding rule, or who decided.</param>
/// <param name="Reason">Why.</param>
/// <param name="DecidedAt">When.</param>
/// <param name="CoverageAssertionId">The CRD coverage assertion its order carried, if any.</param>
public sealed record ItemRecord(int Sequence, string ReviewAction, string RuleId, string Reason, DateTimeOffset DecidedAt, string? CoverageAssertionId);

/// <summary>Something the server did by itself.</summary>
/// <param name="At">When.</param>
/// <param name="Action">What (<c>ehr-pull</c>, <c>escalate</c>).</param>
/// <param name="Succeeded">Whether it worked.</param>
/// <param name="Description">What happened.</param>
/// <param name="AuditEvent">The AuditEvent that records it.</param>
public sealed record EventRecord(DateTimeOffset At, string Action, bool Succeeded, string? Description, string AuditEvent);

/// <summary>Builds <see cref="DecisionRecord"/>s from the authorization, its steps and the audit trail.</summary>
public sealed class DecisionRecords(IAuthorizationStore store, ResourceInteractions fhir, Subscriptions.ISubscriptionStore? subscriptions = null)
{
    /// <summary>The record of authorization <paramref name="number"/>; 404 when there is none.</summary>
    public async Task<DecisionRecord> ReadAsync(string number, CancellationToken ct)
    {
        var authorization = await store.ReadAsync(number, ct) ?? throw FhirException.NotFound($"There is no prior authorization {number}.");
        var steps = await store.ReadStepsAsync(number, ct);

        var events = new List<EventRecord>();
        var about = new List<KeyValuePair<string, string>> { new("entity-identifier", $"{FollowUpAudit.AuthorizationSystem}|{number}") };
        var tasks = authorization.FollowUps.Where(f => f.ResourceType == "Task").Select(f => f.Reference).ToList();
        foreach (var criteria in tasks.Count == 0 ? [about] : new[] { about, [new("entity", string.Join(",", tasks))] })
        {
            var (page, _, _) = await fhir.SearchAsync("AuditEvent", [.. criteria, new("_count", "1000")], strict: true, ct);
            events.AddRange(page.Resources.Select(r => FhirJson.Parse<AuditEvent>(r.Json.Span))
                .Where(a => a.Agent.Any(g => g.Who?.Identifier?.Value == FollowUpWork.WorkerAgent) && a.Subtype.Any(s => s.System == FollowUpAudit.ActionSystem))
                .Select(a => new EventRecord(a.Recorded ?? default, a.Subtype.First(s => s.System == FollowUpAudit.ActionSystem).Code ?? "",
                    a.Outcome == AuditEvent.AuditEventOutcome.N0, a.OutcomeDesc, $"AuditEvent/{a.Id}")));
        }

        var limit = ClaimResponseBuilder.DecisionClock(authorization.Expedited);
        var due = authorization.ReceivedAt + limit;
        DateTimeOffset? decidedAt = authorization.Status == "pended" || authorization.Items.Count == 0 ? null
            : authorization.Items.Where(i => i.Decision.Action != ReviewAction.Cancelled).Select(i => i.DecidedAt).DefaultIfEmpty(authorization.UpdatedAt).Max();
        bool? met = decidedAt is { } d ? d <= due : fhir.Now() > due ? false : null;
        var clock = new DecisionClock(limit, due, decidedAt, decidedAt is { } at ? Math.Round((at - authorization.ReceivedAt).TotalHours, 3) : null, met);

        return new DecisionRecord(authorization.Number, authorization.Status, authorization.Expedited, authorization.ReceivedAt, clock,
            authorization.Items.Select(i => new ItemRecord(i.Sequence, i.Decision.X12Code, i.Decision.RuleId, i.Decision.Reason, i.DecidedAt, i.Decision.CoverageAssertionId)).ToList(),
            steps, authorization.FollowUps, authorization.Documents.Select(d => $"DocumentReference/{d}").ToList(),
            events.DistinctBy(e => e.AuditEvent).OrderBy(e => e.At).ToList(),
            subscriptions is null ? [] : await subscriptions.NotificationsAsync(number, ct));
    }
}
