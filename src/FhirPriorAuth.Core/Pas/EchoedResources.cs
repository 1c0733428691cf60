using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Range = System.Range;

namespace FhirPriorAuth.Core.Pas;

/// <summary>
/// The resources of a request Bundle as the submitter sent them, so that a response echoing them copies their JSON
/// instead of serializing the parsed resources again (most of a PAS response is that echo; serializing it was about
/// 4% of a submission's CPU). Only offered when the copy says exactly what a new serialization would: the body is a
/// bare Bundle, the parse dropped nothing, and the JSON has no empty array (which the parser passes over and a
/// serializer leaves out; it refuses nulls and empty objects). The copy is compacted; whitespace aside, it keeps the sender's bytes.
/// </summary>
internal sealed class EchoedResources
{
    private readonly byte[] _body;
    private readonly Dictionary<Bundle.EntryComponent, Range> _resources;

    private EchoedResources(byte[] body, Dictionary<Bundle.EntryComponent, Range> resources)
    {
        _body = body;
        _resources = resources;
    }

    /// <summary>The sent resources of <paramref name="bundle"/>, parsed from <paramref name="body"/>; null when they cannot stand in for it.</summary>
    public static EchoedResources? Read(byte[] body, Bundle bundle)
    {
        if (FhirJson.DroppedUnknownElements(bundle) || Locate(body) is not { } ranges || ranges.Count != bundle.Entry.Count)
        {
            return null;
        }
        var resources = new Dictionary<Bundle.EntryComponent, Range>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i] is { } range && bundle.Entry[i].Resource is not null)
            {
                resources[bundle.Entry[i]] = range;
            }
        }
        return new EchoedResources(body, resources);
    }

    /// <summary>An entry's resource as it was sent (not yet compacted); null when it has none the echo can use.</summary>
    public ReadOnlyMemory<byte>? AsSent(Bundle.EntryComponent entry) =>
        _resources.TryGetValue(entry, out var range) ? _body.AsMemory(range) : null;

    /// <summary>
    /// Serializes <paramref name="bundle"/>, writing the resources of the entries in <paramref name="asJson"/> as the JSON
    /// given rather than serializing them again: a stored version as it is, a resource as sent (a part of
    /// <paramref name="sentBody"/>) without the whitespace between tokens, and listed in <paramref name="echoed"/>. An
    /// entry without a fullUrl is serialized as it is; the bundle is left as it was.
    /// </summary>
    public static byte[] Write(Bundle bundle, IReadOnlyList<(Bundle.EntryComponent Entry, ReadOnlyMemory<byte> Json)> asJson,
        byte[]? sentBody = null, List<EchoedSpan>? echoed = null)
    {
        // Entries whose resource is taken out for the serialization: each is left a stub with only its fullUrl.
        var stubbed = new List<(int At, Resource? Resource, ReadOnlyMemory<byte> Json)>();
        for (var at = 0; at < bundle.Entry.Count; at++)
        {
            var entry = bundle.Entry[at];
            foreach (var (given, json) in asJson)
            {
                if (ReferenceEquals(given, entry) && entry.FullUrl is not null)
                {
                    stubbed.Add((at, entry.Resource, json));
                    entry.Resource = null;
                    break;
                }
            }
        }
        byte[] stubs;
        try
        {
            stubs = FhirJson.ToBytes(bundle);
        }
        finally
        {
            foreach (var (at, resource, _) in stubbed)
            {
                bundle.Entry[at].Resource = resource;
            }
        }

        // Each stub entry ends with '}': the resource goes in just before it.
        var ends = EntryEnds(stubs);
        return KeptBuffer.ToArray(output =>
        {
            var copied = 0;
            foreach (var (at, _, json) in stubbed)
            {
                var end = ends[at];
                output.Write(stubs.AsSpan(copied, end - copied));
                output.Write(""","resource":"""u8);
                if (MemoryMarshal.TryGetArray(json, out var sent) && sentBody is not null && ReferenceEquals(sent.Array, sentBody))
                {
                    var start = output.WrittenCount;
                    StoredResponse.Compact(json.Span, output);
                    echoed?.Add(new EchoedSpan(start, output.WrittenCount - start, sent.Offset, sent.Count));
                }
                else
                {
                    output.Write(json.Span); // written by the serializer, compact already
                }
                copied = end;
            }
            output.Write(stubs.AsSpan(copied));
        });
    }

    /// <summary>
    /// An entry's resource as sent, with the server's <paramref name="id"/> and <paramref name="meta"/> in place of the
    /// sender's: what serializing the parsed resource with them says, without copying or serializing it (the stored copy
    /// of a request's Claim). Null when the entry has no sent JSON, or extends its id (which a new id replaces).
    /// </summary>
    public byte[]? AsStored(Bundle.EntryComponent entry, string id, Meta meta)
    {
        if (!_resources.TryGetValue(entry, out var range) || entry.Resource is not { } resource)
        {
            return null;
        }
        var shell = (Resource)Activator.CreateInstance(resource.GetType())!;
        shell.Id = id;
        shell.Meta = meta;
        var head = FhirJson.ToBytes(shell);
        var extendsId = false;
        var stored = KeptBuffer.ToArray(output =>
        {
            var sent = _body.AsSpan(range);
            output.Write(head.AsSpan(0, head.Length - 1));

            // Every member but those the head has, in the order sent.
            var reader = new Utf8JsonReader(sent, new JsonReaderOptions { MaxDepth = FhirJson.MaxDepth });
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("_id"u8))
                {
                    extendsId = true;
                    return;
                }
                var start = (int)reader.TokenStartIndex;
                var copied = !(reader.ValueTextEquals("resourceType"u8) || reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("meta"u8));
                reader.Read();
                reader.Skip();
                if (copied)
                {
                    output.Write(","u8);
                    StoredResponse.Compact(sent[start..(int)reader.BytesConsumed], output);
                }
            }
            output.Write("}"u8);
        });
        return extendsId ? null : stored;
    }

    /// <summary>Per <c>entry</c> of a JSON Bundle, where its resource is (none for an entry without one); null when the JSON cannot be echoed.</summary>
    private static List<Range?>? Locate(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = FhirJson.MaxDepth });
        var entries = new List<Range?>();
        var isBundle = false;
        var seenEntries = false;
        var inEntries = false;
        var atResource = false;
        var resourceStart = -1;
        var previous = JsonTokenType.None;
        while (reader.Read())
        {
            var token = reader.TokenType;
            if (token == JsonTokenType.EndArray && previous == JsonTokenType.StartArray)
            {
                return null;
            }
            previous = token;
            switch (reader.CurrentDepth, token)
            {
                case (1, JsonTokenType.PropertyName):
                    inEntries = reader.ValueTextEquals("entry"u8);
                    if (inEntries && seenEntries)
                    {
                        return null;
                    }
                    seenEntries |= inEntries;
                    if (reader.ValueTextEquals("resourceType"u8))
                    {
                        reader.Read();
                        isBundle = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("Bundle"u8);
                        previous = reader.TokenType;
                    }
                    break;
                case (2, JsonTokenType.StartObject) when inEntries:
                    entries.Add(null);
                    break;
                case (3, JsonTokenType.PropertyName) when inEntries:
                    atResource = reader.ValueTextEquals("resource"u8);
                    break;
                case (3, JsonTokenType.StartObject) when inEntries && atResource:
                    resourceStart = (int)reader.TokenStartIndex;
                    break;
                case (3, JsonTokenType.EndObject) when inEntries && atResource:
                    entries[^1] = new Range(resourceStart, (int)reader.BytesConsumed);
                    atResource = false;
                    break;
            }
        }
        return isBundle ? entries : null;
    }

    /// <summary>The offset of each entry's closing brace in a compact JSON Bundle.</summary>
    private static List<int> EntryEnds(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var ends = new List<int>();
        var inEntries = false;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
            {
                inEntries = reader.ValueTextEquals("entry"u8);
            }
            else if (inEntries && reader.CurrentDepth == 2 && reader.TokenType == JsonTokenType.EndObject)
            {
                ends.Add((int)reader.TokenStartIndex);
            }
        }
        return ends;
    }
}
