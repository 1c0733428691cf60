using FhirPriorAuth.Core.Pas;

namespace FhirPriorAuth.Core.Security;

/// <summary>Who is calling: what an access token (and the client's registration) says about the caller.</summary>
/// <param name="ClientId">The OAuth client (<c>client_id</c>, else <c>azp</c>, else <c>sub</c>).</param>
/// <param name="Subject">The token's <c>sub</c>: the user, or the client itself for Backend Services.</param>
/// <param name="Organization">The identifiers of the organization the caller acts for (NPI, tax id, 2.2.1 sender id); empty when not bound.</param>
/// <param name="Patient">The Patient id of a patient-context token (<c>patient</c> claim), or null.</param>
/// <param name="Roles">Payer roles (<see cref="PayerRoles"/>).</param>
/// <param name="Scopes">The SMART scopes granted.</param>
public sealed record Caller(
    string ClientId,
    string? Subject,
    IReadOnlyList<IdentifierKey> Organization,
    string? Patient,
    IReadOnlySet<string> Roles,
    GrantedScopes Scopes)
{
    /// <summary>A payer-internal caller (admin or reviewer): sees every organization's and patient's records.</summary>
    public bool IsPayer => Roles.Contains(PayerRoles.Admin) || Roles.Contains(PayerRoles.Reviewer);

    /// <summary>True for the admin role.</summary>
    public bool IsAdmin => Roles.Contains(PayerRoles.Admin);

    /// <summary>The caller of the explicit no-authentication development mode: an admin with every scope.</summary>
    public static Caller Anonymous { get; } = new("anonymous", null, [], null,
        new HashSet<string> { PayerRoles.Admin }, GrantedScopes.Parse("system/*.cruds"));
}

/// <summary>Roles of payer-internal clients, carried by a token claim or the client registration.</summary>
public static class PayerRoles
{
    /// <summary>Administrators: see everything, including the audit trail.</summary>
    public const string Admin = "admin";

    /// <summary>Clinical reviewers: see everything and record decisions on pended items.</summary>
    public const string Reviewer = "reviewer";
}
