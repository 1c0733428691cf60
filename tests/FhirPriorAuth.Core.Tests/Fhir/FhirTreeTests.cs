using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Fhir;

public sealed class FhirTreeTests
{
    public static TheoryData<string> Corpus()
    {
        var data = new TheoryData<string>();
        foreach (var version in new[] { "2.0.1", "2.2.1" })
        {
            foreach (var file in Directory.GetFiles(RepoPaths.InfernoPas(version), "*.json").Order())
            {
                data.Add(Path.GetRelativePath(RepoPaths.Conformance, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Elements_are_exactly_what_the_SDK_enumerates_on_every_node_of_an_Inferno_input(string file)
    {
        var json = File.ReadAllBytes(Path.Combine(RepoPaths.Conformance, file));
        // Both parses the server makes: checked, and for the proof, with values kept as sent.
        AssertSameAsSdk(FhirJson.ParseIgnoringUnknownElements(json), minimumNodes: 5);
        AssertSameAsSdk(FhirJson.ParseForProof(json), minimumNodes: 5);
    }

    [Fact]
    public void Elements_are_what_the_SDK_enumerates_for_generated_requests_and_values_kept_as_sent()
    {
        var generator = new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")), seed: 9);
        for (var i = 0; i < 5; i++)
        {
            AssertSameAsSdk(FhirJson.ParseForProof(System.Text.Encoding.UTF8.GetBytes(generator.Next())), minimumNodes: 500);
        }
        // Literals an unchecked parse keeps: a primitive's value the SDK would refuse, and one of the wrong JSON type.
        AssertSameAsSdk(FhirJson.ParseForProof("""
            {"resourceType":"Patient","id":"p 1","active":"yes","birthDate":"1990-13-45","_birthDate":{"id":"b"},
             "gender":7,"name":[{"given":["A",null,"B"],"_given":[null,{"extension":[{"url":"u","valueInteger":1.5}]},null]}],
             "multipleBirthInteger":"two","extension":[{"url":"x","valueDecimal":"1e400"}]}
            """u8), minimumNodes: 10);
    }

    [Fact]
    public void Elements_are_what_the_SDK_enumerates_for_every_element_of_every_model_type()
    {
        var types = typeof(Claim).Assembly.GetTypes().Concat(typeof(Base).Assembly.GetTypes())
            .Where(t => typeof(Base).IsAssignableFrom(t) && !t.IsAbstract && !t.ContainsGenericParameters && t.GetConstructor(Type.EmptyTypes) is not null)
            .ToList();
        var checkedTypes = 0;
        foreach (var type in types)
        {
            if (ModelInfo.ModelInspector.FindOrImportClassMapping(type) is not { } mapping)
            {
                continue;
            }
            var empty = (Base)Activator.CreateInstance(type)!;
            AssertSameAsSdk(empty, minimumNodes: 1);
            var full = (Base)Activator.CreateInstance(type)!;
            foreach (var property in mapping.PropertyMappings)
            {
                if (!property.RepresentsValueElement && property.NativeProperty is { CanWrite: true } native && SampleOf(native.PropertyType) is { } sample)
                {
                    native.SetValue(full, sample);
                }
            }
            AssertSameAsSdk(full, minimumNodes: 1);
            checkedTypes++;
        }
        Assert.True(checkedTypes > 200, $"only {checkedTypes} types checked");
    }

    /// <summary>A value for a property of the given type: one element for a list, an empty instance, or a string.</summary>
    private static object? SampleOf(Type type)
    {
        if (type == typeof(string))
        {
            return "x";
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (System.Collections.IList)Activator.CreateInstance(type)!;
            if (SampleOf(type.GetGenericArguments()[0]) is { } item)
            {
                list.Add(item);
            }
            return list;
        }
        var concrete = type switch
        {
            _ when type == typeof(DataType) || type == typeof(PrimitiveType) => typeof(FhirString),
            _ when type == typeof(Resource) || type == typeof(DomainResource) => typeof(Patient),
            _ => type,
        };
        return typeof(Base).IsAssignableFrom(concrete) && !concrete.IsAbstract && concrete.GetConstructor(Type.EmptyTypes) is not null
            ? Activator.CreateInstance(concrete)
            : null;
    }

    private static void AssertSameAsSdk(Base root, int minimumNodes)
    {
        var nodes = 0;
        foreach (var node in FhirTree.Nodes(root))
        {
            var expected = node.EnumerateElements().OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
            var actual = new List<KeyValuePair<string, object>>();
            foreach (var element in FhirTree.Elements(node))
            {
                actual.Add(element);
            }
            actual.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            Assert.Equal(expected.Select(e => e.Key), actual.Select(e => e.Key));
            for (var i = 0; i < expected.Count; i++)
            {
                // The very object the SDK hands out: a node, a list of them, or a primitive's value.
                if (expected[i].Value.GetType().IsValueType)
                {
                    Assert.Equal(expected[i].Value, actual[i].Value);
                }
                else
                {
                    Assert.Same(expected[i].Value, actual[i].Value);
                }
            }
            nodes++;
        }
        Assert.True(nodes >= minimumNodes, $"only {nodes} nodes walked");
    }

    [Fact]
    public void Elements_of_a_node_with_undefined_elements_include_them()
    {
        // As a CDS Hooks context resource parsed on a best effort can be.
        var bundle = new Bundle { Type = Bundle.BundleType.Collection };
        bundle["colour"] = new FhirString("blue");

        var names = new List<string>();
        foreach (var (name, _) in FhirTree.Elements(bundle))
        {
            names.Add(name);
        }
        Assert.Equal(bundle.EnumerateElements().Select(e => e.Key), names);
        Assert.Contains("colour", names);
    }

    [Fact]
    public void A_malformed_element_dropped_on_a_best_effort_parse_is_absent()
    {
        // "entry" must be an array: the parser sets it aside with the unknown elements, which are then dropped.
        var bundle = FhirJson.ParseBestEffort("""{"resourceType":"Bundle","type":"collection","entry":{"fullUrl":"urn:uuid:x"}}"""u8);

        var names = new List<string>();
        foreach (var node in FhirTree.Nodes(bundle))
        {
            foreach (var (name, _) in FhirTree.Elements(node))
            {
                names.Add(name);
            }
        }
        Assert.Equal(["type"], names);
    }

    [Fact]
    public void PathOf_finds_a_node_below_the_given_path()
    {
        var claim = new Claim { Item = [new Claim.ItemComponent { ProductOrService = new CodeableConcept("http://www.ama-assn.org/go/cpt", "72148") }] };
        var coding = claim.Item[0].ProductOrService.Coding[0];

        Assert.Equal("Bundle.entry[0].resource.item[0].productOrService.coding[0]", FhirTree.PathOf(claim, "Bundle.entry[0].resource", coding));
        Assert.Null(FhirTree.PathOf(claim, "Claim", new Coding()));
    }
}
