namespace FhirPriorAuth.Core.FollowUp;

/// <summary>The kinds of background work, as stored in the work queue.</summary>
public static class WorkKinds
{
    /// <summary>At a Task's due time: escalate it if it is still open (subject: <c>Task/id</c>).</summary>
    public const string EscalateTask = "escalate-task";

    /// <summary>Demo and conformance runs only: approve a clinical review nobody decided (subject: <c>Task/id</c>).</summary>
    public const string AutoDecide = "auto-decide";

    /// <summary>Search the requesting provider's EHR for the documents an authorization waits for (subject: the authorization number).</summary>
    public const string PullDocuments = "pull-documents";

    /// <summary>
    /// Record a change of an authorization's ClaimResponse as an event of every Subscription it matches (subject: the
    /// authorization number). Saved in the same transaction as the change: the notification outbox's first half.
    /// </summary>
    public const string NotifySubscribers = "notify-subscribers";
}

/// <summary>Follow-up settings the decision path needs.</summary>
/// <param name="AutoDecideReviewsAfter">
/// When set (demo and conformance runs only, off by default), a clinical review still open this long after the pend
/// is approved by the server itself, so a pended workflow (Inferno's) completes unattended.
/// </param>
/// <param name="EhrBudget">How long <c>$submit</c> waits for the EHR before it pends and leaves the search to the worker.</param>
/// <param name="PullInterval">How long after an EHR search found nothing it is made again, until the item is due.</param>
public sealed record FollowUpSettings(TimeSpan? AutoDecideReviewsAfter = null, TimeSpan? EhrBudget = null, TimeSpan? PullInterval = null)
{
    /// <summary>The EHR budget of <c>$submit</c>: 3 seconds unless set.</summary>
    public TimeSpan Budget => EhrBudget ?? TimeSpan.FromSeconds(3);

    /// <summary>The time between EHR searches that found nothing: 1 hour unless set.</summary>
    public TimeSpan Interval => PullInterval ?? TimeSpan.FromHours(1);
}

/// <summary>One piece of background work, durable in the database until it is done.</summary>
/// <param name="Id">Unique id.</param>
/// <param name="Kind">What to do (<see cref="WorkKinds"/>).</param>
/// <param name="Subject">What it is about, e.g. <c>Task/123</c>.</param>
/// <param name="NotBefore">Not to be done before this time.</param>
/// <param name="Attempts">How many times it was claimed so far (including this one, once claimed).</param>
/// <param name="LastError">Why the previous attempt failed, if it did.</param>
public sealed record WorkItem(string Id, string Kind, string Subject, DateTimeOffset NotBefore, int Attempts = 0, string? LastError = null)
{
    /// <summary>New work with a fresh id.</summary>
    /// <remarks>
    /// Time-ordered (UUID v7), as resource ids are: the work table's key then grows at one end; random ids put each
    /// submission's work on a page of its own (docs/performance.md, "Seventeenth pass").
    /// </remarks>
    public static WorkItem New(string kind, string subject, DateTimeOffset notBefore) =>
        new(Guid.CreateVersion7().ToString("N"), kind, subject, notBefore);
}

/// <summary>
/// The durable work queue. Work is claimed with a lease: a claimed item is invisible to other workers (on any
/// replica) until the lease expires, so a worker that dies mid-item leaves it to be claimed again.
/// </summary>
public interface IWorkQueue
{
    /// <summary>Adds work (outside a submission; a submission's work is saved with it).</summary>
    Task EnqueueAsync(IReadOnlyList<WorkItem> items, CancellationToken ct);

    /// <summary>Claims up to <paramref name="max"/> due items for <paramref name="owner"/> until <paramref name="leaseUntil"/>.</summary>
    Task<IReadOnlyList<WorkItem>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int max, CancellationToken ct);

    /// <summary>Removes finished work; false when the lease was lost to another owner meanwhile.</summary>
    Task<bool> CompleteAsync(WorkItem item, string owner, CancellationToken ct);

    /// <summary>Releases claimed work to be tried again at <paramref name="notBefore"/>, noting why it failed.</summary>
    Task RetryAsync(WorkItem item, string owner, DateTimeOffset notBefore, string error, CancellationToken ct);

    /// <summary>Work not done yet, soonest first (for operators and tests).</summary>
    Task<IReadOnlyList<WorkItem>> PendingAsync(int max, CancellationToken ct);
}
