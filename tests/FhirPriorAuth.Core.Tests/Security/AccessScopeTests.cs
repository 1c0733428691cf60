using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Security;

public class AccessScopeTests
{
    private static readonly IdentifierKey Npi = new("http://hl7.org/fhir/sid/us-npi", "1234567893");
    private static readonly IdentifierKey Member = new("https://payer.example/member", "M1");

    private static Caller CallerWith(IdentifierKey[]? organization = null, string? patient = null, string[]? roles = null) =>
        new("client", "sub", organization ?? [], patient, (roles ?? []).ToHashSet(), GrantedScopes.Parse("system/*.cruds"));

    [Fact]
    public void PayerRoles_SeeEverything()
    {
        Assert.True(AccessScope.For(CallerWith(roles: [PayerRoles.Reviewer]), []).Allows([]));
        Assert.True(AccessScope.For(CallerWith(roles: [PayerRoles.Admin]), []).Unrestricted);
    }

    [Fact]
    public void ACallerBoundToNothing_SeesNothing_AndItsSearchesMatchNothing()
    {
        var scope = AccessScope.For(CallerWith(), []);
        Assert.False(scope.Allows([AccessLabels.Organization(Npi)]));
        var registry = Core.Search.SearchParameterRegistry.Default;
        var criterion = Assert.Single(scope.Criteria(registry.Find("Claim", "_security")!));
        Assert.Equal("", ((Core.Search.TokenSearchValue)criterion.Values.Single()).Code);
    }

    [Fact]
    public void OrganizationAndPatientContext_MustBothMatch()
    {
        var scope = AccessScope.For(CallerWith([Npi], "p1"), [Member]);
        Assert.True(scope.Allows([AccessLabels.Organization(Npi), AccessLabels.Member(Member)]));
        Assert.True(scope.Allows([AccessLabels.Organization(Npi), AccessLabels.Patient("p1")]));
        Assert.False(scope.Allows([AccessLabels.Organization(Npi)]));
        Assert.False(scope.Allows([AccessLabels.Member(Member)]));
        Assert.Equal(2, scope.Criteria(Core.Search.SearchParameterRegistry.Default.Find("Claim", "_security")!).Count());
        // What it writes carries its organization and its patient, so it can see it afterwards.
        Assert.True(scope.Allows(scope.LabelsForWrites.ToList()));
    }

    [Fact]
    public void ContentLabels_ComeFromLocalPatientReferencesOnly()
    {
        var task = new Hl7.Fhir.Model.Task
        {
            For = new ResourceReference("Patient/p1"),
            Focus = new ResourceReference("http://ehr.example/fhir/Patient/p2"),
            Owner = new ResourceReference("Patient/p3/_history/2"),
        };
        Assert.Equal([AccessLabels.Patient("p1")], AccessLabels.FromContent(task));

        var patient = new Patient { Id = "p9", Identifier = [new Identifier(Member.System, Member.Value)] };
        Assert.Equal([AccessLabels.Patient("p9"), AccessLabels.Member(Member)], AccessLabels.FromContent(patient));
    }

    [Fact]
    public void Labels_AreStrippedFromWhatClientsSend_AndReadBackFromStoredJson()
    {
        var patient = new Patient { Meta = new Meta { Security = [new Coding(AccessLabels.System, "organization:x|y"), new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")] } };
        Assert.Equal(["organization:x|y"], AccessLabels.Strip(patient));
        Assert.Equal("R", Assert.Single(patient.Meta.Security).Code);
        AccessLabels.Apply(patient, ["patient:p1"]);
        Assert.Equal(["patient:p1"], AccessLabels.Read(Core.Fhir.FhirJson.ToBytes(patient)));
    }
}
