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

    public static TheoryData<string, string> Invariants()
    {
        var data = new TheoryData<string, string>();
        foreach (var (key, expression) in NativeInvariants.Expressions)
        {
            data.Add(key, expression);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Invariants))]
    public void WhereTheNativeCodeAnswers_FhirPathAgrees(string key, string text)
    {
        var expression = Compiler.Compile(text);
        int answered = 0, held = 0;
        foreach (var (label, item) in Cases(key, text))
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
        if (key is "us-core-17" or "bdl-3" or "bdl-4" or "bdl-3a" or "per-1" or "qty-3" or "sqty-1" or "org-1" or "org-2" or "org-3"
            or "tim-1" or "tim-2" or "tim-4" or "tim-5" or "tim-6" or "tim-7" or "tim-8" or "tim-10" or "att-1" or "us-core-6" or "prr-1"
            or "pd-1" or "us-core-13" or "us-core-15" or "self-beneficiary" or "crd-ci-q5" or "ImmediateLevelOfCare")
        {
            Assert.True(answered > held, $"{key}: no case answered natively as failing");
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task EveryNativeExpression_IsTheOneThePackagesOrFirelyUse()
    {
        var used = new HashSet<(string, string)>();
        foreach (var package in new[] { "hl7.fhir.us.davinci-pas-2.2.1.tgz", "hl7.fhir.us.core-6.1.0.tgz", "hl7.fhir.us.core-7.0.0.tgz", "hl7.fhir.us.davinci-crd-2.0.1.tgz" })
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
        foreach (var type in new[] { "Period", "Quantity", "SimpleQuantity", "Organization", "Attachment" })
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
        Assert.All(NativeInvariants.Expressions, p => Assert.Contains(p, used));
    }

    private static IEnumerable<(string Label, Base Item)> Cases(string key, string expression) => key switch
    {
        "tim-1" or "tim-2" or "tim-4" or "tim-5" or "tim-6" or "tim-7" or "tim-8" or "tim-9" or "tim-10" => Repeats(),
        "att-1" => Attachments(),
        "us-core-6" => expression.StartsWith("url", StringComparison.Ordinal) ? Attachments() : Names(),
        "prr-1" => ServiceRequests(),
        "pd-1" or "us-core-13" => PractitionerRoles(),
        "us-core-15" or "self-beneficiary" => Coverages(),
        "us-core-23" or "crd-ci-q1" or "crd-ci-q3" or "crd-ci-q4" or "crd-ci-q5" => ComplexExtensions(),
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

    private static Extension Marked() => new("http://example.org/x", new FhirString("x"));

    private static IEnumerable<(string, Base)> Repeats()
    {
        yield return ("empty repeat", new Timing.RepeatComponent());
        yield return ("duration with unit", new Timing.RepeatComponent { Duration = 2, DurationUnit = Timing.UnitsOfTime.H });
        yield return ("duration without unit", new Timing.RepeatComponent { Duration = 2 });
        yield return ("negative duration", new Timing.RepeatComponent { Duration = -1, DurationUnit = Timing.UnitsOfTime.H });
        yield return ("duration with only an extension", new Timing.RepeatComponent { DurationElement = new FhirDecimal { Extension = [Marked()] } });
        yield return ("durationMax without duration", new Timing.RepeatComponent { DurationMax = 3 });
        yield return ("durationMax with duration", new Timing.RepeatComponent { Duration = 1, DurationMax = 3, DurationUnit = Timing.UnitsOfTime.D });
        yield return ("period with unit", new Timing.RepeatComponent { Period = 1, PeriodUnit = Timing.UnitsOfTime.Wk });
        yield return ("period without unit", new Timing.RepeatComponent { Period = 1 });
        yield return ("negative period", new Timing.RepeatComponent { Period = -2, PeriodUnit = Timing.UnitsOfTime.D });
        yield return ("period with only an extension", new Timing.RepeatComponent { PeriodElement = new FhirDecimal { Extension = [Marked()] } });
        yield return ("periodMax without period", new Timing.RepeatComponent { PeriodMax = 3 });
        yield return ("periodMax with period", new Timing.RepeatComponent { Period = 1, PeriodMax = 3, PeriodUnit = Timing.UnitsOfTime.D });
        yield return ("countMax without count", new Timing.RepeatComponent { CountMax = 3 });
        yield return ("countMax with count", new Timing.RepeatComponent { Count = 1, CountMax = 3 });
        yield return ("offset with when", new Timing.RepeatComponent { Offset = 10, When = [Timing.EventTiming.ACM] });
        yield return ("offset with when C", new Timing.RepeatComponent { Offset = 10, When = [Timing.EventTiming.C] });
        yield return ("when and timeOfDay", new Timing.RepeatComponent { When = [Timing.EventTiming.MORN], TimeOfDay = ["08:00:00"] });
        yield return ("timeOfDay only", new Timing.RepeatComponent { TimeOfDay = ["08:00:00"] });
    }

    private static IEnumerable<(string, Base)> Attachments()
    {
        yield return ("empty attachment", new Attachment());
        yield return ("attachment with data and type", new Attachment { Data = [1, 2], ContentType = "text/plain" });
        yield return ("attachment with data only", new Attachment { Data = [1, 2] });
        yield return ("attachment with url", new Attachment { Url = "http://example.org/doc" });
        yield return ("attachment with a title only", new Attachment { Title = "notes" });
        yield return ("attachment whose url has only an extension", new Attachment { UrlElement = new FhirUrl { Extension = [Marked()] } });
    }

    private static IEnumerable<(string, Base)> Names()
    {
        var absent = new Extension("http://hl7.org/fhir/StructureDefinition/data-absent-reason", new Code("unknown"));
        yield return ("empty name", new HumanName());
        yield return ("family", new HumanName { Family = "Rivera" });
        yield return ("given", new HumanName { Given = ["Ana"] });
        yield return ("text only", new HumanName { Text = "Ana Rivera" });
        yield return ("absent reason only", new HumanName { Extension = [absent] });
        yield return ("family and absent reason", new HumanName { Family = "Rivera", Extension = [absent] });
        yield return ("family with only an extension", new HumanName { FamilyElement = new FhirString { Extension = [Marked()] } });
    }

    private static IEnumerable<(string, Base)> ServiceRequests()
    {
        var detail = new CodeableConcept("http://example.org", "d");
        yield return ("service request", new ServiceRequest());
        yield return ("code", new ServiceRequest { Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "97110") });
        yield return ("order detail without code", new ServiceRequest { OrderDetail = [detail] });
        yield return ("order detail with code", new ServiceRequest { OrderDetail = [detail], Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "97110") });
    }

    private static IEnumerable<(string, Base)> PractitionerRoles()
    {
        yield return ("empty role", new PractitionerRole());
        yield return ("telecom", new PractitionerRole { Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, null, "555")] });
        yield return ("endpoint", new PractitionerRole { Endpoint = [new ResourceReference("Endpoint/1")] });
        yield return ("practitioner", new PractitionerRole { Practitioner = new ResourceReference("Practitioner/1") });
        yield return ("organization", new PractitionerRole { Organization = new ResourceReference("Organization/1") });
        yield return ("location", new PractitionerRole { Location = [new ResourceReference("Location/1")] });
        yield return ("service", new PractitionerRole { HealthcareService = [new ResourceReference("HealthcareService/1")] });
    }

    private static IEnumerable<(string, Base)> Coverages()
    {
        const string v20203 = "http://terminology.hl7.org/CodeSystem/v2-0203";
        CodeableConcept Relationship(string code) => new("http://terminology.hl7.org/CodeSystem/subscriber-relationship", code);
        yield return ("empty coverage", new Coverage());
        yield return ("subscriber id", new Coverage { SubscriberId = "S1" });
        yield return ("member identifier", new Coverage { Identifier = [new Identifier("urn:m", "1") { Type = new CodeableConcept(v20203, "MB") }] });
        yield return ("other identifier", new Coverage { Identifier = [new Identifier("urn:m", "1") { Type = new CodeableConcept(v20203, "SN") }] });
        yield return ("MB from another system", new Coverage { Identifier = [new Identifier("urn:m", "1") { Type = new CodeableConcept("urn:other", "MB") }] });
        yield return ("self", new Coverage { Relationship = Relationship("self") });
        yield return ("relationship 18", new Coverage { Relationship = Relationship("18") });
        yield return ("child with subscriber", new Coverage { Relationship = Relationship("child"), Subscriber = new ResourceReference("Patient/2") });
        yield return ("subscriber id with only an extension", new Coverage { SubscriberIdElement = new FhirString { Extension = [Marked()] } });
    }

    private static IEnumerable<(string, Base)> ComplexExtensions()
    {
        static Extension With(params (string Url, DataType Value)[] parts) =>
            new() { Url = "http://example.org/complex", Extension = parts.Select(p => new Extension(p.Url, p.Value)).ToList() };
        yield return ("covered only", With(("covered", new Code("covered"))));
        yield return ("pa-needed satisfied with id", With(("covered", new Code("covered")), ("pa-needed", new Code("satisfied")), ("satisfied-pa-id", new FhirString("A1"))));
        yield return ("pa-needed satisfied without id", With(("pa-needed", new Code("satisfied"))));
        yield return ("pa-needed auth-needed", With(("pa-needed", new Code("auth-needed"))));
        yield return ("id without pa-needed", With(("satisfied-pa-id", new FhirString("A1"))));
        yield return ("pa-needed as a string", With(("pa-needed", new FhirString("satisfied"))));
        yield return ("questionnaire and doc-needed", With(("questionnaire", new Canonical("http://example.org/q")), ("doc-needed", new Code("clinical"))));
        yield return ("info-needed", With(("info-needed", new Code("performer"))));
        yield return ("doc-purpose", With(("pa-needed", new Code("satisfied")), ("doc-purpose", new Code("PA"))));
        yield return ("two pa-needed", With(("pa-needed", new Code("satisfied")), ("pa-needed", new Code("no-auth"))));
        yield return ("omb category", With(("ombCategory", new Coding("urn:oid:2.16.840.1.113883.6.238", "2106-3"))));
        yield return ("omb category unknown", With(("ombCategory", new Coding("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK"))));
    }

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
                var item = new Claim.ItemComponent { Extension = [new Extension(certification, new Coding("https://codesystem.x12.org/005010/1322", code))] };
                if (withLevel)
                {
                    item.Extension.Add(new Extension(level, new CodeableConcept("https://codesystem.x12.org/005010/1338", "U")));
                }
                yield return ($"item certification {code} as a Coding, level {withLevel}", item);
            }
        }
        yield return ("item certification as a string", new Claim.ItemComponent { Extension = [new Extension(certification, new FhirString("1"))] });
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
