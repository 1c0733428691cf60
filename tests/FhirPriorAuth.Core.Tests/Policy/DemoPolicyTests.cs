using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Tests;
using static FhirPriorAuth.Core.Tests.Policy.PolicyRequestFaker;

namespace FhirPriorAuth.Core.Tests.Policy;

/// <summary>Every row of the demo policy table (README), over Bogus-generated requests.</summary>
public sealed class DemoPolicyTests
{
    private static readonly PolicyEngine Engine = new(PolicyLoader.LoadDirectory(RepoPaths.DemoPolicies));

    private static ItemDecision DecideOne(PolicyRequestFaker faker, string system, string code, decimal? quantity = null) =>
        Assert.Single(Engine.Decide(faker.Build((system, code, quantity))));

    [Theory]
    [InlineData(Cpt, "99212")]
    [InlineData(Cpt, "99213")]
    [InlineData("https://bluebutton.cms.gov/resources/codesystem/hcpcs", "99214")]
    public void OfficeVisits_AreApprovedWithNoAuthorizationRequired(string system, string code)
    {
        var decision = DecideOne(new PolicyRequestFaker(1), system, code);
        Assert.Equal("A1", decision.X12Code);
        Assert.True(decision.NoAuthRequired);
        Assert.Contains("No prior authorization required", decision.Reason);
        Assert.Equal(("demo-medical-policy", "2026.1", "office-visits"), (decision.PolicyId, decision.PolicyVersion, decision.RuleId));
    }

    [Fact]
    public void ConsultationServiceType_IsApproved()
    {
        var decision = DecideOne(new PolicyRequestFaker(2), PolicyEngine.ServiceTypeSystem, "3");
        Assert.Equal(("A1", "consultation"), (decision.X12Code, decision.RuleId));
    }

    [Theory]
    [InlineData("72148", "M54.5")]
    [InlineData("72148", "M51.26")]
    [InlineData("70551", "G43.909")]
    [InlineData("70551", "R51.9")]
    [InlineData("70551", "G35")]
    public void Mri_WithQualifyingDiagnosisAndRecentNote_IsApproved(string code, string diagnosis)
    {
        var faker = new PolicyRequestFaker(3) { Diagnosis = diagnosis, Document = ("11506-3", ReceivedAt.AddDays(-10)) };
        Assert.Equal("A1", DecideOne(faker, Cpt, code).X12Code);
    }

    [Theory]
    [InlineData("72148", "M54.5")]
    [InlineData("70551", "G35")]
    public void Mri_WithoutNote_IsPendedForDocumentation(string code, string diagnosis)
    {
        var decision = DecideOne(new PolicyRequestFaker(4) { Diagnosis = diagnosis }, Cpt, code);
        Assert.Equal(("A4", PendReason.Documentation), (decision.X12Code, decision.Pend));
        Assert.Equal(["11506-3", "34117-2"], decision.DocumentsNeeded!);
    }

    [Theory]
    [InlineData("72148", "G43.909")]
    [InlineData("70551", "M54.5")]
    [InlineData("70551", "G36.0")]
    public void Mri_WithNonQualifyingDiagnosis_IsDeniedAsNotMedicallyNecessary(string code, string diagnosis)
    {
        var faker = new PolicyRequestFaker(5) { Diagnosis = diagnosis, Document = ("34117-2", ReceivedAt.AddDays(-1)) };
        var decision = DecideOne(faker, Cpt, code);
        Assert.Equal("A3", decision.X12Code);
        Assert.Contains("Not medically necessary", decision.Reason);
        Assert.EndsWith("/qualifying-diagnosis", decision.RuleId);
    }

    [Fact]
    public void Mri_WithoutAnyDiagnosis_IsDenied() =>
        Assert.Equal("A3", DecideOne(new PolicyRequestFaker(6), Cpt, "72148").X12Code);

    [Theory]
    [InlineData(90, "A1")]
    [InlineData(91, "A4")]
    public void Mri_NoteAgeBoundary_IsNinetyDays(int daysOld, string expected)
    {
        var faker = new PolicyRequestFaker(7) { Diagnosis = "M54.5", Document = ("11506-3", ReceivedAt.AddDays(-daysOld)) };
        Assert.Equal(expected, DecideOne(faker, Cpt, "72148").X12Code);
    }

    [Fact]
    public void Mri_NoteOfAnotherType_DoesNotCount()
    {
        var faker = new PolicyRequestFaker(8) { Diagnosis = "M54.5", Document = ("18748-4", ReceivedAt.AddDays(-1)) };
        Assert.Equal("A4", DecideOne(faker, Cpt, "72148").X12Code);
    }

