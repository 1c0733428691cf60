using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Fhir;

public sealed class FhirTreeTests
{
    [Fact]
    public void Elements_are_exactly_what_the_SDK_enumerates_on_every_node_of_a_request()
    {
        var bundle = FhirJson.ParseIgnoringUnknownElements(File.ReadAllBytes(
            Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")));
        var nodes = 0;
        foreach (var node in FhirTree.Nodes(bundle))
        {
            var expected = node.EnumerateElements().Select(e => (e.Key, e.Value)).ToList();
            var actual = new List<(string, object)>();
            foreach (var (name, value) in FhirTree.Elements(node))
            {
                actual.Add((name, value));
            }
            Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Item1));
            nodes++;
        }
        Assert.True(nodes > 500, $"only {nodes} nodes walked");
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
