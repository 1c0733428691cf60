using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Crd;

public sealed class CoverageAssertionLinkTests
{
    private sealed class Assertions(params CoverageAssertion[] stored) : ICoverageAssertionStore
    {
        public System.Threading.Tasks.Task SaveAsync(IReadOnlyList<CoverageAssertion> assertions, CancellationToken ct) => System.Threading.Tasks.Task.CompletedTask;

        public Task<CoverageAssertion?> ReadAsync(string id, CancellationToken ct) => System.Threading.Tasks.Task.FromResult(stored.FirstOrDefault(a => a.Id == id));
    }

    private static readonly IdentifierKey Member = new("http://davinci-pas.org/MIN", "M-1");

    private static CoverageAssertion Asserted(ItemDecision decision) => new("CA-1", "order-sign", "h", "ServiceRequest/sr", ["http://www.ama-assn.org/go/cpt|99213"],
        ["http://hl7.org/fhir/sid/icd-10-cm|G89.4"], null, [Member], "Coverage/c", decision, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A Claim with one item whose order carries the coverage-information extension with assertion CA-1.</summary>
    private static PolicyRequest Request(string diagnosis)
    {
        var order = new ServiceRequest { Id = "sr", Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "99213") };
        var information = new Extension { Url = CrdUrls.CoverageInformation };
        information.AddExtension("coverage-assertion-id", new FhirString("CA-1"));
        order.Extension.Add(information);
        var item = new Claim.ItemComponent { Sequence = 1, ProductOrService = new CodeableConcept("http://www.ama-assn.org/go/cpt", "99213") };
        item.Extension.Add(new Extension("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService", new ResourceReference("ServiceRequest/sr")));
        var claim = new Claim { Item = [item], Diagnosis = [new Claim.DiagnosisComponent { Sequence = 1, Diagnosis = new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", diagnosis) }] };
        return new PolicyRequest(claim, new Bundle(), r => r.Reference == "ServiceRequest/sr" ? order : null, DateTimeOffset.UtcNow);
    }

    private static readonly ItemDecision NoAuth = new(1, ReviewAction.Approved, "No prior authorization required.", null, "p", "1", "office-visits", NoAuthRequired: true);
    private static readonly ItemDecision Review = new(1, ReviewAction.Pended, "Pended for review.", null, "p", "2", "new-rule", PendReason.ClinicalReview);

    [Fact]
    public async System.Threading.Tasks.Task AnAgreeingDecision_NamesTheAssertion()
    {
        var linked = await new CoverageAssertionLink(new Assertions(Asserted(NoAuth))).ApplyAsync(Request("G89.4"), [Member], [NoAuth], default);
        Assert.Equal(NoAuth with { CoverageAssertionId = "CA-1" }, linked.Single());
    }

    [Fact]
    public async System.Threading.Tasks.Task WhenThePolicyChangedButTheRequestDidNot_TheAssertionStands()
    {
        var linked = (await new CoverageAssertionLink(new Assertions(Asserted(NoAuth))).ApplyAsync(Request("G89.4"), [Member], [Review], default)).Single();
        Assert.Equal((ReviewAction.Approved, true, "CA-1", "office-visits"), (linked.Action, linked.NoAuthRequired, linked.CoverageAssertionId, linked.RuleId));
        Assert.StartsWith("As the payer told the ordering clinician on 2026-11-01 (coverage assertion CA-1)", linked.Reason);
    }

    [Fact]
    public async System.Threading.Tasks.Task WhenTheRequestChanged_TheNewDecisionStands()
    {
        var linked = (await new CoverageAssertionLink(new Assertions(Asserted(NoAuth))).ApplyAsync(Request("M54.5"), [Member], [Review], default)).Single();
        Assert.Equal(Review with { CoverageAssertionId = "CA-1" }, linked);
        var otherMember = (await new CoverageAssertionLink(new Assertions(Asserted(NoAuth))).ApplyAsync(Request("G89.4"), [new IdentifierKey(null, "M-2")], [Review], default)).Single();
        Assert.Equal(ReviewAction.Pended, otherMember.Action);
    }

    [Fact]
    public void DocumentationAskedFor_ThenApproval_Agrees()
    {
        var asked = Asserted(new ItemDecision(1, ReviewAction.Pended, "docs", null, "p", "1", "mri", PendReason.Documentation));
        Assert.True(asked.AgreesWith(new ItemDecision(1, ReviewAction.Approved, "ok", null, "p", "1", "mri")));
        Assert.False(asked.AgreesWith(new ItemDecision(1, ReviewAction.Denied, "no", null, "p", "1", "mri")));
    }
}