    [Fact]
    public void CosmeticDermabrasion_IsDeniedAsExcludedBenefit()
    {
        var decision = DecideOne(new PolicyRequestFaker(9), Cpt, "15780");
        Assert.Equal("A3", decision.X12Code);
        Assert.Contains("Excluded benefit", decision.Reason);
    }

    [Theory]
    [InlineData("E0601", 1, "A1", null)]
    [InlineData("E0601", 2, "A6", 1)]
    [InlineData("G0154", 10, "A1", null)]
    [InlineData("G0154", 11, "A6", 10)]
    public void QuantityCaps_ModifyDownToTheCap(string code, int quantity, string expected, int? authorized)
    {
        var decision = DecideOne(new PolicyRequestFaker(10), Hcpcs, code, quantity);
        Assert.Equal(expected, decision.X12Code);
        Assert.Equal(authorized, (int?)decision.AuthorizedQuantity);
        Assert.Equal(quantity, (int?)decision.RequestedQuantity);
    }

    [Fact]
    public void MissingQuantity_CountsAsOneUnit() =>
        Assert.Equal("A1", DecideOne(new PolicyRequestFaker(11), Hcpcs, "E0601").X12Code);

    [Theory]
    [InlineData(Cpt, "33510")]
    [InlineData(Hcpcs, "B4184")]
    [InlineData(Hcpcs, "B4185")]
    [InlineData(Hcpcs, "E1223")]
    [InlineData(Cpt, "27447")]
    public void ReviewCodesAndUnknownCodes_ArePendedForClinicalReview(string system, string code)
    {
        var decision = DecideOne(new PolicyRequestFaker(12), system, code);
        Assert.Equal(("A4", PendReason.ClinicalReview), (decision.X12Code, decision.Pend));
    }

    [Fact]
    public void EachItem_IsDecidedOnItsOwn()
    {
        var decisions = Engine.Decide(new PolicyRequestFaker(13).Build((Cpt, "99213", null), (Cpt, "15780", null), (Hcpcs, "G0154", 12)));
        Assert.Equal(["A1", "A3", "A6"], decisions.Select(d => d.X12Code));
        Assert.Equal([1, 2, 3], decisions.Select(d => d.Sequence));
    }

    [Theory]
    [InlineData("2026-12-10", "A1")]
    [InlineData("2026-12-31", "A1")]
    [InlineData("2027-01-01", "A3")]
    [InlineData("2025-12-31", "A3")]
    public void Coverage_MustBeActiveOnTheServiceDate(string serviceDate, string expected)
    {
        var faker = new PolicyRequestFaker(14) { ServiceDate = DateOnly.Parse(serviceDate) };
        var decision = DecideOne(faker, Cpt, "99213");
        Assert.Equal(expected, decision.X12Code);
        if (expected == "A3")
        {
            Assert.Equal("coverage-active", decision.RuleId);
            Assert.Contains("not active on the service date", decision.Reason);
        }
    }

    [Fact]
    public void ItemWithoutADateOfService_IsABusinessError()
    {
        var decision = DecideOne(new PolicyRequestFaker(17) { ServiceDate = null }, Cpt, "99213");
        Assert.Equal(("A3", "57", "service-date"), (decision.X12Code, decision.RejectReason, decision.RuleId));
    }

    [Fact]
    public void CancelledCoverage_IsDenied()
    {
        var decision = DecideOne(new PolicyRequestFaker(15) { CoverageStatus = Hl7.Fhir.Model.FinancialResourceStatusCodes.Cancelled }, Cpt, "99213");
        Assert.Equal(("A3", "coverage-active"), (decision.X12Code, decision.RuleId));
    }

    [Fact]
    public void ProcedureCode_WinsOverServiceType()
    {
        // Like Inferno's pended preset: service type 3 on the item, a HCPCS device code on the DeviceRequest it points to.
        var request = new PolicyRequestFaker(16).Build((PolicyEngine.ServiceTypeSystem, "3", null));
        var device = new Hl7.Fhir.Model.DeviceRequest { Id = "dev", Code = new Hl7.Fhir.Model.CodeableConcept(Hcpcs, "E1223") };
        request.Bundle.Entry.Add(new() { FullUrl = "http://ehr.example.org/fhir/DeviceRequest/dev", Resource = device });
        request.Claim.Item[0].Extension.Add(new("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService",
            new Hl7.Fhir.Model.ResourceReference("DeviceRequest/dev")));
        var decision = Assert.Single(Engine.Decide(request));
        Assert.Equal(("A4", "default"), (decision.X12Code, decision.RuleId));
    }
}
