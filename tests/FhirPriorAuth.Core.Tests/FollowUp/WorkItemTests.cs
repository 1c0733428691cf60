using FhirPriorAuth.Core.FollowUp;

namespace FhirPriorAuth.Core.Tests.FollowUp;

public sealed class WorkItemTests
{
    [Fact]
    public void NewWork_HasIdsInTheOrderItWasMade()
    {
        var items = new List<WorkItem>();
        for (var i = 0; i < 5; i++)
        {
            items.Add(WorkItem.New(WorkKinds.EscalateTask, $"Task/{i}", DateTimeOffset.UtcNow));
            Thread.Sleep(2); // a later millisecond: ids made in the same one are ordered only by chance
        }

        Assert.Equal(items.Select(w => w.Id), items.Select(w => w.Id).Order(StringComparer.Ordinal));
        Assert.All(items, w => Assert.Matches("^[0-9a-f]{32}$", w.Id));
    }
}
