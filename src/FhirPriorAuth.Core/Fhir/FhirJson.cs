using System.Buffers;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using Hl7.Fhir.Validation;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// The one JSON parser and serializer of the server, built once and shared (they are thread-safe and costly to build).
/// Parse failures become 400 OperationOutcomes whose <c>expression</c> points at the offending element.
/// </summary>
public static class FhirJson
{
    /// <summary>The JSON nesting depth accepted; deeper input is refused before it reaches the FHIR parser.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most parse errors reported in one OperationOutcome.</summary>
    public const int MaxIssues = 100;

    private static readonly FhirJsonDeserializer Deserializer = new(new DeserializerSettings());

    // PAS receivers SHALL ignore unsupported non-modifier elements, so PAS operations parse leniently.
    // An empty array (Inferno's "entry": []) is left to the caller, whose own rule explains what is missing.
    private static readonly FhirJsonDeserializer LenientDeserializer =
        new(new DeserializerSettings { AcceptUnknownMembers = true }.Ignoring([EmptyArrayCode]));

    // The same without the SDK's checks of values and cardinalities (two thirds of a PAS request's parse): only for
    // requests that are then proven against profiles that check all of it (ParseForProof).
    private static readonly FhirJsonDeserializer UncheckedDeserializer =
        new(new DeserializerSettings { AcceptUnknownMembers = true, Validator = null }.Ignoring([EmptyArrayCode]));

    private const string EmptyArrayCode = "JSON121";
    private static readonly FhirJsonSerializer Serializer = new();

