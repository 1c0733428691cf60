namespace FhirPriorAuth.Core.Pas;

/// <summary>
/// Query-by-example narrowing of an inquiry's member-and-provider matches (X12 278 inquiry semantics). Each
/// criterion the inquiry carries (authorization number, Claim.identifier, item codes, service dates) narrows the
/// matches when some authorization satisfies it; a criterion no authorization satisfies is not used, because inquiries
/// routinely repeat numbers and codes from other systems (ADR 0003).
/// </summary>
public static class InquiryMatch
{
    /// <summary>Applies the insurer check and the narrowing criteria, most specific first.</summary>
    public static IReadOnlyList<AuthorizationRecord> Narrow(PasRequest request, IReadOnlyList<AuthorizationRecord> candidates,
        IReadOnlyList<IdentifierKey> insurers)
    {
        var claim = request.Claim;
        // An insurer the inquiry names must be the one the authorization was requested from (when both are known).
        var matches = candidates.Where(a => insurers.Count == 0 || a.Insurers.Count == 0 || a.Insurers.Intersect(insurers).Any()).ToList();

        var numbers = PriorAuthorizationService.AuthorizationNumbers(claim).ToHashSet(StringComparer.Ordinal);
        matches = NarrowIfAny(matches, a => numbers.Contains(a.Number), numbers.Count > 0);

        var identifiers = claim.Identifier.Where(i => i.Value is not null).Select(i => new IdentifierKey(i.System, i.Value!)).ToList();
        matches = NarrowIfAny(matches, a => a.ClaimIdentifiers.Intersect(identifiers).Any(), identifiers.Count > 0);

        var codes = claim.Item.SelectMany(i => i.ProductOrService?.Coding ?? [])
            .Where(c => c.Code is not null && c.System != "http://terminology.hl7.org/CodeSystem/data-absent-reason")
            .Select(c => $"{c.System}|{c.Code}").ToHashSet(StringComparer.Ordinal);
        matches = NarrowIfAny(matches, a => a.Items.Any(i => i.Codes.Any(codes.Contains)), codes.Count > 0);

        var dates = claim.Item.Select(i => i.Serviced).OfType<Hl7.Fhir.Model.Date>().Select(d => d.Value).OfType<string>().ToHashSet(StringComparer.Ordinal);
        matches = NarrowIfAny(matches, a => a.Items.Any(i => i.ServiceStart is not null && dates.Any(d =>
            string.CompareOrdinal(d, i.ServiceStart) >= 0 && string.CompareOrdinal(d, i.ServiceEnd ?? i.ServiceStart) <= 0)), dates.Count > 0);
        return matches;
    }

    private static List<AuthorizationRecord> NarrowIfAny(List<AuthorizationRecord> matches, Func<AuthorizationRecord, bool> predicate, bool given)
    {
        if (!given)
        {
            return matches;
        }
        var narrowed = matches.Where(predicate).ToList();
        return narrowed.Count > 0 ? narrowed : matches;
    }
}
