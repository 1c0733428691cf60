using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>One authorization's answer to an inquiry: its current ClaimResponse and its latest stored response.</summary>
/// <param name="ClaimResponse">The current ClaimResponse, as stored.</param>
/// <param name="LatestResponse">The latest submission's PAS Response Bundle, as stored.</param>
internal sealed record InquiryAnswer(ReadOnlyMemory<byte> ClaimResponse, byte[] LatestResponse);

/// <summary>
/// Writes the answer to <c>Claim/$inquire</c> straight from stored JSON: per authorization, a Claim Inquiry Response
/// Bundle with the current ClaimResponse followed by the entries of the latest response, so every reference it makes
/// resolves exactly as it did then.
/// </summary>
/// <remarks>
/// The stored entries are copied as they are rather than parsed into and serialized from FHIR objects, which was a third
/// of an inquiry's time (docs/performance.md). Only the ClaimResponse changes: its profile becomes the inquiry response's.
/// </remarks>
internal static class InquiryResponse
{
    /// <summary>PAS 2.2.1: a Parameters with one <c>return</c> Bundle per authorization; 2.0.1: one Bundle with all.</summary>
    public static byte[] Write(IReadOnlyList<InquiryAnswer> answers, PasVersion version, DateTimeOffset now)
    {
        var latest = answers.Select(a => JsonDocument.Parse(a.LatestResponse)).ToList();
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, FhirJson.WriterOptions()))
            {
                if (version.WrapsInquiryInParameters())
                {
                    writer.WriteStartObject();
                    writer.WriteString("resourceType", "Parameters");
                    // The id keeps a no-match answer from being an empty object, which strict FHIR parsers (Firely's) refuse.
                    writer.WriteString("id", ResourceInteractions.NewId());
                    if (answers.Count > 0)
                    {
                        writer.WriteStartArray("parameter");
                        for (var i = 0; i < answers.Count; i++)
                        {
                            writer.WriteStartObject();
                            writer.WriteString("name", "return");
                            writer.WritePropertyName("resource");
                            WriteBundle(writer, [(answers[i], latest[i].RootElement)], version, now);
                            writer.WriteEndObject();
                        }
                        writer.WriteEndArray();
                    }
                    writer.WriteEndObject();
                }
                else
                {
                    WriteBundle(writer, answers.Select((a, i) => (a, latest[i].RootElement)).ToList(), version, now);
                }
            }
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            latest.ForEach(d => d.Dispose());
        }
    }

    /// <summary>
    /// A Claim Inquiry Response Bundle: the current ClaimResponses first, then the other entries of the latest responses,
    /// each fullUrl once (authorizations of one member and provider share their Patient and Organizations).
    /// </summary>
    private static void WriteBundle(Utf8JsonWriter writer, IReadOnlyList<(InquiryAnswer Answer, JsonElement Latest)> answers,
        PasVersion version, DateTimeOffset now)
    {
        writer.WriteStartObject();
        writer.WriteString("resourceType", "Bundle");
        writer.WriteStartObject("meta");
        writer.WriteStartArray("profile");
        writer.WriteStringValue(version.Profile("profile-pas-inquiry-response-bundle"));
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteStartObject("identifier");
        writer.WriteString("system", "urn:fhirpriorauth:inquiry-response");
        writer.WriteString("value", ResourceInteractions.NewId());
        writer.WriteEndObject();
        writer.WriteString("type", "collection");
        writer.WriteString("timestamp", new FhirDateTime(now).Value);
        if (answers.Count > 0)
        {
            writer.WriteStartArray("entry");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (answer, latest) in answers)
            {
                var fullUrl = latest.GetProperty("entry")[0].GetProperty("fullUrl").GetString()!;
                seen.Add(fullUrl);
                writer.WriteStartObject();
                writer.WriteString("fullUrl", fullUrl);
                writer.WritePropertyName("resource");
                WriteCurrent(writer, answer.ClaimResponse, version);
                writer.WriteEndObject();
            }
            foreach (var entry in answers.SelectMany(a => a.Latest.GetProperty("entry").EnumerateArray().Skip(1)))
            {
                if (!entry.TryGetProperty("fullUrl", out var fullUrl) || seen.Add(fullUrl.GetString()!))
                {
                    entry.WriteTo(writer);
                }
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static void WriteCurrent(Utf8JsonWriter writer, ReadOnlyMemory<byte> claimResponse, PasVersion version)
    {
        var resource = JsonNode.Parse(claimResponse.Span)!.AsObject();
        if (resource["meta"] is not JsonObject meta)
        {
            resource["meta"] = meta = [];
        }
        meta["profile"] = new JsonArray(version.Profile("profile-claiminquiryresponse"));
        resource.WriteTo(writer);
    }
}
