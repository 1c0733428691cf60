// Firely annotates nearly every element as nullable; the Task built here has them all.
#nullable disable warnings
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.Tests.FollowUp;

public sealed class FollowUpTasksTests
{
    private static readonly DateTimeOffset Pended = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

    private static Task Review(bool expedited) => FollowUpTasks.ReviewTask("t1", new AuthorizationRecord
    {
        Number = "PA1",
        Expedited = expedited,
        Members = [new IdentifierKey("urn:member", "M1")],
    }, "c1", 2, "Pended for clinical review.", Pended);

    [Theory]
    [InlineData(false, 7 * 24)]
    [InlineData(true, 72)]
    public void AReviewTask_IsDueWhenTheDecisionClockRunsOut(bool expedited, int hours)
    {
        var task = Review(expedited);
        Assert.Equal(Pended.AddHours(hours), FollowUpTasks.Due(task));
        Assert.Equal(expedited ? RequestPriority.Urgent : RequestPriority.Routine, task.Priority);
        Assert.Equal("Claim/c1", task.Focus.Reference);
        Assert.Equal("M1", task.For.Identifier.Value);
    }

    [Fact]
    public void AnOpenTask_IsEscalatedOnceItIsDue_AndOnlyOnce()
    {
        var task = Review(expedited: true);
        Assert.False(FollowUpTasks.Escalate(task, Pended.AddHours(71)));
        Assert.Null(task.BusinessStatus.Coding.FirstOrDefault(c => c.Code == "overdue"));

        Assert.True(FollowUpTasks.Escalate(task, Pended.AddHours(72)));
        Assert.Equal(("overdue", RequestPriority.Asap), (task.BusinessStatus.Coding[0].Code, task.Priority));
        Assert.Single(task.Note);

        Assert.False(FollowUpTasks.Escalate(task, Pended.AddHours(100)));
        Assert.Single(task.Note);
    }

    [Theory]
    [InlineData(Task.TaskStatus.Completed)]
    [InlineData(Task.TaskStatus.Cancelled)]
    [InlineData(Task.TaskStatus.Rejected)]
    public void AClosedTask_IsNeverEscalated(Task.TaskStatus status)
    {
        var task = Review(expedited: false);
        task.Status = status;
        Assert.False(FollowUpTasks.Escalate(task, Pended.AddDays(30)));
        Assert.Equal("awaiting-review", task.BusinessStatus.Coding[0].Code);
    }
}
