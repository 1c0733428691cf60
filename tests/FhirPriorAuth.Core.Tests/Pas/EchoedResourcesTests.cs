using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Pas;

/// <summary>A response that copies the sent resources says exactly what one serializing the parsed resources says.</summary>
public sealed class EchoedResourcesTests
{
    [Fact]
    public void Every_bundle_of_the_corpus_is_echoed_as_its_serialization()
    {
        var echoedBundles = 0;
        foreach (var (name, body) in Corpus())
        {
            Bundle bundle;
            try
            {
                bundle = FhirJson.ParseIgnoringUnknownElements(body) as Bundle ?? throw new FormatException();
            }
            catch (Exception)
            {
                continue; // not a Bundle, or not R4
            }
            if (EchoedResources.Read(body, bundle) is not { } sent)
            {
                continue;
            }
            var echoed = bundle.Entry.Where(e => e.Resource is not null && e.FullUrl is not null).ToList();
            var spliced = sent.Write(Head(), echoed);
            Assert.NotNull(spliced);

            var expected = Head();
            expected.Entry.AddRange(echoed.Select(e => new Bundle.EntryComponent { FullUrl = e.FullUrl, Resource = e.Resource }));
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FhirJson.ToBytes(expected)), JsonNode.Parse(spliced)), name);
            Assert.True(FhirJson.Parse(spliced).IsExactly(expected), name);
            echoedBundles++;
        }
        // The Inferno inputs, the examples and the generated requests are echoed as sent, not only a few of them.
        Assert.True(echoedBundles >= 40, $"{echoedBundles} bundles echoed");
    }

    [Fact]
    public void Whitespace_between_tokens_goes_and_whitespace_and_escapes_inside_strings_stay()
    {
        var body = Encoding.UTF8.GetBytes("""
            { "resourceType" : "Bundle", "type": "collection",
              "entry": [ { "fullUrl": "urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71",
                           "resource": { "resourceType": "Patient", "name": [ { "text": "A \"quoted\"\t name\\ " } ] } } ] }
            """);
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(body);
        var json = Encoding.UTF8.GetString(EchoedResources.Read(body, bundle)!.Write(Head(), bundle.Entry)!);

        Assert.Contains("""{"fullUrl":"urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71","resource":{"resourceType":"Patient","name":[{"text":"A \"quoted\"\t name\\ "}]}}""", json);
        var echoedPatient = (Patient)((Bundle)FhirJson.Parse(Encoding.UTF8.GetBytes(json))).Entry[1].Resource!;
        Assert.Equal("A \"quoted\"\t name\\ ", echoedPatient.Name[0].Text);
    }

    [Theory]
    [InlineData("""{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71","resource":{"resourceType":"Patient","noSuchElement":1}}]}""")]
    [InlineData("""{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71","resource":{"resourceType":"Patient","name":[]}}]}""")]
    [InlineData("""{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71","resource":{"resourceType":"Patient","id":"p"}}]}}]}""")]
    public void A_body_whose_bytes_say_more_or_less_than_the_parsed_resources_is_not_echoed(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var parsed = FhirJson.ParseForProof(body);
        var bundle = parsed as Bundle ?? (Bundle)((Parameters)parsed).Parameter[0].Resource!;

        Assert.Null(EchoedResources.Read(body, bundle));
    }

    [Fact]
    public void An_entry_without_a_fullUrl_is_not_echoed_as_sent()
    {
        var body = """{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}"""u8.ToArray();
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(body);
        var head = Head();

        Assert.Null(EchoedResources.Read(body, bundle)!.Write(head, bundle.Entry));
        Assert.Single(head.Entry); // left as it was
    }

    private static Bundle Head()
    {
        var patient = new Patient { Id = "p1", Active = true };
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Identifier = new Identifier("urn:test", "r1"), Timestamp = DateTimeOffset.UnixEpoch };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "http://example.org/fhir/Patient/p1", Resource = patient });
        return bundle;
    }

    private static IEnumerable<(string Name, byte[] Body)> Corpus()
    {
        var files = Directory.EnumerateFiles(RepoPaths.Conformance, "*.json", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(RepoPaths.Examples, "*.json", SearchOption.AllDirectories));
        foreach (var file in files)
        {
            yield return (file, File.ReadAllBytes(file));
        }
        var generator = new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed: 11);
        for (var i = 0; i < 20; i++)
        {
            yield return ($"generated {i}", Encoding.UTF8.GetBytes(generator.Next()));
        }
    }
}