    /// <summary>Writer settings for FHIR JSON: '+' and quotes stay readable (FHIR JSON is not embedded in HTML).</summary>
    public static JsonWriterOptions WriterOptions(bool indented = false) =>
        new() { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parses a resource; throws a 400 <see cref="FhirException"/> when it is not valid FHIR JSON.</summary>
    /// <param name="json">UTF-8 JSON.</param>
    /// <param name="expectedType">When given, the <c>resourceType</c> the caller requires.</param>
    public static Resource Parse(ReadOnlySpan<byte> json, string? expectedType = null) => Parse(json, expectedType, lenient: false);

    /// <summary>
    /// Parses a resource, ignoring elements the FHIR R4 model does not define (they are dropped, not echoed);
    /// everything else is checked as strictly as <see cref="Parse(ReadOnlySpan{byte}, string?)"/>.
    /// </summary>
    public static Resource ParseIgnoringUnknownElements(ReadOnlySpan<byte> json, string? expectedType = null) =>
        DropUnknown(Parse(json, expectedType, lenient: true));

    /// <summary>
    /// Parses what can be read of a resource another system sent for information (a CDS Hooks context): unknown
    /// elements are dropped; values that are not valid FHIR are kept as sent, so an echo of the resource carries the
    /// sender's own errors and no new ones. Only JSON that is no resource at all fails.
    /// </summary>
    public static Resource ParseBestEffort(ReadOnlySpan<byte> json) => DropUnknown(Parse(json, null, lenient: true, bestEffort: true));

    /// <summary>
    /// Parses like <see cref="ParseIgnoringUnknownElements"/>, but without the SDK's checks of primitive formats and
    /// cardinalities. Only for a request whose conformance is proven next against profiles that check the same
    /// (<see cref="Validation.IPasValidator.TryProve"/>); one that is not proven must be parsed again with
    /// <see cref="ParseIgnoringUnknownElements"/>, whose errors are the answer.
    /// </summary>
    public static Resource ParseForProof(ReadOnlySpan<byte> json) => DropUnknown(Parse(json, null, lenient: true, valueChecks: false));

    /// <summary>
    /// <see cref="ParseForProof"/> on two threads: the later half of a Bundle's entries is parsed on the pool while this
    /// thread parses the rest, and the two are joined into the tree one parse makes (the SDK parses each entry on its
    /// own either way). For a request that has the second core to itself; a body it does not expect (not a Bundle, few
    /// entries, anything unusual in its layout) is parsed on one thread.
    /// </summary>
    public static async Task<Resource> ParseForProofInTwoAsync(byte[] json)
    {
        if (SplitEntries(json) is not var (first, later))
        {
            return ParseForProof(json);
        }
        var parsingLater = Task.Run(() => ParseForProof(later));
        Bundle bundle;
        try
        {
            bundle = (Bundle)ParseForProof(first);
        }
        catch
        {
            // Not waited for: this parse's error is the answer; the other's, if any, is only observed.
            _ = parsingLater.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            throw;
        }
        var rest = (Bundle)await parsingLater;
        bundle.Entry.AddRange(rest.Entry);
        if (DroppedUnknownElements(rest) && !DroppedUnknownElements(bundle))
        {
            bundle.AddAnnotation(UnknownElementsDropped.Instance);
        }
        return bundle;
    }

    /// <summary>
    /// A Bundle's JSON cut in two at the entry nearest its middle: the Bundle with its earlier entries, and a Bundle of
    /// only the later ones. Null unless the body is one object with <c>"resourceType": "Bundle"</c> and exactly one
    /// <c>entry</c> array of at least four objects.
    /// </summary>
    internal static (byte[] First, byte[] Later)? SplitEntries(ReadOnlySpan<byte> json)
    {
        var entries = new List<(int Start, int End)>();
        int close = -1;
        var bundle = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("entry"u8))
                {
                    if (close >= 0 || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    {
                        return null;
                    }
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        entries.Add((start, (int)reader.BytesConsumed));
                    }
                    if (reader.TokenType != JsonTokenType.EndArray)
                    {
                        return null;
                    }
                    close = (int)reader.TokenStartIndex;
                    continue;
                }
                var resourceType = reader.ValueTextEquals("resourceType"u8);
                reader.Read();
                if (resourceType)
                {
                    bundle = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("Bundle"u8);
                }
                reader.Skip();
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null; // the parse reports it
        }
        if (!bundle || entries.Count < 4)
        {
            return null;
        }
        var middle = json.Length / 2;
        var cut = entries.FindIndex(e => e.Start >= middle) is var at and >= 0 ? Math.Max(at, 1) : entries.Count - 1;
        byte[] first = [.. json[..entries[cut - 1].End], .. json[close..]];
        byte[] later = [.. """{"resourceType":"Bundle","entry":["""u8, .. json[entries[cut].Start..entries[^1].End], .. "]}"u8];
        return (first, later);
    }

    private static Resource DropUnknown(Resource resource)
    {
        var dropped = false;
        foreach (var node in FhirTree.Nodes(resource))
        {
            if (node.HasOverflow)
            {
                node.ClearOverflow();
                dropped = true;
            }
        }
        if (dropped)
        {
            resource.AddAnnotation(UnknownElementsDropped.Instance);
        }
        return resource;
    }

    /// <summary>
    /// Whether parsing <paramref name="resource"/> dropped elements the FHIR model does not define: then its JSON as sent
    /// says more than the parsed resource, and must not be echoed in its place.
    /// </summary>
    public static bool DroppedUnknownElements(Resource resource) => resource.HasAnnotation<UnknownElementsDropped>();

    private sealed class UnknownElementsDropped
    {
        public static readonly UnknownElementsDropped Instance = new();
    }

    private static Resource Parse(ReadOnlySpan<byte> json, string? expectedType, bool lenient, bool bestEffort = false, bool valueChecks = true)
    {
        if (json.IsEmpty)
        {
            throw FhirException.BadRequest("The request body is empty; a FHIR JSON resource was expected.");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
        Resource resource;
        try
        {
            resource = (!valueChecks ? UncheckedDeserializer : lenient ? LenientDeserializer : Deserializer).DeserializeResource(ref reader);
        }
        catch (DeserializationFailedException e) when (bestEffort && e.PartialResult is Resource partial)
        {
            resource = partial;
        }
        catch (DeserializationFailedException e)
        {
            throw new FhirException(400, ToOutcome(e));
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The body is not valid JSON: {e.Message}", type: OperationOutcome.IssueType.Structure);
        }
        catch (InvalidOperationException e)
        {
            // The SDK's parser reports some structural surprises (an array where an object belongs) this way.
            throw FhirException.BadRequest($"The body is not a FHIR resource: {e.Message}", type: OperationOutcome.IssueType.Structure);
        }

        if (expectedType is not null && resource.TypeName != expectedType)
        {
            throw FhirException.BadRequest(
                $"The body is a {resource.TypeName}, but this endpoint takes a {expectedType}.", "resourceType");
        }
        return resource;
    }

    /// <summary>Parses a resource of a known type.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> json) where T : Resource =>
        (T)Parse(json, ModelInfo.GetFhirTypeNameForType(typeof(T)));

    /// <summary>Serializes a resource to compact UTF-8 JSON.</summary>
    public static byte[] ToBytes(Resource resource) => KeptBuffer.ToArray(buffer =>
    {
        using var writer = new Utf8JsonWriter(buffer, WriterOptions());
        Serializer.Serialize(resource, writer);
    });

    /// <summary>Writes a resource to a JSON writer (used to stream responses).</summary>
    public static void Write(Resource resource, Utf8JsonWriter writer) => Serializer.Serialize(resource, writer);

    /// <summary>Serializes a resource to a compact JSON string.</summary>
    public static string ToJson(Resource resource) => System.Text.Encoding.UTF8.GetString(ToBytes(resource));

    private static OperationOutcome ToOutcome(DeserializationFailedException e)
    {
        var outcome = new OperationOutcome();
        var errors = e.Exceptions.ToList();
        foreach (var error in errors.Take(MaxIssues))
        {
            var (message, path) = error is Hl7.Fhir.Utility.ExtendedCodedException coded
                ? (coded.BaseErrorMessage, coded.InstancePath)
                : (error.Message, null);
            outcome.Issue.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error,
                OperationOutcome.IssueType.Structure, message, string.IsNullOrEmpty(path) ? null : path));
        }
        if (errors.Count > MaxIssues)
        {
            // A hostile body can hold millions of errors; the answer stays small.
            outcome.Issue.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.TooCostly,
                $"{errors.Count - MaxIssues} further errors are not listed."));
        }
        if (outcome.Issue.Count == 0)
        {
            outcome.Issue.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Structure, e.Message));
        }
        return outcome;
    }
}
