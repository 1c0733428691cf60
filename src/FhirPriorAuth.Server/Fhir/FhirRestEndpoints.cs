using System.Globalization;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Server.Security;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.WebUtilities;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Fhir;

/// <summary>The FHIR RESTful API: metadata, CRUD, history and search for every owned resource type.</summary>
public static class FhirRestEndpoints
{
    /// <summary>Maps the FHIR REST API under <paramref name="prefix"/> (e.g. <c>/fhir</c>), a base serving PAS <paramref name="pas"/>.</summary>
    public static RouteGroupBuilder MapFhirRest(this IEndpointRouteBuilder app, string prefix, PasVersion pas)
    {
        var fhir = app.MapGroup(prefix).AddEndpointFilter(async (context, next) =>
        {
            FhirHttp.RequireJsonResponse(context.HttpContext);
            return await next(context);
        });

        fhir.MapGet("/metadata", (HttpContext http, CapabilityStatementBuilder capabilities) =>
            FhirHttp.WriteResourceAsync(http, capabilities.Build(FhirHttp.BaseUrl(http, prefix), pas)))
            .RequireCors(SecuritySetup.AnyOriginPolicy);

        fhir.MapGet("/_history", (HttpContext http, ResourceInteractions fhir) => History(http, fhir, prefix, null, null))
            .Performs(FhirAction.SystemHistory, "*");
        fhir.MapPost("/", () => Task.FromException(FhirException.BadRequest(
            "Batch and transaction Bundles are not supported; send each resource to its type's endpoint.",
            type: OperationOutcome.IssueType.NotSupported)));

        fhir.MapGet("/{type}", (HttpContext http, string type, ResourceInteractions fhir) =>
            Search(http, fhir, prefix, type, Pairs(http.Request.Query))).Performs(FhirAction.Search);
        fhir.MapPost("/{type}/_search", async (HttpContext http, string type, ResourceInteractions fhir) =>
        {
            var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted) : null;
            await Search(http, fhir, prefix, type, form is null ? Pairs(http.Request.Query) : Pairs(http.Request.Query).Concat(Pairs(form)));
        }).Performs(FhirAction.Search);
        fhir.MapPost("/{type}", Create).Performs(FhirAction.Create);
        fhir.MapGet("/{type}/_history", (HttpContext http, string type, ResourceInteractions fhir) => History(http, fhir, prefix, type, null))
            .Performs(FhirAction.TypeHistory);

        fhir.MapGet("/{type}/{id}", Read).Performs(FhirAction.Read);
        fhir.MapPut("/{type}/{id}", Update).Performs(FhirAction.Update);
        fhir.MapDelete("/{type}/{id}", async (string type, string id, ResourceInteractions fhir, HttpContext http) =>
        {
            RequireChangeable(type);
            await fhir.DeleteAsync(type, id, http.RequestAborted, http.Access().Scope);
            http.Response.StatusCode = StatusCodes.Status204NoContent;
        }).Performs(FhirAction.Delete);
        fhir.MapGet("/{type}/{id}/_history", (HttpContext http, string type, string id, ResourceInteractions fhir) => History(http, fhir, prefix, type, id))
            .Performs(FhirAction.InstanceHistory);
        fhir.MapGet("/{type}/{id}/_history/{version}", async (HttpContext http, string type, string id, string version, ResourceInteractions fhir) =>
        {
            var stored = await fhir.VReadAsync(type, id, version, http.RequestAborted, http.Access().Scope);
            FhirHttp.SetVersionHeaders(http, stored);
            await FhirHttp.WriteStoredAsync(http, stored);
        }).Performs(FhirAction.VRead);
        return fhir;

        async Task Create(HttpContext http, string type, ResourceInteractions fhir)
        {
            fhir.RequireType(type);
            RequireChangeable(type);
            var resource = await FhirHttp.ReadResourceAsync(http, type);
            var ifNoneExist = http.Request.Headers["If-None-Exist"].ToString();
            var result = await fhir.CreateAsync(type, resource, ifNoneExist.Length == 0 ? null : ifNoneExist, http.RequestAborted, http.Access().Scope);
            await WriteWriteResult(http, prefix, result, result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }

        async Task Update(HttpContext http, string type, string id, ResourceInteractions fhir)
        {
            fhir.RequireType(type);
            RequireChangeable(type);
            ResourceInteractions.RequireId(id);
            var resource = await FhirHttp.ReadResourceAsync(http, type);
            var result = await fhir.UpdateAsync(type, id, resource, FhirHttp.IfMatchVersion(http), http.RequestAborted, http.Access().Scope);
            await WriteWriteResult(http, prefix, result, result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }

        async Task Read(HttpContext http, string type, string id, ResourceInteractions fhir)
        {
            var stored = await fhir.ReadAsync(type, id, http.RequestAborted, http.Access().Scope);
            FhirHttp.SetVersionHeaders(http, stored);
            await FhirHttp.WriteStoredAsync(http, stored);
        }
    }

    /// <summary>The audit trail is append-only: only the server writes AuditEvents.</summary>
    private static void RequireChangeable(string type)
    {
        if (type == "AuditEvent")
        {
            throw new FhirException(StatusCodes.Status405MethodNotAllowed, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                "AuditEvents are written by the server and cannot be created, changed or deleted."));
        }
    }

