using System.Text.Json.Serialization;

namespace FhirPriorAuth.Core.Policy;

/// <summary>
/// One payer coverage policy, loaded from a JSON file (see <c>examples/policies/policy.schema.json</c>). Policies are
/// data: a payer changes what needs authorization by editing a file, not by deploying code.
/// </summary>
public sealed class CoveragePolicy
{
    /// <summary>The JSON schema the file names for editors; not used by the server.</summary>
    [JsonPropertyName("$schema")]
    public string? Schema { get; set; }

    /// <summary>The policy's id, cited in every decision it produces.</summary>
    public string Id { get; set; } = "";

    /// <summary>The policy's version, cited with the id.</summary>
    public string Version { get; set; } = "";

    /// <summary>Human title.</summary>
    public string? Title { get; set; }

    /// <summary>Where a clinician reads the policy (CRD cards link to it).</summary>
    public string? PolicyUrl { get; set; }

    /// <summary>The plans (<c>Coverage.class</c> plan or group values) it applies to; <c>*</c> applies to every plan.</summary>
    public List<string> Plans { get; set; } = [];

    /// <summary>Rules, tried in order; the first whose codes match an item decides it.</summary>
    public List<PolicyRule> Rules { get; set; } = [];

    /// <summary>The decision for an item no rule matches.</summary>
    public PolicyDecision? Default { get; set; }

    /// <summary>The file it was loaded from (for messages).</summary>
    [JsonIgnore]
    public string Source { get; set; } = "";
}

/// <summary>A rule: which services it covers, what must hold, and the decision when it does.</summary>
public sealed class PolicyRule
{
    /// <summary>Id, unique within the policy.</summary>
    public string Id { get; set; } = "";

    /// <summary>What the rule is about, in plain words.</summary>
    public string? Description { get; set; }

    /// <summary>CPT/HCPCS codes, or inclusive ranges written <c>70010-76499</c>.</summary>
    public List<string> Codes { get; set; } = [];

    /// <summary>X12 1365 service type codes; they match only items that carry no CPT/HCPCS code.</summary>
    public List<string> ServiceTypes { get; set; } = [];

    /// <summary>Conditions checked in order; the first that fails decides the item with its <c>otherwise</c>.</summary>
    public List<PolicyCondition> Conditions { get; set; } = [];

    /// <summary>Documentation that must be in the request; when missing the item is pended for it.</summary>
    public DocumentationRequirement? Documentation { get; set; }

    /// <summary>The decision when every condition holds and the documentation is present.</summary>
    public PolicyDecision Decision { get; set; } = new();

    /// <summary>Services to suggest instead when this rule does not simply approve (CRD offers the covered ones).</summary>
    public List<PolicyAlternative> Alternatives { get; set; } = [];
}

/// <summary>A service a clinician may order instead.</summary>
public sealed class PolicyAlternative
{
    /// <summary>Its CPT/HCPCS code.</summary>
    public string Code { get; set; } = "";

    /// <summary>Its name.</summary>
    public string Display { get; set; } = "";

    /// <summary>Why it is suggested.</summary>
    public string? Reason { get; set; }
}

/// <summary>
/// A condition over the request. Shorthands cover the usual checks; <see cref="Expression"/> is FHIRPath evaluated on
/// the Claim with <c>%bundle</c>, <c>%item</c>, <c>%patient</c> and <c>%coverage</c> set, true when it yields <c>true</c>.
/// </summary>
public sealed class PolicyCondition
{
    /// <summary>Id, cited when the condition fails.</summary>
    public string Id { get; set; } = "";

    /// <summary>What must hold, in plain words (used in the decision's reason).</summary>
    public string? Description { get; set; }

    /// <summary>ICD-10 code prefixes (<c>M54</c> matches M54, M54.5, M545…); holds when a Claim diagnosis has one.</summary>
    public List<string> DiagnosisPrefixes { get; set; } = [];

    /// <summary>Minimum member age in whole years on the service date.</summary>
    public int? MinAge { get; set; }

    /// <summary>Maximum member age in whole years on the service date.</summary>
    public int? MaxAge { get; set; }

    /// <summary>CMS place-of-service codes the item's <c>location</c> must have.</summary>
    public List<string> PlacesOfService { get; set; } = [];

    /// <summary>A FHIRPath boolean expression.</summary>
    public string? Expression { get; set; }

    /// <summary>The decision when the condition does not hold.</summary>
    public PolicyDecision Otherwise { get; set; } = new() { Action = PolicyAction.PendReview };
}

/// <summary>Documents the request must carry: one of the LOINC types, dated within the window.</summary>
public sealed class DocumentationRequirement
{
    /// <summary>LOINC document types; any one satisfies the requirement.</summary>
    public List<string> Loinc { get; set; } = [];

    /// <summary>How recent, in days before the request was received.</summary>
    public int WithinDays { get; set; } = 90;

    /// <summary>What is needed, in plain words.</summary>
    public string? Description { get; set; }
}

/// <summary>A decision template: the action and its words.</summary>
public sealed class PolicyDecision
{
    /// <summary>What happens to the item.</summary>
    public PolicyAction Action { get; set; } = PolicyAction.Approve;

    /// <summary>Why, in plain words; shown in <c>processNote</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>X12 886 review decision reason code (required for denials by CMS-0057-F).</summary>
    public string? ReasonCode { get; set; }

    /// <summary>For approvals: the most units authorized; a larger request is modified down to it.</summary>
    public decimal? MaxQuantity { get; set; }
}

/// <summary>The per-item actions a policy can take.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PolicyAction>))]
public enum PolicyAction
{
    /// <summary>Approve (A1) with the note that no authorization is required.</summary>
    [JsonStringEnumMemberName("no-auth-needed")] NoAuthNeeded,
    /// <summary>Approve (A1), or modify (A6) down to <see cref="PolicyDecision.MaxQuantity"/>.</summary>
    [JsonStringEnumMemberName("approve")] Approve,
    /// <summary>Deny (A3) with a reason.</summary>
    [JsonStringEnumMemberName("deny")] Deny,
    /// <summary>Pend (A4) for documentation.</summary>
    [JsonStringEnumMemberName("pend-documentation")] PendDocumentation,
    /// <summary>Pend (A4) for clinical review.</summary>
    [JsonStringEnumMemberName("pend-review")] PendReview,
}
