namespace FhirPriorAuth.Core.Security;

/// <summary>Every interaction and operation the server offers.</summary>
public enum FhirAction
{
    /// <summary>GET [type]/[id].</summary>
    Read,
    /// <summary>GET [type]/[id]/_history/[vid].</summary>
    VRead,
    /// <summary>GET [type]/[id]/_history.</summary>
    InstanceHistory,
    /// <summary>GET [type]/_history.</summary>
    TypeHistory,
    /// <summary>GET _history.</summary>
    SystemHistory,
    /// <summary>GET [type]?… or POST [type]/_search.</summary>
    Search,
    /// <summary>POST [type].</summary>
    Create,
    /// <summary>PUT [type]/[id].</summary>
    Update,
    /// <summary>DELETE [type]/[id].</summary>
    Delete,
    /// <summary>POST Claim/$submit.</summary>
    Submit,
    /// <summary>POST Claim/$inquire.</summary>
    Inquire,
    /// <summary>POST [base]/$submit-attachment (CDex).</summary>
    SubmitAttachment,
    /// <summary>A reviewer records a decision on a pended item (update of its Task).</summary>
    ReviewerDecision,
    /// <summary>GET [base]/$decision-record: an authorization's whole path, for the payer and its auditors.</summary>
    DecisionRecord,
}

/// <summary>What one scope check needs: a permission on a resource type.</summary>
/// <param name="ResourceType">The type the permission is on (<c>*</c> for any, as system history needs).</param>
/// <param name="Permission">The permission.</param>
public sealed record ScopeNeed(string ResourceType, FhirPermission Permission);

/// <summary>
/// The scope each interaction and operation needs (docs/security.md shows the same table). SMART defines no scopes for
/// operations; the mapping follows what the operation does to which resources.
/// </summary>
public static class ScopeRequirements
{
    /// <summary>The needs, all of which must be granted; <paramref name="resourceType"/> is the type in the URL.</summary>
    public static IReadOnlyList<ScopeNeed> For(FhirAction action, string resourceType) => action switch
    {
        FhirAction.Read or FhirAction.VRead or FhirAction.InstanceHistory => [new(resourceType, FhirPermission.Read)],
        FhirAction.TypeHistory or FhirAction.Search => [new(resourceType, FhirPermission.Search)],
        FhirAction.SystemHistory => [new("*", FhirPermission.Search)],
        FhirAction.Create => [new(resourceType, FhirPermission.Create)],
        FhirAction.Update => [new(resourceType, FhirPermission.Update)],
        FhirAction.Delete => [new(resourceType, FhirPermission.Delete)],
        // $submit creates the Claim and the payer's answer; the caller needs no ClaimResponse scope to receive it.
        FhirAction.Submit => [new("Claim", FhirPermission.Create)],
        FhirAction.Inquire => [new("Claim", FhirPermission.Read), new("ClaimResponse", FhirPermission.Read)],
        FhirAction.SubmitAttachment => [new("DocumentReference", FhirPermission.Create)],
        FhirAction.ReviewerDecision => [new("Task", FhirPermission.Update)],
        FhirAction.DecisionRecord => [new("ClaimResponse", FhirPermission.Read), new("AuditEvent", FhirPermission.Read)],
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}
