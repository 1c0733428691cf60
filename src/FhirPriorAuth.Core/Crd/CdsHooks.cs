using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FhirPriorAuth.Core.Crd;

/// <summary>Canonical URLs and codes of CRD 2.0.1 and the CDS Hooks 2.0 extensions it defines.</summary>
public static class CrdUrls
{
    /// <summary>The coverage-information extension on orders, appointments and encounters.</summary>
    public const string CoverageInformation = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information";

    /// <summary>CRD 2.0.1's code system for coverage-information codes and card types.</summary>
    public const string TempCodes = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp";

    /// <summary>The discovery extension listing the configuration options a service supports.</summary>
    public const string ConfigurationOptions = "davinci-crd.configuration-options";

    /// <summary>The request extension carrying the client's choice of those options.</summary>
    public const string Configuration = "davinci-crd.configuration";

    /// <summary>The card extension naming the orders a card is about.</summary>
    public const string AssociatedResource = "davinci-crd.associated-resource";
}

/// <summary>JSON conventions of CDS Hooks: camelCase, no null members.</summary>
public static class CdsJson
{
    /// <summary>Serializer options for CDS Hooks documents.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>A CDS Service as discovery describes it.</summary>
/// <param name="Hook">The hook it answers.</param>
/// <param name="Id">Its id, the last segment of its URL.</param>
/// <param name="Title">A human-friendly name.</param>
/// <param name="Description">What it does.</param>
/// <param name="Prefetch">Prefetch templates by key.</param>
/// <param name="Extension">CRD's discovery extensions (configuration options).</param>
public sealed record CdsService(string Hook, string Id, string Title, string Description, IReadOnlyDictionary<string, string> Prefetch,
    IReadOnlyDictionary<string, object>? Extension = null);

/// <summary>The answer to a hook call.</summary>
/// <param name="Cards">Cards for the clinician (empty when there is nothing to say).</param>
/// <param name="SystemActions">Actions the EHR applies itself (CRD's Coverage Information).</param>
public sealed record CdsResponse(IReadOnlyList<Card> Cards, IReadOnlyList<CdsAction>? SystemActions);

/// <summary>A CDS Hooks card.</summary>
/// <param name="Uuid">Its id, echoed in feedback.</param>
/// <param name="Summary">One line, under 140 characters.</param>
/// <param name="Indicator"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
/// <param name="Source">Who says so, and CRD's card type as topic.</param>
/// <param name="Detail">Markdown detail.</param>
/// <param name="Links">Links (External Reference cards).</param>
/// <param name="Suggestions">Suggestions (then <paramref name="SelectionBehavior"/> is required).</param>
/// <param name="SelectionBehavior"><c>at-most-one</c> or <c>any</c>.</param>
/// <param name="Extension">CRD card extensions (the associated orders).</param>
public sealed record Card(string Uuid, string Summary, string Indicator, CardSource Source, string? Detail = null, IReadOnlyList<CardLink>? Links = null,
    IReadOnlyList<Suggestion>? Suggestions = null, string? SelectionBehavior = null, IReadOnlyDictionary<string, object>? Extension = null);

/// <summary>A card's source.</summary>
/// <param name="Label">Who.</param>
/// <param name="Topic">CRD card type.</param>
/// <param name="Url">Where to read more.</param>
public sealed record CardSource(string Label, CdsCoding Topic, string? Url = null);

/// <summary>A Coding in CDS Hooks JSON.</summary>
/// <param name="System">The code system.</param>
/// <param name="Code">The code.</param>
/// <param name="Display">Its display.</param>
public sealed record CdsCoding(string System, string Code, string? Display = null);

/// <summary>A card link.</summary>
/// <param name="Label">Its text.</param>
/// <param name="Url">Where it goes.</param>
/// <param name="Type"><c>absolute</c> or <c>smart</c>.</param>
public sealed record CardLink(string Label, string Url, string Type = "absolute");

/// <summary>A suggestion: actions the clinician may accept together.</summary>
/// <param name="Label">What it proposes.</param>
/// <param name="Uuid">Its id (CRD requires one).</param>
/// <param name="Actions">What accepting it does.</param>
public sealed record Suggestion(string Label, string Uuid, IReadOnlyList<CdsAction> Actions);

/// <summary>An action: create, update or delete a resource in the EHR.</summary>
/// <param name="Type"><c>create</c>, <c>update</c> or <c>delete</c>.</param>
/// <param name="Description">What it does.</param>
/// <param name="Resource">The resource (create, update), as FHIR JSON.</param>
/// <param name="ResourceId">The resource to delete.</param>
public sealed record CdsAction(string Type, string Description, JsonNode? Resource = null, string? ResourceId = null);
