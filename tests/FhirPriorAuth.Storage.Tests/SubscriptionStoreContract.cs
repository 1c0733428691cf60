using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Core.Subscriptions;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>
/// What the Subscription store must do: numbered events recorded once per change, a lease per Subscription, and a
/// release that never leaves waiting events behind. Every test uses its own Subscription ids.
/// </summary>
public abstract class SubscriptionStoreContract
{
    protected abstract SqlResourceStore Store { get; }

    protected virtual void SkipUnlessAvailable() { }

    private SqlSubscriptionStore Subscriptions => new(Store);

    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private async Task<string> CreateAsync(string status = SubscriptionStates.Active, DateTimeOffset? due = null)
    {
        var id = Guid.NewGuid().ToString("N");
        var json = System.Text.Encoding.UTF8.GetBytes($$"""{"resourceType":"Subscription","id":"{{id}}","status":"{{status}}"}""");
        await Subscriptions.SaveAsync(new ResourceWrite("Subscription", id, 1, Now, json, [], 0),
            new SubscriptionDelivery(id, status, ["8189991234"], "http://localhost/fhir", PasVersion.V2_2_1, 0, 0, due ?? DateTimeOffset.MaxValue), default);
        return id;
    }

    [SkippableFact]
    public async Task EachChange_IsOneNumberedEvent_RecordedOnce_AndMakesTheSubscriptionDue()
    {
        SkipUnlessAvailable();
        var id = await CreateAsync();
        Assert.DoesNotContain(await Subscriptions.ClaimAsync("w", Now, Now.AddMinutes(1), 1000, default), d => d.Id == id);

        Assert.True(await Subscriptions.AddEventAsync(id, "notify:a", "PA-1", "ClaimResponse/1", Now, default));
        Assert.False(await Subscriptions.AddEventAsync(id, "notify:a", "PA-1", "ClaimResponse/1", Now, default));
        Assert.True(await Subscriptions.AddEventAsync(id, "notify:b", "PA-2", "ClaimResponse/2", Now, default));

        var events = await Subscriptions.EventsAsync(id, 0, 10, default);
        Assert.Equal([(1L, "PA-1"), (2L, "PA-2")], events.Select(e => (e.Number, e.AuthorizationNumber)));
        var claimed = Assert.Single(await Subscriptions.ClaimAsync("w", Now, Now.AddMinutes(1), 1000, default), d => d.Id == id);
        Assert.Equal((2L, 0L), (claimed.LastEvent, claimed.Delivered));
        Assert.Contains(await Subscriptions.LiveAsync(default), d => d.Id == id && d.Filters.SequenceEqual(["8189991234"]));

        await Subscriptions.DeliveredAsync(id, 1, Now.AddSeconds(1), default);
        var mine = (await Subscriptions.NotificationsAsync("PA-1", default)).Where(n => n.Subscription == $"Subscription/{id}");
        Assert.Equal([(1L, Now, (DateTimeOffset?)Now.AddSeconds(1))], mine.Select(n => (n.EventNumber, n.RecordedAt, n.DeliveredAt)));
    }

    [SkippableFact]
    public async Task ALeasedSubscription_IsNotClaimedAgain_AndAReleaseAfterDeliveryKeepsLaterEventsDue()
    {
        SkipUnlessAvailable();
        var id = await CreateAsync();
        await Subscriptions.AddEventAsync(id, "notify:a", "PA-1", "ClaimResponse/1", Now, default);
        Assert.Single(await Subscriptions.ClaimAsync("w1", Now, Now.AddMinutes(1), 1000, default), d => d.Id == id);
        Assert.DoesNotContain(await Subscriptions.ClaimAsync("w2", Now, Now.AddMinutes(1), 1000, default), d => d.Id == id);

        await Subscriptions.DeliveredAsync(id, 1, Now, default);
        // An event recorded while w1 was delivering: releasing "idle" must still leave the Subscription due.
        await Subscriptions.AddEventAsync(id, "notify:b", "PA-2", "ClaimResponse/2", Now, default);
        await Subscriptions.ReleaseAsync(id, "w1", Now, DateTimeOffset.MaxValue, null, null, default);
        var again = Assert.Single(await Subscriptions.ClaimAsync("w2", Now, Now.AddMinutes(1), 1000, default), d => d.Id == id);
        Assert.Equal((2L, 1L), (again.LastEvent, again.Delivered));
        Assert.Equal([2L], (await Subscriptions.EventsAsync(id, again.Delivered, 10, default)).Select(e => e.Number));

        // A failure waits for its retry time, and remembers since when it has been failing.
        await Subscriptions.ReleaseAsync(id, "w2", Now, Now.AddMinutes(5), Now, "503", default);
        Assert.DoesNotContain(await Subscriptions.ClaimAsync("w3", Now.AddMinutes(4), Now.AddMinutes(6), 1000, default), d => d.Id == id);
        var retried = Assert.Single(await Subscriptions.ClaimAsync("w3", Now.AddMinutes(5), Now.AddMinutes(6), 1000, default), d => d.Id == id);
        Assert.Equal((Now, "503"), (retried.FailingSince, retried.LastError));
    }

    [SkippableFact]
    public async Task AnErrorOrDeletedSubscription_IsNotClaimed_AndADeletedOneRecordsNothing()
    {
        SkipUnlessAvailable();
        var failed = await CreateAsync(SubscriptionStates.Error, Now);
        var off = await CreateAsync(SubscriptionStates.Off, Now);
        Assert.True(await Subscriptions.AddEventAsync(failed, "notify:a", "PA-1", "ClaimResponse/1", Now, default));
        Assert.False(await Subscriptions.AddEventAsync(off, "notify:a", "PA-1", "ClaimResponse/1", Now, default));
        Assert.DoesNotContain(await Subscriptions.ClaimAsync("w", Now, Now.AddMinutes(1), 1000, default), d => d.Id == failed || d.Id == off);
        Assert.DoesNotContain(await Subscriptions.LiveAsync(default), d => d.Id == off);
    }
}

public sealed class SqliteSubscriptionStoreTests(SqliteDatabase database) : SubscriptionStoreContract, IClassFixture<SqliteDatabase>
{
    protected override SqlResourceStore Store => database.Store;
}

public class SqlServerSubscriptionStoreTests(SqlServerDatabase database) : SubscriptionStoreContract, IClassFixture<SqlServerDatabase>
{
    protected override SqlResourceStore Store => database.Store!;

    protected override void SkipUnlessAvailable() =>
        Skip.If(database.Store is null, $"Set {SqlServerDatabase.Variable} to a SQL Server connection string to run these tests.");
}
