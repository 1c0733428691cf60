using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Storage;

namespace FhirPriorAuth.Core.Pas;

/// <summary>An identifier reduced to what matching needs.</summary>
/// <param name="System">The namespace, if any.</param>
/// <param name="Value">The value.</param>
public sealed record IdentifierKey(string? System, string Value)
{
    /// <summary><c>system|value</c>, the form stored in lookup tables.</summary>
    public override string ToString() => $"{System}|{Value}";
}

/// <summary>The current state of one prior authorization across its submissions (the initial request and its updates).</summary>
public sealed class AuthorizationRecord
{
    /// <summary>The payer's authorization number (also <c>ClaimResponse.preAuthRef</c>).</summary>
    public string Number { get; set; } = "";

    /// <summary>The PAS version it was requested with.</summary>
    public PasVersion PasVersion { get; set; }

    /// <summary>Overall status: approved, denied, partial, modified, pended or cancelled.</summary>
    public string Status { get; set; } = "";

    /// <summary>True for expedited requests (CMS-0057-F 72-hour clock).</summary>
    public bool Expedited { get; set; }

    /// <summary>The stored ClaimResponse.</summary>
    public string ClaimResponseId { get; set; } = "";

    /// <summary>The current version of the stored ClaimResponse.</summary>
    public int ClaimResponseVersion { get; set; }

    /// <summary>The stored Claim of the latest submission.</summary>
    public string ClaimId { get; set; } = "";

    /// <summary>Member identifiers (Patient MB identifiers, Coverage subscriber/member ids).</summary>
    public List<IdentifierKey> Members { get; set; } = [];

    /// <summary>Requesting provider identifiers (NPI, tax id, 2.2.1 sender ids).</summary>
    public List<IdentifierKey> Providers { get; set; } = [];

    /// <summary>Payer identifiers.</summary>
    public List<IdentifierKey> Insurers { get; set; } = [];

    /// <summary>The fullUrls of every Claim submitted for it (updates name their prior Claim by fullUrl).</summary>
    public List<string> ClaimUrls { get; set; } = [];

    /// <summary>The <c>Claim.identifier</c>s submitted for it.</summary>
    public List<IdentifierKey> ClaimIdentifiers { get; set; } = [];

    /// <summary>Every item ever submitted, with its current decision.</summary>
    public List<AuthorizationItem> Items { get; set; } = [];

    /// <summary>The follow-ups opened for its items (documentation requests, clinical reviews), open and closed.</summary>
    public List<FollowUpRecord> FollowUps { get; set; } = [];

    /// <summary>DocumentReferences received for it after the request (attachments, documents pulled from the EHR).</summary>
    public List<string> Documents { get; set; } = [];

    /// <summary>When the first request was received.</summary>
    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Optimistic-concurrency counter; a save expects the value it read.</summary>
    public int RowVersion { get; set; }

    /// <summary>
    /// The values a provider may quote as a CDex <c>TrackingId</c> to attach documents to it: the authorization number,
    /// its Claim identifiers, and the ids (identifier values) of its documentation requests and Tasks.
    /// </summary>
    public IEnumerable<string> TrackingIds() =>
        ClaimIdentifiers.Select(i => i.Value)
            .Concat(FollowUps.Where(f => f.Kind == FollowUpKinds.Documentation).Select(f => f.Id))
            .Prepend(Number)
            .Distinct(StringComparer.Ordinal);
}

/// <summary>An item of an authorization and its current decision.</summary>
/// <param name="Sequence">The Claim item sequence (constant across updates).</param>
/// <param name="Codes">Its codes as <c>system|code</c>.</param>
/// <param name="ServiceStart">First service date (yyyy-MM-dd), if known.</param>
/// <param name="ServiceEnd">Last service date, if known.</param>
/// <param name="Decision">The current decision.</param>
/// <param name="DecidedAt">When the decision was made.</param>
public sealed record AuthorizationItem(int Sequence, IReadOnlyList<string> Codes, string? ServiceStart, string? ServiceEnd,
    ItemDecision Decision, DateTimeOffset DecidedAt);

