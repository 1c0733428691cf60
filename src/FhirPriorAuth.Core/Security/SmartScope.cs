using System.Text.RegularExpressions;

namespace FhirPriorAuth.Core.Security;

/// <summary>Whose data a scope covers: one patient's, what the user may see, or the whole system's.</summary>
public enum ScopeContext
{
    /// <summary><c>patient/</c>: the patient in the token's launch context.</summary>
    Patient,
    /// <summary><c>user/</c>: what the signed-in user may see.</summary>
    User,
    /// <summary><c>system/</c>: a backend client acting for its organization.</summary>
    System,
}

/// <summary>SMART v2 permissions (<c>c r u d s</c>); v1 <c>read</c>/<c>write</c>/<c>*</c> map onto them.</summary>
[Flags]
public enum FhirPermission
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary><c>c</c>: create.</summary>
    Create = 1,
    /// <summary><c>r</c>: read, vread, instance history.</summary>
    Read = 2,
    /// <summary><c>u</c>: update.</summary>
    Update = 4,
    /// <summary><c>d</c>: delete.</summary>
    Delete = 8,
    /// <summary><c>s</c>: search, type and system history.</summary>
    Search = 16,
}

/// <summary>One SMART resource scope, v1 or v2, e.g. <c>system/Claim.c</c>, <c>user/*.read</c>, <c>patient/Task.rs?status=requested</c>.</summary>
/// <param name="Context">patient, user or system.</param>
/// <param name="ResourceType">A resource type or <c>*</c>.</param>
/// <param name="Permissions">What the scope grants.</param>
/// <param name="Constraints">v2 granular parameters (<c>?name=value&amp;…</c>), which narrow what may be seen.</param>
public sealed partial record SmartScope(ScopeContext Context, string ResourceType, FhirPermission Permissions,
    IReadOnlyList<KeyValuePair<string, string>> Constraints)
{
    /// <summary>Parses a resource scope; false for context scopes (<c>openid</c>, <c>launch</c>, …) and malformed ones.</summary>
    public static bool TryParse(string text, out SmartScope? scope)
    {
        scope = null;
        var match = Grammar().Match(text);
        if (!match.Success)
        {
            return false;
        }
        var context = match.Groups["context"].Value switch
        {
            "patient" => ScopeContext.Patient,
            "user" => ScopeContext.User,
            _ => ScopeContext.System,
        };
        var permissions = ParseAccess(match.Groups["access"].Value);
        if (permissions == FhirPermission.None)
        {
            return false;
        }
        var constraints = match.Groups["query"].Success
            ? match.Groups["query"].Value.Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2))
                .Select(p => KeyValuePair.Create(Uri.UnescapeDataString(p[0]), p.Length > 1 ? Uri.UnescapeDataString(p[1]) : ""))
                .ToList()
            : [];
        scope = new SmartScope(context, match.Groups["type"].Value, permissions, constraints);
        return true;
    }

    /// <summary>True when the scope grants <paramref name="needed"/> on <paramref name="resourceType"/>.</summary>
    public bool Grants(string resourceType, FhirPermission needed) =>
        (ResourceType == "*" || ResourceType == resourceType) && (Permissions & needed) == needed;

    /// <summary>
    /// v1 <c>read</c> = <c>rs</c>, <c>write</c> = <c>cud</c>, <c>*</c> = <c>cruds</c>; v2 letters must come in the order
    /// c r u d s, each at most once (SMART allows refusing anything else, which is safer than guessing).
    /// </summary>
    private static FhirPermission ParseAccess(string access) => access switch
    {
        "read" => FhirPermission.Read | FhirPermission.Search,
        "write" => FhirPermission.Create | FhirPermission.Update | FhirPermission.Delete,
        "*" => FhirPermission.Create | FhirPermission.Read | FhirPermission.Update | FhirPermission.Delete | FhirPermission.Search,
        _ when V2Letters().IsMatch(access) => access.Aggregate(FhirPermission.None, (p, c) => p | c switch
        {
            'c' => FhirPermission.Create,
            'r' => FhirPermission.Read,
            'u' => FhirPermission.Update,
            'd' => FhirPermission.Delete,
            _ => FhirPermission.Search,
        }),
        _ => FhirPermission.None,
    };

    [GeneratedRegex(@"^(?<context>patient|user|system)/(?<type>\*|[A-Z][A-Za-z]+)\.(?<access>[a-z*]+)(\?(?<query>.+))?$")]
    private static partial Regex Grammar();

    [GeneratedRegex("^c?r?u?d?s?$")]
    private static partial Regex V2Letters();
}

/// <summary>The scopes a token carries (its space-separated <c>scope</c> claim).</summary>
public sealed class GrantedScopes
{
    private GrantedScopes(IReadOnlyList<SmartScope> resourceScopes, IReadOnlySet<string> all)
    {
        ResourceScopes = resourceScopes;
        All = all;
    }

    /// <summary>The resource scopes that parsed.</summary>
    public IReadOnlyList<SmartScope> ResourceScopes { get; }

    /// <summary>Every scope string, context scopes included.</summary>
    public IReadOnlySet<string> All { get; }

    /// <summary>Parses a space-separated scope string; unknown or malformed scopes grant nothing.</summary>
    public static GrantedScopes Parse(string? scope)
    {
        var all = (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var parsed = all.Select(s => SmartScope.TryParse(s, out var parsedScope) ? parsedScope : null).OfType<SmartScope>().ToList();
        return new GrantedScopes(parsed, all);
    }

    /// <summary>The scopes that grant the permission on the type (empty: forbidden).</summary>
    public IReadOnlyList<SmartScope> Granting(string resourceType, FhirPermission needed) =>
        ResourceScopes.Where(s => s.Grants(resourceType, needed)).ToList();
}
