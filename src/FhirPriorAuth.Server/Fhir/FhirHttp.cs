using System.Globalization;
using System.Text.Json;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace FhirPriorAuth.Server.Fhir;

/// <summary>FHIR's HTTP conventions: media types, <c>_format</c>, <c>Prefer</c>, ETags and the base URL.</summary>
public static class FhirHttp
{
    /// <summary>The FHIR JSON media type.</summary>
    public const string FhirJson = "application/fhir+json";

    private static readonly string[] JsonMediaTypes = [FhirJson, "application/json", "application/json+fhir", "text/json"];
    private static readonly string[] JsonFormats = ["json", .. JsonMediaTypes];

    /// <summary>What a client asked for with <c>Prefer: return=</c>.</summary>
    public enum ReturnPreference
    {
        /// <summary>The resource (default).</summary>
        Representation,
        /// <summary>No body.</summary>
        Minimal,
        /// <summary>An OperationOutcome about the outcome.</summary>
        OperationOutcome,
    }

    /// <summary>The FHIR base URL of the request, e.g. <c>http://host:5080/fhir</c>.</summary>
    public static string BaseUrl(HttpContext context, string prefix)
    {
        var configured = context.RequestServices.GetRequiredService<FhirOptions>().PublicBaseUrl;
        if (!string.IsNullOrEmpty(configured))
        {
            return configured.TrimEnd('/') + prefix;
        }
        var request = context.Request;
        return $"{request.Scheme}://{request.Host}{request.PathBase}{prefix}";
    }

    /// <summary>Refuses with 406 a request that wants only a format the server does not produce (XML).</summary>
    public static void RequireJsonResponse(HttpContext context)
    {
        var format = context.Request.Query["_format"].ToString();
        if (format.Length > 0)
        {
            if (!JsonFormats.Any(f => format.StartsWith(f, StringComparison.OrdinalIgnoreCase)))
            {
                throw new FhirException(406, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                    $"_format '{format}' is not supported; this server speaks FHIR JSON only.", "_format"));
            }
            return;
        }
        var accept = context.Request.GetTypedHeaders().Accept;
        if (accept.Count > 0 && !accept.Any(a => a.MediaType.Value is "*/*" or "application/*"
                || JsonMediaTypes.Contains(a.MediaType.Value, StringComparer.OrdinalIgnoreCase)))
        {
            throw new FhirException(406, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                $"Accept '{context.Request.Headers.Accept}' cannot be met; this server speaks FHIR JSON only."));
        }
    }

    /// <summary>Reads and parses the body as a FHIR JSON resource (415 for other media types, 400 for bad JSON).</summary>
    public static async Task<Resource> ReadResourceAsync(HttpContext context, string? expectedType) =>
        Core.Fhir.FhirJson.Parse(await ReadJsonBodyAsync(context), expectedType);

    /// <summary>Reads an operation's Parameters body, with the bytes as received.</summary>
    public static async Task<(Parameters Parameters, byte[] Raw)> ReadParametersAsync(HttpContext context)
    {
        var raw = await ReadJsonBodyAsync(context);
        return (Core.Fhir.FhirJson.Parse(raw, "Parameters") as Parameters ?? throw FhirException.BadRequest("The body must be a Parameters resource."), raw);
    }

    /// <summary>Reads the body bytes of a FHIR JSON request (415 for other media types).</summary>
    public static async Task<byte[]> ReadJsonBodyAsync(HttpContext context)
    {
        var contentType = context.Request.ContentType;
        var mediaType = MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType.Value : null;
        if (mediaType is null || !JsonMediaTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            throw new FhirException(415, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                $"Content-Type '{contentType}' is not supported; send {FhirJson}."));
        }
        // A body of announced length is read into one array of that length (a growing buffer allocated 3.5 times the
        // body); only up to a limit, so that a length announced and never sent does not hold memory.
        if (context.Request.ContentLength is > 0 and <= PresizedBodyLimit and var length)
        {
            var body = new byte[length];
            try
            {
                await context.Request.Body.ReadExactlyAsync(body, context.RequestAborted);
            }
            catch (EndOfStreamException)
            {
                throw FhirException.BadRequest($"The body ended before the {length} bytes its Content-Length announced.",
                    type: OperationOutcome.IssueType.Incomplete);
            }
            return body;
        }
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    private const long PresizedBodyLimit = 1 << 20;

    /// <summary>The client's <c>Prefer: return=</c> choice.</summary>
    public static ReturnPreference Return(HttpContext context)
    {
        foreach (var value in context.Request.Headers["Prefer"].ToString().Split([',', ';'], StringSplitOptions.TrimEntries))
        {
            switch (value)
            {
                case "return=minimal": return ReturnPreference.Minimal;
                case "return=OperationOutcome": return ReturnPreference.OperationOutcome;
                case "return=representation": return ReturnPreference.Representation;
            }
        }
        return ReturnPreference.Representation;
    }

    /// <summary>True when the client asked for strict handling of unknown search parameters.</summary>
    public static bool StrictHandling(HttpContext context) =>
        context.Request.Headers["Prefer"].ToString().Contains("handling=strict", StringComparison.Ordinal);

    /// <summary>The version named by <c>If-Match</c> (<c>W/"3"</c> or <c>"3"</c>), or null when absent.</summary>
    public static int? IfMatchVersion(HttpContext context)
    {
        var header = context.Request.Headers.IfMatch.ToString();
        if (header.Length == 0)
        {
            return null;
        }
        var text = header.StartsWith("W/", StringComparison.Ordinal) ? header[2..] : header;
        text = text.Trim('"');
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw FhirException.BadRequest($"If-Match '{header}' is not a version ETag such as W/\"1\".");
    }

    /// <summary>Sets ETag and Last-Modified for a stored version.</summary>
    public static void SetVersionHeaders(HttpContext context, StoredResource stored)
    {
        context.Response.Headers.ETag = ETag(stored.Version);
        context.Response.Headers.LastModified = stored.LastUpdated.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A weak ETag for a version.</summary>
    public static string ETag(int version) => $"W/\"{version}\"";

    /// <summary>Writes a resource as the response body.</summary>
    public static async System.Threading.Tasks.Task WriteResourceAsync(HttpContext context, Resource resource)
    {
        context.Response.ContentType = FhirJson + "; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter, Core.Fhir.FhirJson.WriterOptions(Pretty(context)));
        Core.Fhir.FhirJson.Write(resource, writer);
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes ready FHIR JSON as the response body (re-parsed only for <c>_pretty</c>).</summary>
    public static async System.Threading.Tasks.Task WriteJsonAsync(HttpContext context, ReadOnlyMemory<byte> json)
    {
        if (Pretty(context))
        {
            await WriteResourceAsync(context, Core.Fhir.FhirJson.Parse(json.Span));
            return;
        }
        context.Response.ContentType = FhirJson + "; charset=utf-8";
        await context.Response.BodyWriter.WriteAsync(json, context.RequestAborted);
    }

    /// <summary>Writes stored JSON as the response body without re-parsing it (unless pretty printing is asked for).</summary>
    public static System.Threading.Tasks.Task WriteStoredAsync(HttpContext context, StoredResource stored) =>
        WriteJsonAsync(context, stored.Json);

    private static bool Pretty(HttpContext context) => context.Request.Query["_pretty"] == "true";
}
