using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>Who a PAS request is about and from: member, requesting provider and payer, as identifier keys.</summary>
public static class PasParties
{
    /// <summary>Member identifiers: the patient's identifiers and the coverage's member and subscriber ids.</summary>
    public static IReadOnlyList<IdentifierKey> Members(PasRequest request)
    {
        var keys = new List<IdentifierKey>();
        if (request.Claim.Patient is { } patientRef)
        {
            AddIdentifier(keys, patientRef.Identifier);
            if (request.Resolve(patientRef) is Patient patient)
            {
                patient.Identifier.ForEach(i => AddIdentifier(keys, i));
            }
        }
        foreach (var insurance in request.Claim.Insurance)
        {
            if (insurance.Coverage is { } coverageRef && request.Resolve(coverageRef) is Coverage coverage)
            {
                coverage.Identifier.ForEach(i => AddIdentifier(keys, i));
                if (coverage.SubscriberId is { Length: > 0 } subscriber)
                {
                    keys.Add(new IdentifierKey(null, subscriber));
                }
            }
        }
        return keys.Distinct().ToList();
    }

    /// <summary>Requesting-provider identifiers: Claim.provider and what it points to, plus the 2.2.1 sender ids.</summary>
    public static IReadOnlyList<IdentifierKey> Providers(PasRequest request)
    {
        var keys = new List<IdentifierKey>();
        if (request.Claim.Provider is { } providerRef)
        {
            AddIdentifier(keys, providerRef.Identifier);
            AddResourceIdentifiers(request, request.Resolve(providerRef), keys);
        }
        var transmission = request.Claim.GetExtension(PasUrls.TransmissionIdentifiers);
        foreach (var sender in transmission?.Extension.Where(e => e.Url is "applicationSenderCode" or "interchangeSenderID") ?? [])
        {
            if (sender.Value is FhirString { Value: { Length: > 0 } value })
            {
                keys.Add(new IdentifierKey("urn:x12:sender", value));
            }
        }
        return keys.Distinct().ToList();
    }

    /// <summary>Payer identifiers.</summary>
    public static IReadOnlyList<IdentifierKey> Insurers(PasRequest request)
    {
        var keys = new List<IdentifierKey>();
        if (request.Claim.Insurer is { } insurerRef)
        {
            AddIdentifier(keys, insurerRef.Identifier);
            AddResourceIdentifiers(request, request.Resolve(insurerRef), keys);
        }
        return keys.Distinct().ToList();
    }

    /// <summary>The identifier to name the provider by in Task.owner: the NPI when there is one.</summary>
    public static Identifier? PreferredIdentifier(IReadOnlyList<IdentifierKey> keys) =>
        (keys.FirstOrDefault(k => k.System == PasUrls.Npi) ?? keys.FirstOrDefault(k => k.System is not null && !k.System.StartsWith("urn:x12", StringComparison.Ordinal)))
            is { } key ? new Identifier(key.System, key.Value) : null;

    private static void AddResourceIdentifiers(PasRequest request, Resource? resource, List<IdentifierKey> keys)
    {
        switch (resource)
        {
            case Organization organization:
                organization.Identifier.ForEach(i => AddIdentifier(keys, i));
                break;
            case Practitioner practitioner:
                practitioner.Identifier.ForEach(i => AddIdentifier(keys, i));
                break;
            case PractitionerRole role:
                role.Identifier.ForEach(i => AddIdentifier(keys, i));
                // The role's practitioner and organization are both the requesting provider for matching by NPI.
                if (role.Practitioner is { } p) AddResourceIdentifiers(request, request.Resolve(p), keys);
                if (role.Organization is { } o) AddResourceIdentifiers(request, request.Resolve(o), keys);
                break;
        }
    }

    private static void AddIdentifier(List<IdentifierKey> keys, Identifier? identifier)
    {
        if (identifier?.Value is { Length: > 0 } value)
        {
            keys.Add(new IdentifierKey(identifier.System, value));
        }
    }
}
