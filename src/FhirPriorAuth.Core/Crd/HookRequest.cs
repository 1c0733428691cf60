using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Crd;

/// <summary>The hooks CRD serves and what each is for (CRD 2.0.1 hooks.md).</summary>
public static class CrdHooks
{
    /// <summary>Hooks whose answer always carries a Coverage Information system action.</summary>
    public static readonly IReadOnlySet<string> Primary = new HashSet<string>(StringComparer.Ordinal) { "appointment-book", "order-sign", "order-dispatch" };

    /// <summary>The services, one per hook, with the prefetch templates the EHR should fill.</summary>
    public static IReadOnlyList<CdsService> Services { get; } =
    [
        Service("order-sign", "Coverage requirements when an order is signed", "Whether the draft orders are covered, need prior authorization or documentation, under the member's plan.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage, ["draftOrders"] = DraftOrders }),
        Service("order-select", "Coverage requirements when an order is selected", "Early coverage guidance for the orders being selected; the full answer comes at order-sign.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage }),
        Service("order-dispatch", "Coverage requirements when an order is dispatched", "Whether the dispatched order is covered and needs prior authorization for the chosen performer.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage, ["order"] = "{{context.order}}", ["performer"] = "{{context.performer}}" }),
        Service("appointment-book", "Coverage requirements when an appointment is booked", "Whether the proposed appointments' services are covered and need prior authorization.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage }),
        Service("encounter-start", "Coverage guidance when an encounter starts", "Reminders of the member's coverage and the plan's requirements at the start of an encounter.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage, ["encounter"] = "Encounter/{{context.encounterId}}" }),
        Service("encounter-discharge", "Coverage guidance at discharge", "Coverage reminders for what follows a discharge.",
            new() { ["patient"] = "Patient/{{context.patientId}}", ["coverage"] = Coverage, ["encounter"] = "Encounter/{{context.encounterId}}" }),
    ];

    private const string Coverage = "Coverage?patient={{context.patientId}}&status=active";
    private const string DraftOrders = "ServiceRequest?_id={{context.draftOrders.ServiceRequest.id}}";

    /// <summary>The service with this id, or null.</summary>
    public static CdsService? Find(string id) => Services.FirstOrDefault(s => s.Id == id);

    private static CdsService Service(string hook, string title, string description, Dictionary<string, string> prefetch) =>
        new(hook, "crd-" + hook, title, description, prefetch, new Dictionary<string, object>
        {
            [CrdUrls.ConfigurationOptions] = new object[]
            {
                new { code = "coverage", type = "boolean", name = "Coverage information", description = "Return the Coverage Information system action and coverage cards.", @default = true },
                new { code = "max-cards", type = "integer", name = "Maximum cards", description = "The most cards to return.", @default = 10 },
            },
        });
}

/// <summary>The SMART token an EHR gives the service to read its FHIR API.</summary>
/// <param name="AccessToken">The bearer token.</param>
/// <param name="Scope">Its scopes.</param>
/// <param name="Patient">The patient it is limited to, if any.</param>
public sealed record FhirAuthorization(string AccessToken, string? Scope, string? Patient);

/// <summary>
/// A hook call read and checked: its hook, instance, context, prefetched resources and the EHR's FHIR server. A body
/// that is not JSON is a 400; one that breaks CDS Hooks or the hook's context (a missing field, a resource that is not
/// FHIR) is a 422.
/// </summary>
public sealed class HookRequest
{
    private static readonly string[] StringFields = ["userId", "patientId", "encounterId", "order", "performer"];
    private static readonly string[] StringArrayFields = ["selections", "dispatchedOrders"];
    private static readonly string[] ResourceFields = ["draftOrders", "appointments", "task"];

    private static readonly Dictionary<string, string[]> RequiredContext = new(StringComparer.Ordinal)
    {
        ["order-sign"] = ["userId", "patientId", "draftOrders"],
        ["order-select"] = ["userId", "patientId", "selections", "draftOrders"],
        ["order-dispatch"] = ["patientId", "performer"],
        ["appointment-book"] = ["userId", "patientId", "appointments"],
        ["encounter-start"] = ["userId", "patientId", "encounterId"],
        ["encounter-discharge"] = ["userId", "patientId", "encounterId"],
    };

    /// <summary>The hook.</summary>
    public required string Hook { get; init; }

    /// <summary>The call's unique id.</summary>
    public required string HookInstance { get; init; }

    /// <summary>The EHR's FHIR base, if it gave one.</summary>
    public string? FhirServer { get; init; }

    /// <summary>The token for <see cref="FhirServer"/>, if it gave one.</summary>
    public FhirAuthorization? Authorization { get; init; }

    /// <summary>The hook's context.</summary>
    public required JsonObject Context { get; init; }

    /// <summary>The patient's id on the EHR.</summary>
    public string PatientId => ContextText("patientId") ?? "";

    /// <summary>Resources in the context (draft orders, appointments, the dispatch Task), by the context field that holds them.</summary>
    public required IReadOnlyDictionary<string, Resource> ContextFields { get; init; }

    /// <summary>Every resource in the context, Bundles unpacked.</summary>
    public IEnumerable<Resource> ContextResources => ContextFields.Values.SelectMany(Unpack);

    /// <summary>The resources of a context field: a Bundle's entries, or the resource itself.</summary>
    public IEnumerable<Resource> ContextEntries(string field) => ContextFields.TryGetValue(field, out var resource) ? Unpack(resource) : [];

    /// <summary>A context field that is a string (an id or a reference), or null.</summary>
    public string? ContextText(string field) => Text(Context, field);

    /// <summary>A context field that is an array of strings (references), or empty.</summary>
    public IReadOnlyList<string> ContextTexts(string field) =>
        Context[field] is JsonArray array ? array.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToList() : [];

    /// <summary>Prefetched resources (Bundles unpacked), and the keys the EHR answered.</summary>
    public required IReadOnlyList<Resource> Prefetched { get; init; }

    /// <summary>The prefetch keys the EHR filled (a key with <c>null</c> means "there is none").</summary>
    public required IReadOnlySet<string> PrefetchKeys { get; init; }

    /// <summary>The client's CRD configuration choices.</summary>
    public required IReadOnlyDictionary<string, JsonNode?> Configuration { get; init; }

    /// <summary>Whether Coverage Information is wanted (configuration <c>coverage</c>, on unless turned off).</summary>
    public bool WantsCoverage => Configuration.GetValueOrDefault("coverage") is not JsonValue v || !v.TryGetValue<bool>(out var b) || b;

    /// <summary>How many cards at most (configuration <c>max-cards</c>, 10 unless set).</summary>
    public int MaxCards => Configuration.GetValueOrDefault("max-cards") is JsonValue v && v.TryGetValue<int>(out var n) && n >= 0 ? n : 10;

    /// <summary>Reads a call to <paramref name="service"/>.</summary>
    public static HookRequest Read(ReadOnlySpan<byte> body, CdsService service)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(body) as JsonObject ?? throw FhirException.Unprocessable("The body must be a JSON object.", "$");
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The body is not JSON: {e.Message}", type: OperationOutcome.IssueType.Structure);
        }
        var hook = Text(root, "hook") ?? throw FhirException.Unprocessable("'hook' is required.", "hook");
        if (hook != service.Hook)
        {
            throw FhirException.Unprocessable($"Service '{service.Id}' answers '{service.Hook}', not '{hook}'.", "hook");
        }
        var instance = Text(root, "hookInstance") ?? throw FhirException.Unprocessable("'hookInstance' is required.", "hookInstance");
        var context = root["context"] as JsonObject ?? throw FhirException.Unprocessable("'context' is required and must be an object.", "context");
        foreach (var field in RequiredContext[hook].Where(f => context[f] is null))
        {
            throw FhirException.Unprocessable($"The {hook} context needs '{field}'.", "context." + field);
        }
        foreach (var (field, node) in context)
        {
            var expected = StringFields.Contains(field) ? JsonValueKind.String
                : StringArrayFields.Contains(field) ? JsonValueKind.Array
                : ResourceFields.Contains(field) ? JsonValueKind.Object
                : JsonValueKind.Undefined;
            // Unrecognized context elements are ignored (CRD); known ones must have their CDS Hooks type.
            if (expected != JsonValueKind.Undefined && (node?.GetValueKind() != expected
                || (expected == JsonValueKind.Array && node.AsArray().Any(e => e?.GetValueKind() != JsonValueKind.String))
                || (expected == JsonValueKind.Object && node["resourceType"]?.GetValueKind() != JsonValueKind.String)))
            {
                throw FhirException.Unprocessable($"context.{field} must be {(expected == JsonValueKind.String ? "a string" : expected == JsonValueKind.Array ? "an array of strings" : "a FHIR resource")}.",
                    "context." + field);
            }
        }
        if (hook == "order-dispatch" && context["order"] is null && context["dispatchedOrders"] is null)
        {
            throw FhirException.Unprocessable("The order-dispatch context needs 'order' (or 'dispatchedOrders').", "context.order");
        }
        var fhirServer = Text(root, "fhirServer");
        FhirAuthorization? authorization = null;
        if (root["fhirAuthorization"] is JsonObject auth)
        {
            if (fhirServer is null)
            {
                throw FhirException.Unprocessable("'fhirAuthorization' is given without 'fhirServer'.", "fhirServer");
            }
            if (Text(auth, "access_token") is not { } token || !string.Equals(Text(auth, "token_type"), "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                throw FhirException.Unprocessable("'fhirAuthorization' needs 'access_token' and 'token_type' Bearer.", "fhirAuthorization");
            }
            authorization = new FhirAuthorization(token, Text(auth, "scope"), Text(auth, "patient"));
        }
        if (fhirServer is not null && !Uri.TryCreate(fhirServer, UriKind.Absolute, out _))
        {
            throw FhirException.Unprocessable($"'fhirServer' {fhirServer} is not an absolute URL.", "fhirServer");
        }

        var contextFields = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var (name, node) in context)
        {
            if (node is JsonObject o && o["resourceType"] is not null)
            {
                contextFields[name] = ParseResource(o, "context." + name);
            }
        }
        var prefetched = new List<Resource>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (root["prefetch"] is JsonObject prefetch)
        {
            foreach (var (key, node) in prefetch)
            {
                keys.Add(key);
                if (node is JsonObject o && o["resourceType"] is not null)
                {
                    prefetched.AddRange(Unpack(ParseResource(o, "prefetch." + key)));
                }
            }
        }
        var configuration = (root["extension"]?[CrdUrls.Configuration] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value) ?? [];
        return new HookRequest
        {
            Hook = hook,
            HookInstance = instance,
            FhirServer = fhirServer?.TrimEnd('/'),
            Authorization = authorization,
            Context = context,
            ContextFields = contextFields,
            Prefetched = prefetched,
            PrefetchKeys = keys,
            Configuration = configuration,
        };
    }

    private static IEnumerable<Resource> Unpack(Resource resource) =>
        resource is Bundle bundle ? bundle.Entry.Select(e => e.Resource).OfType<Resource>().Where(r => r is not OperationOutcome) : [resource];

    /// <summary>
    /// Leniently: EHRs send resources with elements of other FHIR versions (Inferno's appointment fixture does), and the
    /// service reads what it understands. JSON that is not a resource at all is refused.
    /// </summary>
    private static Resource ParseResource(JsonObject json, string where)
    {
        Resource resource;
        try
        {
            resource = FhirJson.ParseBestEffort(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()));
        }
        catch (FhirException e)
        {
            throw FhirException.Unprocessable($"{where} is not a FHIR resource: {e.Message}", where);
        }
        try
        {
            // What was kept of a broken structure (an object where an array belongs) can fail when read; find out now.
            _ = FhirJson.ToBytes(resource);
            _ = Unpack(resource).Count();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or InvalidCastException or ArgumentException)
        {
            throw FhirException.Unprocessable($"{where} is not a FHIR resource: its structure is broken ({e.Message}).", where);
        }
        return resource;
    }

    private static string? Text(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