/// <summary>A follow-up resource opened for one item, and when it was closed.</summary>
/// <param name="Sequence">The item it is about.</param>
/// <param name="Kind">What it waits for (<see cref="FollowUpKinds"/>).</param>
/// <param name="Reference">The resource, <c>Type/id</c>.</param>
/// <param name="OpenedAt">When it was opened.</param>
/// <param name="ClosedAt">When it was closed, if it is.</param>
public sealed record FollowUpRecord(int Sequence, string Kind, string Reference, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt = null)
{
    /// <summary>The resource's id.</summary>
    public string Id => Reference[(Reference.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>The resource's type.</summary>
    public string ResourceType => Reference[..Reference.IndexOf('/', StringComparison.Ordinal)];
}

/// <summary>The kinds of follow-up an item can wait on.</summary>
public static class FollowUpKinds
{
    /// <summary>The provider is asked for documents (PAS CommunicationRequest and Task).</summary>
    public const string Documentation = "documentation";

    /// <summary>A clinical reviewer is to decide (the payer's review Task).</summary>
    public const string Review = "review";
}

/// <summary>Everything one <c>$submit</c> produces, written in one transaction.</summary>
/// <param name="Id">The submission's id.</param>
/// <param name="IdempotencyKey">Bundle identifier plus content hash; unique, so a replay stores nothing twice.</param>
/// <param name="BundleIdentifier">The request's <c>Bundle.identifier</c>.</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="Authorization">The authorization's new state.</param>
/// <param name="IsNewAuthorization">True when the submission opens the authorization.</param>
/// <param name="Decisions">The decisions this submission made (the audit record).</param>
/// <param name="Resources">Claim, ClaimResponse, CommunicationRequest and Task versions, and the request's AuditEvent.</param>
/// <param name="RequestBundle">The request as received.</param>
/// <param name="ResponseBundle">The response as sent.</param>
/// <param name="Warnings">Validation findings kept but not rejected (suppressed classes).</param>
/// <param name="Work">Background work the submission starts (Task escalations), saved in the same transaction.</param>
/// <param name="Kind">What the step was (<see cref="StepKinds"/>).</param>
public sealed record SubmissionRecord(
    string Id,
    string IdempotencyKey,
    IdentifierKey? BundleIdentifier,
    DateTimeOffset ReceivedAt,
    AuthorizationRecord Authorization,
    bool IsNewAuthorization,
    IReadOnlyList<ItemDecision> Decisions,
    IReadOnlyList<ResourceWrite> Resources,
    byte[] RequestBundle,
    byte[] ResponseBundle,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<WorkItem>? Work = null,
    string Kind = StepKinds.Request)
{
    /// <summary>
    /// What the store made of this submission ahead of its save (<see cref="IAuthorizationStore.Prepare"/>); opaque to
    /// everything else. A store uses it only while it still matches the record.
    /// </summary>
    public object? Prepared { get; init; }

    /// <summary>
    /// The parts of <see cref="ResponseBundle"/> that echo request resources as sent: a store can keep the response
    /// without them, and restore it from the request (<see cref="StoredResponse"/>).
    /// </summary>
    public IReadOnlyList<EchoedSpan> ResponseEchoes { get; init; } = [];

    /// <summary>
    /// The work saved with the step: its own, and, when it changes an authorization that existed before (a decision, an
    /// update, documents), telling the Subscriptions of the requesting organization. The item's id is derived from the
    /// step's, so the change is reported once however often it is handled.
    /// </summary>
    public IReadOnlyList<WorkItem> WorkToSave => IsNewAuthorization
        ? Work ?? []
        : [.. Work ?? [], new WorkItem($"notify:{Id}", WorkKinds.NotifySubscribers, Authorization.Number, ReceivedAt)];
}

/// <summary>The kinds of recorded step that change an authorization.</summary>
public static class StepKinds
{
    /// <summary>The initial <c>$submit</c>.</summary>
    public const string Request = "request";

    /// <summary>A Claim Update (<c>$submit</c> of an existing authorization).</summary>
    public const string Update = "update";

    /// <summary>Documents pushed by the provider (<c>$submit-attachment</c>).</summary>
    public const string Attachment = "attachment";

    /// <summary>Documents the worker found in the provider's EHR.</summary>
    public const string Ehr = "ehr";

    /// <summary>A clinical reviewer's decision.</summary>
    public const string Review = "review";

    /// <summary>The demo auto-decision (<c>FollowUp:AutoDecideReviewsAfter</c>).</summary>
    public const string AutoDecide = "auto-decide";
}

/// <summary>One recorded step of an authorization and the decisions it made.</summary>
/// <param name="Id">The submission id.</param>
/// <param name="Kind">What it was (<see cref="StepKinds"/>).</param>
/// <param name="At">When it was received.</param>
/// <param name="Decisions">The item decisions it recorded.</param>
public sealed record RecordedStep(string Id, string Kind, DateTimeOffset At, IReadOnlyList<RecordedDecision> Decisions);

/// <summary>A decision as the decision record keeps it.</summary>
/// <param name="Sequence">The item.</param>
/// <param name="ReviewAction">The X12 306 code.</param>
/// <param name="PolicyId">The deciding policy, if any.</param>
/// <param name="PolicyVersion">Its version.</param>
/// <param name="RuleId">The rule, or who decided.</param>
/// <param name="Reason">Why.</param>
public sealed record RecordedDecision(int Sequence, string ReviewAction, string? PolicyId, string? PolicyVersion, string RuleId, string Reason);

/// <summary>Criteria to find authorizations: any member key and any provider key must match.</summary>
/// <param name="Members">Member identifiers; at least one must match.</param>
/// <param name="Providers">Provider identifiers; when given, at least one must match.</param>
public sealed record AuthorizationLookup(IReadOnlyList<IdentifierKey> Members, IReadOnlyList<IdentifierKey> Providers);

/// <summary>Storage of authorizations and submissions; SQL lives in the storage project.</summary>
public interface IAuthorizationStore
{
    /// <summary>The stored response of a submission with this idempotency key, or null.</summary>
    Task<byte[]?> FindResponseAsync(string idempotencyKey, CancellationToken ct);

    /// <summary>Authorizations matching the lookup, most recently updated first.</summary>
    Task<IReadOnlyList<AuthorizationRecord>> FindAsync(AuthorizationLookup lookup, int limit, CancellationToken ct);

    /// <summary>Reads one authorization by number, or null.</summary>
    Task<AuthorizationRecord?> ReadAsync(string number, CancellationToken ct);

    /// <summary>Authorizations one of whose <see cref="AuthorizationRecord.TrackingIds"/> is <paramref name="trackingId"/>.</summary>
    Task<IReadOnlyList<AuthorizationRecord>> FindByTrackingIdAsync(string trackingId, CancellationToken ct);

    /// <summary>Every recorded step of an authorization with its decisions, oldest first.</summary>
    Task<IReadOnlyList<RecordedStep>> ReadStepsAsync(string number, CancellationToken ct);

    /// <summary>The response Bundle of the latest submission for an authorization, or null.</summary>
    Task<byte[]?> LatestResponseAsync(string number, CancellationToken ct);

    /// <summary>
    /// Writes the submission, the authorization's new state, its decision rows and resources in one transaction.
    /// Returns false, writing nothing, when a submission with the same idempotency key already exists.
    /// Throws <see cref="VersionConflictException"/> when the authorization changed since it was read, or when a new
    /// authorization's number is already taken.
    /// </summary>
    Task<bool> SaveAsync(SubmissionRecord submission, CancellationToken ct);

    /// <summary>
    /// Does the part of <see cref="SaveAsync"/> that needs only CPU (compressing bodies, serializing the detail) ahead of
    /// it, so that a caller with a core to spare does it while it waits for something else. SaveAsync does it itself for
    /// a submission not prepared, or changed since.
    /// </summary>
    SubmissionRecord Prepare(SubmissionRecord submission) => submission;
}
