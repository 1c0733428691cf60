using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>Package and core definitions are kept deflated and read back as they were.</summary>
public sealed class DeflatedDefinitionsTests
{
    [Fact]
    public void Text_comes_back_unchanged_including_characters_outside_ascii()
    {
        var text = string.Concat(Enumerable.Repeat("Señora Müller – «código» 😀 ", 5000));
        var packed = Deflated.Pack(text);
        Assert.True(packed.Length < Encoding.UTF8.GetByteCount(text) / 10);
        Assert.Equal(text, Deflated.Unpack(packed));
        Assert.Equal(text, Deflated.Unpack(Deflated.Pack(Encoding.UTF8.GetBytes(text))));
    }

    [Fact]
    public async Task A_package_entry_and_a_core_definition_parse_from_their_deflated_text()
    {
        var package = new FhirPackageLocator([RepoPaths.FhirPackages]).Load(PasProfiles.RequiredPackages(PasVersion.V2_2_1)[0]);
        var claim = package.Entries.Single(e => e.Url == "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim");
        var parsed = Assert.IsType<StructureDefinition>(FhirPackageLocator.Parse(claim));
        Assert.Equal(claim.Url, parsed.Url);
        Assert.NotEmpty(parsed.Differential!.Element);

        var patient = await CoreSpecification.Shared
            .TryResolveByCanonicalUriAsync("http://hl7.org/fhir/StructureDefinition/Patient");
        Assert.Equal("Patient", Assert.IsType<StructureDefinition>(patient.Value).Type);
    }
}
