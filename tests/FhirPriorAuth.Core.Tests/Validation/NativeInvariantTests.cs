using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Tests;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>
/// A native answer to an invariant must be FHIRPath's answer: every case below is evaluated both ways, and wherever
/// the native code answers, the compiled expression must give the same answer.
/// </summary>
public sealed class NativeInvariantTests
{
    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    public static TheoryData<string> Keys() => new(NativeInvariants.Expressions.Keys);

    [Theory]
    [MemberData(nameof(Keys))]
    public void WhereTheNativeCodeAnswers_FhirPathAgrees(string key)
    {
        var expression = Compiler.Compile(NativeInvariants.Expressions[key]);
        int answered = 0, held = 0;
        foreach (var (label, item) in Cases(key))
        {
            var native = NativeInvariants.Evaluate(key, item);
            if (native is not { } answer)
            {
                continue;
            }
            var node = item.ToPocoNode();
            var context = new FhirEvaluationContext { Resource = node, RootResource = node };
            Assert.True(answer == expression.IsTrue(node, context), $"{key} on {label}: native says {answer}");
            answered++;
            held += answer ? 1 : 0;
        }
        // The common case is answered natively; where a native answer can be false, false is exercised too.
        Assert.True(held > 0, $"{key}: no case answered natively as holding");
        if (key is "us-core-17" or "bdl-3" or "bdl-4" or "bdl-3a" or "per-1" or "qty-3" or "sqty-1" or "org-1" or "org-2" or "org-3")
        {
            Assert.True(answered > held, $"{key}: no case answered natively as failing");
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task EveryNativeExpression_IsTheOneThePackagesOrFirelyUse()
    {
        var used = new HashSet<(string, string)>();
        foreach (var package in new[] { "hl7.fhir.us.davinci-pas-2.2.1.tgz", "hl7.fhir.us.core-6.1.0.tgz" })
        {
            using var gzip = new GZipStream(File.OpenRead(Path.Combine(RepoPaths.FhirPackages, package)), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { DataStream: { } data } entry)
            {
                if (!entry.Name.Contains("StructureDefinition-", StringComparison.Ordinal) || !entry.Name.EndsWith(".json", StringComparison.Ordinal))
                {
                    continue;
                }
                using var json = JsonDocument.Parse(data);
                if (!json.RootElement.TryGetProperty("snapshot", out var snapshot))
                {
                    continue;
                }
                foreach (var element in snapshot.GetProperty("element").EnumerateArray())
                {
                    if (element.TryGetProperty("constraint", out var constraints))
                    {
                        foreach (var c in constraints.EnumerateArray())
                        {
                            if (c.TryGetProperty("key", out var k) && c.TryGetProperty("expression", out var e))
                            {
                                used.Add((k.GetString()!, e.GetString()!));
                            }
                        }
                    }
                }
            }
        }
        // Datatypes' own invariants (per-1 on Period) live in the R4 core definitions the packages build on.
        foreach (var type in new[] { "Period", "Quantity", "SimpleQuantity", "Organization" })
        {
            var definition = (StructureDefinition)(await CoreSpecification.Shared.TryResolveByCanonicalUriAsync($"http://hl7.org/fhir/StructureDefinition/{type}")).Value!;
            foreach (var constraint in definition.Snapshot!.Element.SelectMany(e => e.Constraint))
            {
                used.Add((constraint.Key!, constraint.Expression!));
            }
        }
        foreach (var (key, expression) in CompiledProfile.AddedBundleInvariants)
        {
            used.Add((key, expression));
        }
        Assert.All(NativeInvariants.Expressions, p => Assert.Contains((p.Key, p.Value), used));
    }

    private static IEnumerable<(string Label, Base Item)> Cases(string key) => key switch
    {
        "us-core-16" or "us-core-17" => Npis().Select(v => ($"NPI '{v}'", (Base)new Identifier("http://hl7.org/fhir/sid/us-npi", v))),
        "FullDateRule" => Dates(),
        "ImmediateLevelOfCare" => Claims(),
        "per-1" => Periods(),
        "qty-3" or "sqty-1" => Quantities(),
        "org-1" => Organizations(),
        "org-2" => Uses(use => new Address { UseElement = use is null ? null : new Code<Address.AddressUse>(Enum.Parse<Address.AddressUse>(use, true)) }),
        "org-3" => Uses(use => new ContactPoint { UseElement = use is null ? null : new Code<ContactPoint.ContactPointUse>(Enum.Parse<ContactPoint.ContactPointUse>(use, true)) }),
        _ => Bundles(),
    };

    private static IEnumerable<(string, Base)> Periods()
    {
        string?[] bounds = ["2024-01-01", "2024-01-02", "2024-01", "2024", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00+05:00", "2024-01-01T10:00:00.123Z",
            "2024-01-01T04:59:00Z", "2024-01-01T10:00", null];
        foreach (var start in bounds)
        {
            foreach (var end in bounds)
            {
                yield return ($"period {start} to {end}", new Period(start is null ? null : new FhirDateTime(start), end is null ? null : new FhirDateTime(end)));
            }
        }
        yield return ("period whose start has only an extension", new Period { StartElement = new FhirDateTime { Extension = [new Extension("http://example.org/x", new FhirString("x"))] }, End = "2024-01-01" });
    }

    private static IEnumerable<(string, Base)> Quantities()
    {
        yield return ("quantity 1", new Quantity { Value = 1 });
        yield return ("quantity with code and system", new Quantity { Value = 1, Code = "mg", System = "http://unitsofmeasure.org" });
        yield return ("quantity with code only", new Quantity { Value = 1, Code = "mg" });
        yield return ("quantity with system only", new Quantity { Value = 1, System = "http://unitsofmeasure.org" });
        yield return ("quantity with a comparator", new Quantity { Value = 1, Comparator = Quantity.QuantityComparator.LessThan });
        yield return ("quantity whose code has only an extension", new Quantity { CodeElement = new Code { Extension = [new Extension("http://example.org/x", new FhirString("x"))] } });
    }

    private static IEnumerable<(string, Base)> Organizations()
    {
        yield return ("organization without identifier or name", new Organization());
        yield return ("organization with a name", new Organization { Name = "Acme" });
        yield return ("organization with an identifier", new Organization { Identifier = [new Identifier("urn:x", "1")] });
        yield return ("organization with both", new Organization { Name = "Acme", Identifier = [new Identifier("urn:x", "1"), new Identifier("urn:x", "2")] });
        yield return ("organization whose name has only an extension", new Organization { NameElement = new FhirString { Extension = [new Extension("http://example.org/x", new FhirString("x"))] } });
    }

    private static IEnumerable<(string, Base)> Uses(Func<string?, Base> create) =>
        new[] { null, "home", "work", "temp", "old" }.Select(use => ($"use {use ?? "absent"}", create(use)));

    private static IEnumerable<string?> Npis()
    {
        var random = new Random(7);
        string[] fixedOnes = ["1234567893", "1234567890", "123456789", "12345678931", "abcdefghij", "12345 7893", "１２３４５６７８９３", "", null!];
        return fixedOnes.Concat(Enumerable.Range(0, 200).Select(_ => random.NextInt64(1_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static IEnumerable<(string, Base)> Dates()
    {
        foreach (var value in new[] { "2024-01-01", "2024-01", "2024", "1999-12-31" })
        {
            yield return ($"date {value}", new Date(value));
        }
        foreach (var value in new[] { "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00+05:00" })
        {
            yield return ($"dateTime {value}", new FhirDateTime(value));
        }
        yield return ("string 2024-01-01", new FhirString("2024-01-01"));
        yield return ("string 2024/01/01", new FhirString("2024/01/01"));
        yield return ("period", new Period(new FhirDateTime("2024-01-01"), new FhirDateTime("2024-01-02")));
    }

    private static IEnumerable<(string, Base)> Claims()
    {
        const string certification = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType";
        const string level = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-levelOfServiceCode";
        var urls = new[] { "http://example.org/other" };
        yield return ("claim without extensions", new Claim());
        yield return ("claim with another extension", new Claim { Extension = [new Extension(urls[0], new FhirString("x"))] });
        foreach (var code in new[] { "1", "2" })
        {
            foreach (var withLevel in new[] { true, false })
            {
                var claim = new Claim { Extension = [new Extension(certification, new CodeableConcept("https://codesystem.x12.org/005010/1322", code))] };
                if (withLevel)
                {
                    claim.Extension.Add(new Extension(level, new CodeableConcept("https://codesystem.x12.org/005010/1338", "U")));
                }
                yield return ($"claim certification {code}, level {withLevel}", claim);
            }
        }
    }

    private static IEnumerable<(string, Base)> Bundles()
    {
        var types = Enum.GetValues<Bundle.BundleType>().Cast<Bundle.BundleType?>().Append(null);
        foreach (var type in types)
        {
            foreach (var (label, entries) in EntrySets())
            {
                foreach (var withTotal in new[] { false, true })
                {
                    var bundle = new Bundle { Type = type, Entry = entries(), Total = withTotal ? 3 : null };
                    yield return ($"{type?.ToString() ?? "no type"} bundle, {label}, total {withTotal}", bundle);
                }
            }
        }
    }

    private static IEnumerable<(string, Func<List<Bundle.EntryComponent>>)> EntrySets()
    {
        static Bundle.EntryComponent Entry(Resource? resource, string? fullUrl) => new() { Resource = resource, FullUrl = fullUrl };
        yield return ("no entries", () => []);
        yield return ("claim first, distinct fullUrls", () => [Entry(new Claim(), "urn:uuid:1"), Entry(new Patient(), "urn:uuid:2")]);
        yield return ("patient first", () => [Entry(new Patient(), "urn:uuid:1"), Entry(new Claim(), "urn:uuid:2")]);
        yield return ("composition first", () => [Entry(new Composition(), "urn:uuid:1")]);
        yield return ("message header first", () => [Entry(new MessageHeader(), "urn:uuid:1")]);
        yield return ("duplicate fullUrls", () => [Entry(new Claim(), "urn:uuid:1"), Entry(new Patient(), "urn:uuid:1")]);
        yield return ("duplicate fullUrls, different versions", () =>
            [Entry(new Claim { Meta = new Meta { VersionId = "1" } }, "urn:uuid:1"), Entry(new Claim { Meta = new Meta { VersionId = "2" } }, "urn:uuid:1")]);
        yield return ("an entry without fullUrl", () => [Entry(new Claim(), "urn:uuid:1"), Entry(new Patient(), null)]);
        yield return ("an entry without resource", () => [Entry(new Claim(), "urn:uuid:1"), Entry(null, "urn:uuid:2")]);
        yield return ("an entry with a request", () =>
            [Entry(new Claim(), "urn:uuid:1"), new() { FullUrl = "urn:uuid:2", Resource = new Patient(), Request = new() { Method = Bundle.HTTPVerb.POST, Url = "Patient" } }]);
        yield return ("an entry with a response", () =>
            [Entry(new Claim(), "urn:uuid:1"), new() { FullUrl = "urn:uuid:2", Resource = new Patient(), Response = new() { Status = "201" } }]);
        yield return ("an entry with search", () =>
            [new() { FullUrl = "urn:uuid:1", Resource = new Claim(), Search = new() { Mode = Bundle.SearchEntryMode.Match } }]);
    }
}
