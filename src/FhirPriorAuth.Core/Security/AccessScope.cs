using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Search;

namespace FhirPriorAuth.Core.Security;

/// <summary>
/// Which records a caller may see, as sets of <see cref="AccessLabels"/>: a record is visible when it carries one of
/// the caller's organization labels (if the caller is bound to an organization) and one of its patient labels (if the
/// token has a patient context). Payer-internal callers see everything; a caller bound to neither sees nothing.
/// </summary>
public sealed class AccessScope
{
    private AccessScope(bool unrestricted, IReadOnlySet<string>? organizations, IReadOnlySet<string>? patient, IReadOnlyList<IdentifierKey> organization)
    {
        Unrestricted = unrestricted;
        Organizations = organizations;
        PatientLabels = patient;
        Organization = organization;
    }

    /// <summary>Everything is visible (payer roles, and the no-authentication development mode).</summary>
    public static AccessScope All { get; } = new(true, null, null, []);

    /// <summary>True when nothing is filtered.</summary>
    public bool Unrestricted { get; }

    /// <summary>The caller's organization labels, or null when the caller is not bound to an organization.</summary>
    public IReadOnlySet<string>? Organizations { get; }

    /// <summary>The labels of the token's patient (its Patient and member identifiers), or null without patient context.</summary>
    public IReadOnlySet<string>? PatientLabels { get; }

    /// <summary>The identifiers of the caller's organization.</summary>
    public IReadOnlyList<IdentifierKey> Organization { get; }

    /// <summary>The scope of a caller; <paramref name="patientIdentifiers"/> are the member identifiers of its Patient.</summary>
    public static AccessScope For(Caller caller, IReadOnlyList<IdentifierKey> patientIdentifiers)
    {
        if (caller.IsPayer)
        {
            return All;
        }
        var organizations = caller.Organization.Count == 0 ? null
            : caller.Organization.Select(AccessLabels.Organization).ToHashSet(StringComparer.Ordinal);
        var patient = caller.Patient is null ? null
            : patientIdentifiers.Select(AccessLabels.Member).Append(AccessLabels.Patient(caller.Patient)).ToHashSet(StringComparer.Ordinal);
        return new AccessScope(false, organizations, patient, caller.Organization);
    }

    /// <summary>True when a record with these labels is visible.</summary>
    public bool Allows(IReadOnlyCollection<string> labels)
    {
        if (Unrestricted)
        {
            return true;
        }
        if (Organizations is null && PatientLabels is null)
        {
            return false;
        }
        return (Organizations is null || labels.Any(Organizations.Contains))
            && (PatientLabels is null || labels.Any(PatientLabels.Contains));
    }

    /// <summary>True when an authorization is visible: the same rule over its provider and member identifiers.</summary>
    public bool Allows(AuthorizationRecord authorization) => Unrestricted || Allows(
        authorization.Providers.Select(AccessLabels.Organization).Concat(authorization.Members.Select(AccessLabels.Member)).ToList());

    /// <summary>The labels the caller's writes carry, so that it can see what it creates.</summary>
    public IEnumerable<string> LabelsForWrites =>
        (Organizations ?? Enumerable.Empty<string>()).Concat(PatientLabels?.Where(l => l.StartsWith("patient:", StringComparison.Ordinal)) ?? []);

    /// <summary>The search criteria that restrict a search of <paramref name="securityParameter"/>'s type to this scope.</summary>
    public IEnumerable<SearchCriterion> Criteria(SearchParameterDefinition securityParameter)
    {
        if (Unrestricted)
        {
            yield break;
        }
        if (Organizations is null && PatientLabels is null)
        {
            // Bound to nothing: a criterion no label can meet.
            yield return Criterion([""]);
            yield break;
        }
        if (Organizations is not null)
        {
            yield return Criterion(Organizations);
        }
        if (PatientLabels is not null)
        {
            yield return Criterion(PatientLabels);
        }

        SearchCriterion Criterion(IEnumerable<string> labels) => new(securityParameter, null,
            labels.Select(l => (SearchValue)new TokenSearchValue(AccessLabels.System, l, SystemGiven: true)).ToList());
    }
}
