// Firely annotates nearly every element as nullable; these tests edit shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>
/// The order in which the proof walks: what it stops at and what it does not walk at all. The verdicts themselves are
/// held to Firely's by <see cref="SameVerdictTests"/>; these hold the proof to doing no more work than a verdict needs.
/// </summary>
public sealed class ConformanceCheckTests
{
    private static PasValidator Validator => SameVerdictTests.Validator;

    [Fact]
    public void A_profile_whose_counts_an_element_misses_fails_on_them_before_anything_under_the_element_is_walked()
    {
        // A new request (no Claim.related) whose Patient is broken: against the update profile the Claim fails on its
        // missing related claim before its patient reference, an element before it, sends the proof into the Patient.
        var bundle = Generated(seed: 5);
        bundle.Entry.Select(e => e.Resource).OfType<Patient>().First().Name.Clear();

        var proof = ConformanceCheck.Prove(Validator.Full.Profiles(PasVersion.V2_2_1).Compiled, bundle,
            PasVersion.V2_2_1.Profile(FirelyPasValidator.RequestProfile(PasOperation.Submit)));

        Assert.False(proof.Proven);
        Assert.Contains("Claim.related: 0 present, 1..1 allowed", proof.Reason);
    }

    [Fact]
    public void An_entry_proven_against_the_first_of_its_profiles_is_not_walked_against_the_others()
    {
        // An update (Claim.related present) conforms to the update profile, the first the Bundle's Claim entry lists; a
        // walk against the plain Claim profile as well would note the unknown extension a second time.
        var file = Path.Combine(RepoPaths.InfernoPas("2.2.1"), "must_support_pa_submit_request_payload-1.json");
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(File.ReadAllBytes(file));
        var claim = bundle.Entry.Select(e => e.Resource).OfType<Claim>().First();
        Assert.NotEmpty(claim.Related);
        claim.Extension.Add(new Extension("http://example.org/fhir/StructureDefinition/not-known", new FhirString("x")));

        var proof = Validator.Prove(bundle, PasVersion.V2_2_1, PasOperation.Submit);

        Assert.True(proof.Proven, proof.Reason);
        Assert.Single(proof.Unchecked, note => note.Contains("/not-known", StringComparison.Ordinal));
    }

    [Fact]
    public void A_resource_asked_for_a_base_profile_is_walked_once_against_the_derived_profile_it_declares()
    {
        // The Encounter asks for us-core-practitioner, the PractitionerRole for the profile-practitioner the Practitioner
        // declares: one walk, against the declared one, notes the unknown extension once.
        var bundle = Generated(seed: 5);
        var practitioner = bundle.Entry.Select(e => e.Resource).OfType<Practitioner>().First();
        Assert.Contains(practitioner.Meta.Profile, p => p.EndsWith("/profile-practitioner", StringComparison.Ordinal));
        practitioner.Extension.Add(new Extension("http://example.org/fhir/StructureDefinition/not-known", new FhirString("x")));

        var proof = Validator.Prove(bundle, PasVersion.V2_2_1, PasOperation.Submit);

        Assert.True(proof.Proven, proof.Reason);
        Assert.Single(proof.Unchecked, note => note.Contains("/not-known", StringComparison.Ordinal));
    }

    private static Bundle Generated(int seed) => (Bundle)FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(
        new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed).Next()));
}
