using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Policy;

/// <summary>What a policy decides over: the Claim, the resources sent with it, and when it was received.</summary>
/// <param name="Claim">The Claim being decided.</param>
/// <param name="Bundle">The request Bundle (FHIRPath conditions see it as <c>%bundle</c>).</param>
/// <param name="Resolve">Resolves a reference made by the Claim to a resource in the request, or null.</param>
/// <param name="ReceivedAt">When the payer received the request (documentation windows count back from it).</param>
public sealed record PolicyRequest(Claim Claim, Bundle Bundle, Func<ResourceReference, Resource?> Resolve, DateTimeOffset ReceivedAt)
{
    /// <summary>The member.</summary>
    public Patient? Patient => Claim.Patient is { } r ? Resolve(r) as Patient : null;

    /// <summary>The focal coverage (the first when none is marked focal).</summary>
    public Coverage? Coverage
    {
        get
        {
            var insurance = Claim.Insurance.FirstOrDefault(i => i.Focal == true) ?? Claim.Insurance.FirstOrDefault();
            return insurance?.Coverage is { } r ? Resolve(r) as Coverage : null;
        }
    }
}
