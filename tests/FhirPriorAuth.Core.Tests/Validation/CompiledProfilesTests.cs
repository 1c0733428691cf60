using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Tests;
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
}
