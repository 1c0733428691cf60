using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

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
            if (Parsed(body) is not { } bundle || EchoedResources.Read(body, bundle) is not { } sent)
            {
                continue;
            }
            var echoed = bundle.Entry.Where(e => e.Resource is not null).ToList();
            var (response, asSent) = Response(sent, echoed);
            var echoes = new List<EchoedSpan>();
            var spliced = EchoedResources.Write(response, asSent, body, echoes);

            // The response is left as it was, and what its serialization says is what the copy says.
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FhirJson.ToBytes(response)), JsonNode.Parse(spliced)), name);
            Assert.True(FhirJson.Parse(spliced).IsExactly(response), name);
            // Stored without the echo, it is restored from the request byte for byte.
            Assert.Equal(asSent.Count, echoes.Count);
            Assert.Equal(spliced, StoredResponse.Restore(StoredResponse.Cut(spliced, echoes), body));
            echoedBundles++;
        }
        // The Inferno inputs, the examples and the generated requests are echoed as sent, not only a few of them.
        Assert.True(echoedBundles >= 40, $"{echoedBundles} bundles echoed");
    }

    [Fact]
    public void Every_resource_of_the_corpus_is_stored_as_sent_as_its_serialized_copy_would_be()
    {
        var fhir = new ResourceInteractions(new NoStore(), SearchParameterRegistry.Default, new FixedTime());
        string[] labels = ["organization:http://hl7.org/fhir/sid/us-npi|1234567893", "member:urn:test|m1"];
        var stored = 0;
        foreach (var (name, body) in Corpus())
        {
            if (Parsed(body) is not { } bundle || EchoedResources.Read(body, bundle) is not { } sent)
            {
                continue;
            }
            foreach (var entry in bundle.Entry.Where(e => e.Resource is not null))
            {
                var resource = entry.Resource!;
                var before = FhirJson.ToBytes(resource);
                var asSent = fhir.PrepareWriteAsSent(resource, "server-id", labels, (id, meta) => sent.AsStored(entry, id, meta));
                var copy = fhir.PrepareWrite(resource.DeepCopy(), "server-id", 1, 0, access: labels);

                Assert.NotNull(asSent);
                Assert.Equal(copy.Index, asSent.Index);
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(copy.Json), JsonNode.Parse(asSent.Json)), name);
                Assert.True(FhirJson.Parse(asSent.Json).IsExactly(FhirJson.Parse(copy.Json)), name);
                Assert.Equal(before, FhirJson.ToBytes(resource)); // the request's resource is left as it was sent
                stored++;
            }
        }
        Assert.True(stored >= 400, $"{stored} resources stored as sent");
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","id":"p","_id":{"extension":[{"url":"urn:x","valueString":"y"}]}}""")]
    [InlineData("""{"resourceType":"Patient","meta":{"security":[{"system":"urn:fhirpriorauth:access","code":"member:urn:x|1"}]}}""")]
    public void A_resource_whose_sent_id_or_labels_a_new_id_and_labels_would_change_is_not_stored_as_sent(string patient)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:6f1c2a52-3d0e-4b7a-9c55-0d8f3b1e2a71","resource":{{patient}}}]}""");
        var bundle = Parsed(body)!;
        var sent = EchoedResources.Read(body, bundle)!;
        var fhir = new ResourceInteractions(new NoStore(), SearchParameterRegistry.Default, new FixedTime());

        Assert.Null(fhir.PrepareWriteAsSent(bundle.Entry[0].Resource!, "server-id", [], (id, meta) => sent.AsStored(bundle.Entry[0], id, meta)));
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
        var (response, asSent) = Response(EchoedResources.Read(body, bundle)!, bundle.Entry);
        var json = Encoding.UTF8.GetString(EchoedResources.Write(response, asSent, body));

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
    public void An_entry_without_a_fullUrl_is_serialized_and_every_entry_is_left_as_it_was()
    {
        var body = """{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}"""u8.ToArray();
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(body);
        var (response, asSent) = Response(EchoedResources.Read(body, bundle)!, bundle.Entry);
        Assert.Single(asSent);
        var expected = FhirJson.ToBytes(response);

        var spliced = EchoedResources.Write(response, asSent, body);

        Assert.Equal(expected, spliced);
        Assert.All(response.Entry, e => Assert.NotNull(e.Resource));
    }

    [Fact]
    public void A_resource_given_as_json_is_written_as_given_and_the_entry_keeps_its_resource()
    {
        var response = Response(null, []).Bundle;
        var stored = """{"resourceType":"Patient","id":"p1","meta":{"security":[{"system":"urn:x","code":"y"}]}}"""u8.ToArray();

        var echoes = new List<EchoedSpan>();
        var json = Encoding.UTF8.GetString(EchoedResources.Write(response, [(response.Entry[0], stored)], "{}"u8.ToArray(), echoes));

        Assert.Empty(echoes); // not a part of the request
        Assert.Contains("""{"fullUrl":"http://example.org/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1","meta":{"security":[{"system":"urn:x","code":"y"}]}}}""", json);
        Assert.True(((Patient)response.Entry[0].Resource!).Active);
    }

    [Fact]
    public void A_stored_response_is_not_restored_from_a_request_other_than_its_own()
    {
        var body = Encoding.UTF8.GetBytes(new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed: 3).Next());
        var bundle = (Bundle)FhirJson.ParseIgnoringUnknownElements(body);
        var (response, asSent) = Response(EchoedResources.Read(body, bundle)!, bundle.Entry);
        var echoes = new List<EchoedSpan>();
        var cut = StoredResponse.Cut(EchoedResources.Write(response, asSent, body, echoes), echoes);

        var other = (byte[])body.Clone();
        other[echoes[^1].SentAt] = (byte)' '; // the last echoed resource's brace a space: compacted, one byte shorter
        Assert.Throws<InvalidDataException>(() => StoredResponse.Restore(cut, other));
        Assert.Throws<InvalidDataException>(() => StoredResponse.Restore(cut, body.AsMemory(0, echoes[^1].SentAt)));
        Assert.Throws<InvalidDataException>(() => StoredResponse.Restore(cut.AsMemory(0, 3), body));
    }

    /// <summary>The Bundle a body holds; null when it is not a Bundle, or not R4.</summary>
    private static Bundle? Parsed(byte[] body)
    {
        try
        {
            return FhirJson.ParseIgnoringUnknownElements(body) as Bundle;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    }

    /// <summary>Preparing a write needs no store.</summary>
    private sealed class NoStore : IResourceStore
    {
        public Task<StoredResource?> ReadAsync(string resourceType, string id, int? version, CancellationToken ct) => throw new NotSupportedException();

        public Task<IReadOnlyList<WriteResult>> CommitAsync(IReadOnlyList<ResourceWrite> changes, CancellationToken ct) => throw new NotSupportedException();

        public Task<SearchPage> SearchAsync(SearchQuery query, CancellationToken ct) => throw new NotSupportedException();

        public Task<SearchPage> HistoryAsync(HistoryQuery query, CancellationToken ct) => throw new NotSupportedException();
    }

    /// <summary>
    /// A response Bundle: a Patient of its own, then an entry echoing each of <paramref name="echoed"/>, and those entries
    /// paired with their resources as sent.
    /// </summary>
    private static (Bundle Bundle, List<(Bundle.EntryComponent Entry, ReadOnlyMemory<byte> Json)> AsSent) Response(
        EchoedResources? sent, IEnumerable<Bundle.EntryComponent> echoed)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Identifier = new Identifier("urn:test", "r1"), Timestamp = DateTimeOffset.UnixEpoch };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "http://example.org/fhir/Patient/p1", Resource = new Patient { Id = "p1", Active = true } });
        var asSent = new List<(Bundle.EntryComponent, ReadOnlyMemory<byte>)>();
        foreach (var entry in echoed)
        {
            var echo = new Bundle.EntryComponent { FullUrl = entry.FullUrl, Resource = entry.Resource };
            bundle.Entry.Add(echo);
            asSent.Add((echo, sent!.AsSent(entry) ?? throw new InvalidOperationException("no sent JSON")));
        }
        return (bundle, asSent);
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
