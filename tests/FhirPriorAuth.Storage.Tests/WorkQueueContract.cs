using FhirPriorAuth.Core.FollowUp;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>
/// What the work queue must do. Each test's items have their own subject prefix and it asserts only on those, so the
/// SQL Server variant can share a database between runs.
/// </summary>
public abstract class WorkQueueContract
{
    protected abstract SqlResourceStore Store { get; }

    protected virtual void SkipUnlessAvailable() { }

    private SqlWorkQueue Queue => new(Store.Dialect, TimeProvider.System);

    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static List<WorkItem> Mine(IEnumerable<WorkItem> items, string prefix) => items.Where(i => i.Subject.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    [SkippableFact]
    public async Task DueWork_IsLeasedToOneOwner_UntilTheLeaseExpires()
    {
        SkipUnlessAvailable();
        var prefix = $"Task/{Guid.NewGuid():N}-";
        var due = WorkItem.New(WorkKinds.EscalateTask, prefix + "due", Now.AddMinutes(-1));
        var later = WorkItem.New(WorkKinds.EscalateTask, prefix + "later", Now.AddHours(1));
        await Queue.EnqueueAsync([due, later], default);

        var first = Assert.Single(Mine(await Queue.ClaimAsync("worker-1", Now, Now.AddMinutes(5), 100, default), prefix));
        Assert.Equal((due.Id, 1), (first.Id, first.Attempts));
        Assert.Empty(Mine(await Queue.ClaimAsync("worker-2", Now.AddMinutes(1), Now.AddMinutes(6), 100, default), prefix));

        // worker-1 went away: once its lease expires the item is claimed again, and worker-1 can no longer finish it.
        var again = Assert.Single(Mine(await Queue.ClaimAsync("worker-2", Now.AddMinutes(5), Now.AddMinutes(10), 100, default), prefix));
        Assert.Equal((due.Id, 2), (again.Id, again.Attempts));
        Assert.False(await Queue.CompleteAsync(first, "worker-1", default));
        Assert.True(await Queue.CompleteAsync(again, "worker-2", default));

        Assert.Equal([later.Id], Mine(await Queue.PendingAsync(10_000, default), prefix).Select(i => i.Id));
    }

    [SkippableFact]
    public async Task RetriedWork_WaitsUntilItsNextTime_AndRemembersWhyItFailed()
    {
        SkipUnlessAvailable();
        var prefix = $"Task/{Guid.NewGuid():N}-";
        await Queue.EnqueueAsync([WorkItem.New(WorkKinds.EscalateTask, prefix + "x", Now)], default);
        var claimed = Assert.Single(Mine(await Queue.ClaimAsync("w", Now, Now.AddMinutes(5), 100, default), prefix));

        await Queue.RetryAsync(claimed, "w", Now.AddMinutes(30), "EHR timed out", default);

        Assert.Empty(Mine(await Queue.ClaimAsync("w", Now.AddMinutes(29), Now.AddMinutes(35), 100, default), prefix));
        var retried = Assert.Single(Mine(await Queue.ClaimAsync("w", Now.AddMinutes(30), Now.AddMinutes(35), 100, default), prefix));
        Assert.Equal(("EHR timed out", 2), (retried.LastError, retried.Attempts));
        Assert.True(await Queue.CompleteAsync(retried, "w", default));
    }
}

public sealed class SqliteWorkQueueTests(SqliteDatabase database) : WorkQueueContract, IClassFixture<SqliteDatabase>
{
    protected override SqlResourceStore Store => database.Store;
}

public class SqlServerWorkQueueTests(SqlServerDatabase database) : WorkQueueContract, IClassFixture<SqlServerDatabase>
{
    protected override SqlResourceStore Store => database.Store!;

    protected override void SkipUnlessAvailable() =>
        Skip.If(database.Store is null, $"Set {SqlServerDatabase.Variable} to a SQL Server connection string to run these tests.");
}
