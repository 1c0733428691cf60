using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Search;

/// <summary>
/// The resource types the server owns and the search parameters it indexes for each. Standard parameters take their
/// FHIRPath from the SDK's R4 definitions, so the spec is not retyped here; only parameters R4 lacks are defined below.
/// </summary>
public sealed partial class SearchParameterRegistry
{
    // Chosen for what PAS, CRD and follow-up work search by; every write indexes these, so the list stays deliberate.
    private static readonly Dictionary<string, string[]> StandardParameters = new()
    {
        ["Patient"] = ["identifier", "name", "family", "given", "birthdate", "gender", "active"],
        ["Coverage"] = ["identifier", "patient", "beneficiary", "payor", "subscriber", "policy-holder", "status", "type"],
        ["Organization"] = ["identifier", "name", "active", "type"],
        ["Practitioner"] = ["identifier", "name", "family", "given", "active"],
        ["PractitionerRole"] = ["identifier", "practitioner", "organization", "role", "specialty", "active"],
        ["Claim"] = ["identifier", "patient", "use", "created", "provider", "insurer", "status", "priority", "enterer", "facility", "encounter"],
        ["ClaimResponse"] = ["identifier", "patient", "request", "outcome", "status", "created", "insurer", "requestor", "use", "disposition"],
        ["Task"] = ["identifier", "group-identifier", "patient", "subject", "status", "business-status", "focus", "owner", "code", "requester", "authored-on", "modified", "intent", "priority", "based-on", "part-of", "period"],
        ["DocumentReference"] = ["identifier", "patient", "subject", "type", "category", "status", "date", "author", "custodian", "period", "related"],
        ["CommunicationRequest"] = ["identifier", "patient", "subject", "status", "category", "based-on", "requester", "recipient", "sender", "authored"],
        ["Subscription"] = ["status", "url", "criteria", "type", "payload"],
        ["Provenance"] = ["target", "recorded", "agent", "entity"],
        ["AuditEvent"] = ["date", "entity", "entity-type", "outcome", "type", "subtype", "action", "address", "altid"],
    };

    private const string CustomBase = "urn:fhirpriorauth:SearchParameter:";

    private static readonly SearchParameterDefinition[] CustomParameters =
    [
        // R4 has no Task "for"; PAS and CDex follow-up clients search Tasks by the patient or member they are for.
        new("Task", "for", SearchParamType.Reference, "Task.for", CustomBase + "Task-for"),
        // When a Task's decision clock runs out (CMS-0057-F): work lists filter and sort by it (_sort=due).
        new("Task", "due", SearchParamType.Date, "Task.restriction.period.end", CustomBase + "Task-due"),
        // R4's agent is a reference; our agents are clients and organizations known by identifier only.
        new("AuditEvent", "agent", SearchParamType.Token, "AuditEvent.agent.who.identifier", CustomBase + "AuditEvent-agent"),
        // Entities known by identifier only, such as the request's correlation id.
        new("AuditEvent", "entity-identifier", SearchParamType.Token, "AuditEvent.entity.what.identifier", CustomBase + "AuditEvent-entity-identifier"),
    ];

    private readonly FrozenDictionary<string, FrozenDictionary<string, SearchParameterDefinition>> _byType;

    /// <summary>The registry of the server's owned types.</summary>
    public static SearchParameterRegistry Default { get; } = new();

    private SearchParameterRegistry()
    {
        var byType = new Dictionary<string, FrozenDictionary<string, SearchParameterDefinition>>();
        foreach (var (type, names) in StandardParameters)
        {
            var parameters = new Dictionary<string, SearchParameterDefinition>
            {
                [SearchParameterNames.Id] = new(type, SearchParameterNames.Id, SearchParamType.Token, "id",
                    "http://hl7.org/fhir/SearchParameter/Resource-id"),
                [SearchParameterNames.LastUpdated] = new(type, SearchParameterNames.LastUpdated, SearchParamType.Date,
                    "meta.lastUpdated", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"),
                [SearchParameterNames.Security] = new(type, SearchParameterNames.Security, SearchParamType.Token,
                    "meta.security", "http://hl7.org/fhir/SearchParameter/Resource-security"),
            };
            foreach (var name in names)
            {
                var sdk = ModelInfo.SearchParameters.SingleOrDefault(p => p.Resource == type && p.Name == name)
                    ?? throw new InvalidOperationException($"R4 has no search parameter {type}.{name}.");
                var (expression, target) = SplitResolveFilter(sdk.Expression!);
                parameters[name] = new(type, name, sdk.Type, expression, sdk.Url!, target);
            }
            foreach (var custom in CustomParameters.Where(p => p.ResourceType == type))
            {
                parameters[custom.Name] = custom;
            }
            byType[type] = parameters.ToFrozenDictionary();
        }
        _byType = byType.ToFrozenDictionary();
    }

    /// <summary>The resource types the server stores and serves, in a stable order.</summary>
    public IReadOnlyList<string> ResourceTypes => StandardParameters.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>True when the server owns this resource type.</summary>
    public bool IsSupported(string resourceType) => _byType.ContainsKey(resourceType);

    /// <summary>All parameters of a type, including <c>_id</c>, <c>_lastUpdated</c> and <c>_security</c>.</summary>
    public IReadOnlyCollection<SearchParameterDefinition> For(string resourceType) =>
        _byType.TryGetValue(resourceType, out var p) ? p.Values : [];

    /// <summary>Looks a parameter up by type and code.</summary>
    public SearchParameterDefinition? Find(string resourceType, string name) =>
        _byType.TryGetValue(resourceType, out var p) && p.TryGetValue(name, out var d) ? d : null;

    /// <summary>
    /// Firely's FHIRPath cannot <c>resolve()</c> without a resolver, so <c>X.where(resolve() is T)</c> becomes <c>X</c>
    /// plus a target-type filter applied by the indexer.
    /// </summary>
    private static (string Expression, string? Target) SplitResolveFilter(string expression)
    {
        var m = ResolveFilter().Match(expression);
        return m.Success ? (ResolveFilter().Replace(expression, ""), m.Groups[1].Value) : (expression, null);
    }

    [GeneratedRegex(@"\.where\(resolve\(\) is (\w+)\)")]
    private static partial Regex ResolveFilter();
}
