using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Synthetic;

namespace FhirPriorAuth.Core.Tests.Synthetic;

public class PayerDataGeneratorTests
{
    [Fact]
    public void GivenTheSameSeed_WhenGenerated_ThenThePopulationIsIdentical()
    {
        var a = new PayerDataGenerator(7, 2026).Generate(50).All.Select(FhirJson.ToJson);
        var b = new PayerDataGenerator(7, 2026).Generate(50).All.Select(FhirJson.ToJson);
        Assert.Equal(a, b);
    }

    [Fact]
    public void GivenADifferentSeed_WhenGenerated_ThenMembersDiffer()
    {
        var a = new PayerDataGenerator(7, 2026).Generate(5).Members.Select(FhirJson.ToJson);
        var b = new PayerDataGenerator(8, 2026).Generate(5).Members.Select(FhirJson.ToJson);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void GeneratedMembersHaveMemberIdsAndActiveCoverage()
    {
        var population = new PayerDataGenerator(coverageYear: 2026).Generate(20);
        Assert.All(population.Members, m => Assert.Equal("MB", m.Identifier[0].Type!.Coding[0].Code));
        Assert.All(population.Coverages, c =>
        {
            Assert.Equal("2026-01-01", c.Period!.Start);
            Assert.StartsWith("Patient/member-", c.Beneficiary.Reference);
            Assert.StartsWith("Organization/payer-", c.Payor[0].Reference);
        });
    }

    [Fact]
    public void GeneratedNpisPassTheLuhnCheck()
    {
        var population = new PayerDataGenerator().Generate(1, providerOrganizations: 30, practitioners: 30);
        var npis = population.ProviderOrganizations.Select(o => o.Identifier[0].Value)
            .Concat(population.Practitioners.Select(p => p.Identifier[0].Value)).ToList();
        Assert.All(npis, npi =>
        {
            Assert.Matches("^[12][0-9]{9}$", npi);
            Assert.Equal(npi![9] - '0', PayerDataGenerator.NpiCheckDigit(npi![..9]));
        });
        // A known valid NPI from CMS's published check-digit example.
        Assert.Equal(3, PayerDataGenerator.NpiCheckDigit("123456789"));
    }
}
