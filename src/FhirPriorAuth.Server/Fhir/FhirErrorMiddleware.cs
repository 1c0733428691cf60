using System.Data.Common;
using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Storage;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Diagnostics;

namespace FhirPriorAuth.Server.Fhir;

/// <summary>
/// Gives every request a correlation id (response header and log scope) and turns every failure into an
/// OperationOutcome with the right status. No stack trace ever reaches a client.
/// </summary>
public sealed partial class FhirErrorMiddleware(RequestDelegate next, SqlDialect database, ILogger<FhirErrorMiddleware> log)
{
    /// <summary>The header carrying the correlation id, in and out.</summary>
    public const string CorrelationHeader = "X-Correlation-Id";

    /// <summary>Runs the request with a correlation id and error mapping.</summary>
    public async System.Threading.Tasks.Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[CorrelationHeader].ToString();
        // Time-ordered (UUID v7): it is a searchable identifier of the request's AuditEvent, and random ones put every
        // submission's index rows on pages of their own (docs/performance.md, "Seventeenth pass").
        var correlationId = SafeId().IsMatch(incoming) ? incoming : Guid.CreateVersion7().ToString("N");
        context.TraceIdentifier = correlationId;
        context.Response.Headers[CorrelationHeader] = correlationId;

        using var scope = log.BeginScope("CorrelationId:{CorrelationId}", correlationId);
        try
        {
            await next(context);
        }
        catch (FhirException e)
        {
            log.LogInformation("{Method} {Path} answered {Status}: {Message}", context.Request.Method, context.Request.Path, e.Status, e.Message);
            await WriteAsync(context, e.Status, e.Outcome);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own refusals: body over the limit (413), malformed framing, client too slow.
            var outcome = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Outcomes.Error(OperationOutcome.IssueType.TooCostly, "The request body is larger than this server accepts.")
                : Outcomes.Error(OperationOutcome.IssueType.Invalid, e.Message);
            log.LogInformation("{Method} {Path} refused with {Status}: {Message}", context.Request.Method, context.Request.Path, e.StatusCode, e.Message);
            await WriteAsync(context, e.StatusCode, outcome);
        }
        catch (DbException e) when (database.IsTransient(e))
        {
            // The database stayed busy through the store's own retries (a long maintenance statement, a failover):
            // nothing was written, and the same request can simply be sent again.
            log.LogWarning(e, "{Method} {Path} found the database busy", context.Request.Method, context.Request.Path);
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, Outcomes.Error(OperationOutcome.IssueType.Transient,
                "The database is busy; nothing was changed. Send the request again in a few seconds."), retryAfterSeconds: 5);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception e)
        {
            log.LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, Outcomes.Error(OperationOutcome.IssueType.Exception,
                $"The server failed to process the request. Quote correlation id {correlationId} to the operator."));
        }
    }

    /// <summary>Gives the bare status codes ASP.NET produces itself (404 no route, 405 wrong method) an OperationOutcome.</summary>
    public static System.Threading.Tasks.Task WriteStatusOutcomeAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var outcome = context.Response.StatusCode switch
        {
            404 => Outcomes.Error(OperationOutcome.IssueType.NotFound, $"There is nothing at {context.Request.Path}."),
            405 => Outcomes.Error(OperationOutcome.IssueType.NotSupported, $"{context.Request.Method} is not allowed on {context.Request.Path}."),
            var code => Outcomes.Error(OperationOutcome.IssueType.Processing, $"The request failed with HTTP {code}."),
        };
        return FhirHttp.WriteResourceAsync(context, outcome);
    }

    private static async System.Threading.Tasks.Task WriteAsync(HttpContext context, int status, OperationOutcome outcome, int? retryAfterSeconds = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        var correlationId = context.TraceIdentifier;
        context.Response.Clear();
        if (retryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (status == StatusCodes.Status401Unauthorized)
        {
            // RFC 6750: a 401 names the scheme the caller must use.
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        context.Response.Headers[CorrelationHeader] = correlationId;
        context.Response.StatusCode = status;
        await FhirHttp.WriteResourceAsync(context, outcome);
    }

    [GeneratedRegex(@"^[A-Za-z0-9\-_.]{1,64}$")]
    private static partial Regex SafeId();
}
