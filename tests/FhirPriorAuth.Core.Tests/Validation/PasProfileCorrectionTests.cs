// Firely annotates nearly every element as nullable; these tests read shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>The IG corrections of profiles/README.md: needed, and the corrected profiles still reject what they should.</summary>
public sealed class PasProfileCorrectionTests
{
    private const string ClaimProfile = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim";
    private static readonly FhirPackageLocator Locator = new([RepoPaths.FhirPackages]);
    private static readonly IAsyncResourceResolver Core = ZipSource.CreateValidationSource();
    private static readonly Lazy<PasProfiles> Corrected = new(() => new PasProfiles(PasVersion.V2_2_1, Locator, Core));

    private static Claim ApprovalClaim()
    {
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(File.ReadAllBytes(
            Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")));
        return (Claim)bundle.Entry[0].Resource;
    }

    private static IReadOnlyList<string> Errors(OperationOutcome outcome) => outcome.Issue
        .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
        .Select(i => i.Details?.Text ?? i.Diagnostics).ToList();

    [Fact]
    public void CorrectedClaimProfile_CompilesAndAcceptsAValidClaim()
    {
        var errors = Errors(Corrected.Value.Validate(ApprovalClaim(), ClaimProfile));
        Assert.DoesNotContain(errors, e => e.Contains("discriminator", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(errors, e => !e.Contains("x12.org", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("insurer", "insurer")]
    [InlineData("use", "preauthorization")]
    [InlineData("careTeamScope", "careTeamClaimScope")]
    [InlineData("careTeamScopeType", "incompatible")]
    public void CorrectedClaimProfile_StillRejectsABrokenClaim(string breakage, string expected)
    {
        var claim = ApprovalClaim();
        var scope = claim.CareTeam[0].Extension.Single(e => e.Url.EndsWith("extension-careTeamClaimScope", StringComparison.Ordinal));
        switch (breakage)
        {
            case "insurer": claim.Insurer = null; break;
            case "use": claim.Use = ClaimUseCode.Claim; break;
            case "careTeamScope": claim.CareTeam[0].Extension.Remove(scope); break;
            case "careTeamScopeType": scope.Value = new FhirString("yes"); break;
        }
        var errors = Errors(Corrected.Value.Validate(claim, ClaimProfile));
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutTheCareTeamCorrection_TheClaimProfileDoesNotCompile()
    {
        var uncorrected = new PasProfiles(PasVersion.V2_2_1, Locator, Core, skipCorrections: ["A"]);
        var outcome = Record.Exception(() => uncorrected.Validate(ApprovalClaim(), ClaimProfile)) is { } e
            ? e.Message
            : string.Join(" ", Errors(uncorrected.Validate(ApprovalClaim(), ClaimProfile)));
        Assert.Contains("discriminator", outcome, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AnOrderWithCrd201CoverageInformation_PassesThe221OrderProfile_OnlyWithCorrectionL()
    {
        var order = new ServiceRequest
        {
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "72148"),
            Subject = new ResourceReference("Patient/p"),
        };
        var information = new Extension { Url = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information" };
        information.AddExtension("coverage", new ResourceReference("Coverage/c"));
        information.AddExtension("covered", new Code("conditional"));
        information.AddExtension("pa-needed", new Code("auth-needed"));
        information.AddExtension("doc-needed", new Code("clinical"));
        information.AddExtension("doc-purpose", new Code("withpa"));
        information.AddExtension("date", new Date("2026-11-27"));
        information.AddExtension("coverage-assertion-id", new FhirString("CA-1"));
        order.Extension.Add(information);
        const string profile = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-servicerequest";

        Assert.DoesNotContain(Errors(Corrected.Value.Validate(order, profile)), e => e.Contains("crd-ci-"));
        var uncorrected = new PasProfiles(PasVersion.V2_2_1, Locator, Core, skipCorrections: ["L"]);
        Assert.Contains(Errors(uncorrected.Validate(order, profile)), e => e.Contains("crd-ci-q4"));
    }

    [Fact]
    public void EveryDocumentedCorrectionIsApplied()
    {
        Corrected.Value.ReadAll();
        var applied = Corrected.Value.Applied.Select(a => a.CorrectionId[..1]).Distinct().Order().ToList();
        Assert.Equal(["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"], applied);
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "profiles", "README.md"));
        Assert.All(Corrected.Value.Applied.Select(a => a.CorrectionId).Distinct(), id => Assert.Contains(id, readme));
    }

    [Fact]
    public void MissingPackage_NamesItAndSaysHowToInstall()
    {
        var error = Assert.Throws<MissingPackageException>(() => new FhirPackageLocator(["/nonexistent"]).Locate(new PackageId("hl7.fhir.us.davinci-pas", "2.2.1")));
        Assert.Contains("hl7.fhir.us.davinci-pas#2.2.1", error.Message);
        Assert.Contains("fhir install", error.Message);
    }
}