    /// <summary>Answers a create or update: status, version headers, Location and the body the client prefers.</summary>
    internal static async Task WriteWriteResult(HttpContext http, string prefix, WriteResult result, int status)
    {
        var stored = result.Resource;
        if (http.GetRouteValue("id") is null)
        {
            http.Features.Get<AuditDetails>()?.Add($"{stored.ResourceType}/{stored.Id}");
        }
        http.Response.StatusCode = status;
        FhirHttp.SetVersionHeaders(http, stored);
        http.Response.Headers.Location = $"{FhirHttp.BaseUrl(http, prefix)}/{stored.ResourceType}/{stored.Id}/_history/{stored.Version}";
        switch (FhirHttp.Return(http))
        {
            case FhirHttp.ReturnPreference.Minimal:
                return;
            case FhirHttp.ReturnPreference.OperationOutcome:
                await FhirHttp.WriteResourceAsync(http, Outcomes.Information(result.Created
                    ? $"{stored.ResourceType}/{stored.Id} version {stored.Version} was written."
                    : $"{stored.ResourceType}/{stored.Id} already matches the If-None-Exist criteria; nothing was written."));
                return;
            default:
                await FhirHttp.WriteStoredAsync(http, stored);
                return;
        }
    }

    private static async Task Search(HttpContext http, ResourceInteractions fhir, string prefix, string type,
        IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var pairs = parameters.ToList();
        var (page, query, ignored) = await fhir.SearchAsync(type, pairs, FhirHttp.StrictHandling(http), http.RequestAborted, http.Access().Scope);
        var baseUrl = FhirHttp.BaseUrl(http, prefix);
        var kept = pairs.Where(p => p.Key != "ct" && !ignored.Contains(p.Key)).ToList();

        var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(baseUrl, type, kept) });
        if (page.Next is { } next)
        {
            var nextPairs = kept.Where(p => p.Key != "_count")
                .Append(KeyValuePair.Create("_count", query.Count.ToString(CultureInfo.InvariantCulture)))
                .Append(KeyValuePair.Create("ct", next.ToString()));
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(baseUrl, type, nextPairs) });
        }
        foreach (var stored in page.Resources)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/{stored.ResourceType}/{stored.Id}",
                Resource = Core.Fhir.FhirJson.Parse(stored.Json.Span),
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            });
        }
        if (ignored.Count > 0)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                Resource = Outcomes.Single(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.NotSupported,
                    $"Ignored unknown search parameters: {string.Join(", ", ignored)}.", null),
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Outcome },
            });
        }
        await FhirHttp.WriteResourceAsync(http, bundle);
    }

    private static async Task History(HttpContext http, ResourceInteractions fhir, string prefix, string? type, string? id)
    {
        var pairs = Pairs(http.Request.Query).ToList();
        var page = await fhir.HistoryAsync(type, id, pairs, http.RequestAborted, http.Access().Scope);
        var baseUrl = FhirHttp.BaseUrl(http, prefix);
        var path = string.Join('/', new[] { type, id, "_history" }.Where(s => s is not null));

        var bundle = new Bundle { Type = Bundle.BundleType.History };
        var kept = pairs.Where(p => p.Key != "ct").ToList();
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(baseUrl, path, kept) });
        if (page.Next is { } next)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(baseUrl, path, kept.Append(KeyValuePair.Create("ct", next.ToString()))) });
        }
        foreach (var stored in page.Resources)
        {
            var url = $"{stored.ResourceType}/{stored.Id}";
            var (method, status) = stored.IsDeleted ? (Bundle.HTTPVerb.DELETE, "204")
                : stored.Version == 1 ? (Bundle.HTTPVerb.POST, "201") : (Bundle.HTTPVerb.PUT, "200");
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/{url}",
                Resource = stored.IsDeleted ? null : Core.Fhir.FhirJson.Parse(stored.Json.Span),
                Request = new Bundle.RequestComponent { Method = method, Url = method == Bundle.HTTPVerb.POST ? stored.ResourceType : url },
                Response = new Bundle.ResponseComponent
                {
                    Status = status,
                    Etag = FhirHttp.ETag(stored.Version),
                    LastModified = stored.LastUpdated,
                },
            });
        }
        await FhirHttp.WriteResourceAsync(http, bundle);
    }

    /// <summary>Query or form parameters as ordered pairs, repeated keys kept (FHIR ANDs them).</summary>
    private static IEnumerable<KeyValuePair<string, string>> Pairs(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> values) =>
        values.SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v ?? "")));

    private static string Link(string baseUrl, string path, IEnumerable<KeyValuePair<string, string>> pairs) =>
        QueryHelpers.AddQueryString($"{baseUrl}/{path}", pairs.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value)));
}
