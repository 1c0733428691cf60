using FhirPriorAuth.Core.Security;

namespace FhirPriorAuth.Core.Tests.Security;

public sealed class SmartScopeTests
{
    [Theory]
    [InlineData("system/Claim.c", ScopeContext.System, "Claim", FhirPermission.Create)]
    [InlineData("system/Claim.write", ScopeContext.System, "Claim", FhirPermission.Create | FhirPermission.Update | FhirPermission.Delete)]
    [InlineData("user/*.read", ScopeContext.User, "*", FhirPermission.Read | FhirPermission.Search)]
    [InlineData("user/ClaimResponse.rs", ScopeContext.User, "ClaimResponse", FhirPermission.Read | FhirPermission.Search)]
    [InlineData("patient/Task.cruds", ScopeContext.Patient, "Task", FhirPermission.Create | FhirPermission.Read | FhirPermission.Update | FhirPermission.Delete | FhirPermission.Search)]
    [InlineData("system/*.*", ScopeContext.System, "*", FhirPermission.Create | FhirPermission.Read | FhirPermission.Update | FhirPermission.Delete | FhirPermission.Search)]
    public void V1AndV2Scopes_Parse(string text, ScopeContext context, string type, FhirPermission permissions)
    {
        Assert.True(SmartScope.TryParse(text, out var scope));
        Assert.Equal((context, type, permissions), (scope!.Context, scope.ResourceType, scope.Permissions));
    }

    [Fact]
    public void GranularV2Scope_KeepsItsConstraints()
    {
        Assert.True(SmartScope.TryParse("patient/Task.rs?status=requested&code=http://x|attachment-request-code", out var scope));
        Assert.Equal([KeyValuePair.Create("status", "requested"), KeyValuePair.Create("code", "http://x|attachment-request-code")], scope!.Constraints);
    }

    [Theory]
    [InlineData("openid")]
    [InlineData("launch/patient")]
    [InlineData("system/Claim.dus")]   // letters out of order: refused, not guessed
    [InlineData("system/Claim.rr")]
    [InlineData("system/claim.read")]
    [InlineData("admin/Claim.read")]
    [InlineData("system/Claim")]
    public void ContextAndMalformedScopes_GrantNothing(string text) =>
        Assert.False(SmartScope.TryParse(text, out _));

    [Fact]
    public void Granting_ChecksTypeAndEveryNeededLetter()
    {
        var granted = GrantedScopes.Parse("openid system/Claim.c system/ClaimResponse.rs user/*.read");
        Assert.Single(granted.Granting("Claim", FhirPermission.Create));
        Assert.Empty(granted.Granting("Claim", FhirPermission.Update));
        Assert.Equal(2, granted.Granting("ClaimResponse", FhirPermission.Read).Count);
        Assert.Empty(granted.Granting("Task", FhirPermission.Update));
        Assert.Contains("openid", granted.All);
    }

    [Theory]
    [InlineData(FhirAction.Submit, "Claim", "Claim:Create")]
    [InlineData(FhirAction.Inquire, "Claim", "Claim:Read,ClaimResponse:Read")]
    [InlineData(FhirAction.SubmitAttachment, "DocumentReference", "DocumentReference:Create")]
    [InlineData(FhirAction.Search, "Task", "Task:Search")]
    [InlineData(FhirAction.SystemHistory, "", "*:Search")]
    [InlineData(FhirAction.ReviewerDecision, "Task", "Task:Update")]
    [InlineData(FhirAction.Update, "Subscription", "Subscription:Update")]
    public void EveryActionNeedsItsDocumentedScope(FhirAction action, string type, string expected) =>
        Assert.Equal(expected, string.Join(",", ScopeRequirements.For(action, type).Select(n => $"{n.ResourceType}:{n.Permission}")));

    [Fact]
    public void EveryActionHasARequirement() =>
        Assert.All(Enum.GetValues<FhirAction>(), a => Assert.NotEmpty(ScopeRequirements.For(a, "Claim")));
}
