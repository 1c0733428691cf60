using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Synthetic;

public sealed class PasRequestGeneratorTests
{
    private static readonly string Template = File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json"));

    [Fact]
    public void GeneratedRequests_DifferEachTime_AndAreRepeatableBySeed()
    {
        var a = new PasRequestGenerator(Template, seed: 7, today: new DateOnly(2026, 11, 27));
        var b = new PasRequestGenerator(Template, seed: 7, today: new DateOnly(2026, 11, 27));
        var first = Enumerable.Range(0, 20).Select(_ => Request(a.Next())).ToList();
        var again = Enumerable.Range(0, 20).Select(_ => Request(b.Next())).ToList();

        Assert.Equal(20, first.Select(r => r.Members[0].Value).Distinct().Count());
        Assert.Equal(first.Select(r => r.Members[0].Value), again.Select(r => r.Members[0].Value));
        Assert.True(first.Select(r => r.Claim.Item.Count).Distinct().Count() > 1, "item counts vary");
        Assert.True(first.SelectMany(r => r.Claim.Item).Select(i => i.ProductOrService.Coding[0].Code).Distinct().Count() > 4, "codes vary");
        Assert.All(first, r => Assert.Contains(r.Providers, p => a.ProviderNpis.Contains(p.Value)));
    }

    [Fact]
    public void GeneratedRequests_PassProfileValidation_AndThePolicyDecidesEveryItem()
    {
        var generator = new PasRequestGenerator(Template, seed: 11);
        var validator = new FirelyPasValidator(new FhirPackageLocator([RepoPaths.FhirPackages]));
        var policy = new PolicyEngine(PolicyLoader.LoadDirectory(RepoPaths.DemoPolicies));
        for (int i = 0; i < 3; i++)
        {
            var request = Request(generator.Next());
            Assert.Empty(validator.Validate(request.Bundle, PasVersion.V2_2_1, PasOperation.Submit).Errors);
            var decisions = policy.Decide(new PolicyRequest(request.Claim, request.Bundle, request.Resolve, DateTimeOffset.UtcNow), null);
            Assert.Equal(request.Claim.Item.Count, decisions.Count);
            Assert.DoesNotContain(decisions, d => d.RejectReason is not null);
        }
    }

    private static PasRequest Request(string json) =>
        PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(json)), PasOperation.Submit);
}
