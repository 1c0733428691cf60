using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Search;

/// <summary>A search parameter the server indexes and answers.</summary>
/// <param name="ResourceType">The resource type it applies to.</param>
/// <param name="Name">Its code in the query string.</param>
/// <param name="Type">token, string, reference, date or uri.</param>
/// <param name="Expression">FHIRPath selecting the indexed elements, with any <c>where(resolve() is X)</c> removed.</param>
/// <param name="Url">Its canonical, for the CapabilityStatement.</param>
/// <param name="TargetType">For references narrowed by <c>resolve() is X</c>: the only target type indexed.</param>
public sealed record SearchParameterDefinition(
    string ResourceType,
    string Name,
    SearchParamType Type,
    string Expression,
    string Url,
    string? TargetType = null)
{
    /// <summary>True for <c>_id</c> and <c>_lastUpdated</c>, answered from the resource row itself, not an index table.</summary>
    public bool IsResourceColumn => Name is SearchParameterNames.Id or SearchParameterNames.LastUpdated;
}

/// <summary>Names of the parameters every resource type has.</summary>
public static class SearchParameterNames
{
    /// <summary><c>_id</c>: the logical id.</summary>
    public const string Id = "_id";

    /// <summary><c>_lastUpdated</c>: when the current version was written.</summary>
    public const string LastUpdated = "_lastUpdated";

    /// <summary><c>_security</c>: security labels, including the server's access labels.</summary>
    public const string Security = "_security";
}
