using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>Compiled profiles are shared by every request thread, including the first time a profile is met.</summary>
public sealed class CompiledProfilesTests
{
    // Definitions a request may meet first under load (extensions and profiles the warm-up examples do not use).
    private static readonly string[] FirstMet =
    [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber",
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction",
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim",
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-encounter",
    ];

    [Fact]
    public void A_profile_compiled_on_first_use_is_never_seen_half_built_by_another_thread()
    {
        var profiles = new PasProfiles(PasVersion.V2_2_1, new FhirPackageLocator([RepoPaths.FhirPackages]), ZipSource.CreateValidationSource());
        const int threads = 6;
        var halfBuilt = 0;
        foreach (var url in FirstMet)
        {
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                var profile = profiles.Compiled.Profile(url);
                // Read at once: a profile still being built by another thread has no root element yet.
                if (profile.Unsupported is null && profile.Root is null)
                {
                    Interlocked.Increment(ref halfBuilt);
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            var compiled = profiles.Compiled.Profile(url);
            Assert.Null(compiled.Unsupported);
            Assert.NotNull(compiled.Root);
        }
        Assert.Equal(0, halfBuilt);
    }

    [Theory]
    [InlineData("string")]
    [InlineData("markdown")]
    public void The_string_formats_scan_accepts_exactly_what_the_types_regex_accepts(string typeName)
    {
        var profiles = new PasProfiles(PasVersion.V2_2_1, new FhirPackageLocator([RepoPaths.FhirPackages]), ZipSource.CreateValidationSource());
        var regex = profiles.Compiled.PrimitiveFormat(typeName)!;
        var rejected = 0;
        // Every UTF-16 unit alone, between text, and at the end (where the regex's $ also matches before a line feed).
        for (var c = 0; c <= char.MaxValue; c++)
        {
            foreach (var text in new[] { ((char)c).ToString(), $"a {(char)c} b", $"ab{(char)c}", $"{(char)c}\n" })
            {
                var expected = regex.IsMatch(text);
                Assert.True(expected == profiles.Compiled.FitsFormat(typeName, text), $"U+{c:X4} in '{text}': regex says {expected}");
                rejected += expected ? 0 : 1;
            }
        }
        Assert.Equal(29 * 4, rejected); // U+0000 to U+001F but tab, line feed and carriage return.
    }
    public static TheoryData<string> HandCheckedTypes() =>
        ["uri", "url", "canonical", "code", "id", "boolean", "positiveInt", "unsignedInt", "integer", "decimal"];

    [Theory]
    [MemberData(nameof(HandCheckedTypes))]
    public void A_hand_written_format_accepts_exactly_what_the_types_regex_accepts(string typeName)
    {
        var profiles = new PasProfiles(PasVersion.V2_2_1, new FhirPackageLocator([RepoPaths.FhirPackages]), ZipSource.CreateValidationSource());
        var regex = profiles.Compiled.PrimitiveFormat(typeName)!;
        Assert.NotNull(PrimitiveFormats.For(regex.ToString()[4..^2])); // the check replaces this type's regex
        int accepted = 0, rejected = 0;
        void Compare(string text)
        {
            var expected = regex.IsMatch(text);
            if (expected != profiles.Compiled.FitsFormat(typeName, text))
            {
                Assert.Fail($"'{text}' ({string.Join(" ", text.Select(c => $"U+{(int)c:X4}"))}): the regex says {expected}");
            }
            _ = expected ? accepted++ : rejected++;
        }
        // Every UTF-16 unit alone, between text, and before a final line feed (where the regex's $ also matches).
        for (var c = 0; c <= char.MaxValue; c++)
        {
            foreach (var text in new[] { ((char)c).ToString(), $"1{(char)c}2", $"a {(char)c}b", $"1{(char)c}", $"{(char)c}\n" })
            {
                Compare(text);
            }
        }
        // Every string of up to four units over the characters these formats turn on.
        char[] alphabet = ['0', '1', '9', 'a', 'Z', 'e', 'E', '-', '+', '.', ' ', '\t', '\n', '\r', '\u00A0', '\u2028', '\u0085', '/', 'x'];
        var texts = new List<string> { "" };
        for (var length = 1; length <= 4; length++)
        {
            texts = texts.Where(t => t.Length == length - 1).SelectMany(t => alphabet.Select(c => t + c)).ToList();
            texts.ForEach(Compare);
        }
        Compare("");
        foreach (var text in new[] { "true", "false", "True", "true\n", "true\n\n", "false ", "truefalse", new string('a', 64), new string('a', 65),
                     new string('a', 64) + "\n", "-0", "+1", "01", "1.", ".5", "1.5e", "1.5e+", "1.5E-07", "-0.0e0", "1e1.5", "2147483648",
                     "http://example.org/fhir/Patient/1", "urn:uuid:0b7f1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", "a\u3000b", "a  b", " a", "a \n" })
        {
            Compare(text);
        }
        Assert.True(accepted >= 3 && rejected > 1000, $"{accepted} accepted, {rejected} rejected");
    }

    [Fact]
    public void An_element_of_many_types_is_of_the_first_type_an_instance_fits_and_of_none_it_does_not()
    {
        var profiles = new PasProfiles(PasVersion.V2_2_1, new FhirPackageLocator([RepoPaths.FhirPackages]), ZipSource.CreateValidationSource());
        static ElementDefinition Choice(params string[] codes) =>
            new() { Path = "Observation.value[x]", Type = [.. codes.Select(c => new ElementDefinition.TypeRefComponent { Code = c })] };

        // Only named types: found by name.
        var named = new ElementRule(Choice("Quantity", "CodeableConcept", "string", "boolean", "integer", "CodeableConcept"), profiles.Compiled);
        Assert.Same(named.Types[1], named.TypeOf(new CodeableConcept(), "CodeableConcept"));
        Assert.Same(named.Types[2], named.TypeOf(new FhirString("a"), "string"));
        Assert.Null(named.TypeOf(new Coding(), "Coding"));
        Assert.Null(named.TypeOf(new Patient(), "Patient"));

        // Codes that admit more than they name: tried in turn, the first that fits wins.
        var widening = new ElementRule(Choice("Quantity", "CodeableConcept", "http://hl7.org/fhirpath/System.String", "boolean", "Resource", "Patient"), profiles.Compiled);
        Assert.Same(widening.Types[2], widening.TypeOf(new FhirString("a"), "string"));
        Assert.Same(widening.Types[4], widening.TypeOf(new Patient(), "Patient"));
        Assert.Null(widening.TypeOf(new Coding(), "Coding"));
        var backbone = new ElementRule(Choice("Element"), profiles.Compiled);
        Assert.Same(backbone.Types[0], backbone.TypeOf(new Claim.ItemComponent(), "BackboneElement"));
        Assert.Null(backbone.TypeOf(new Coding(), "Coding"));
    }
}
