using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>Which operation a bundle was sent to; the structural rules differ slightly.</summary>
public enum PasOperation
{
    /// <summary><c>Claim/$submit</c>.</summary>
    Submit,
    /// <summary><c>Claim/$inquire</c>.</summary>
    Inquire,
}

/// <summary>
/// A PAS request Bundle, read once and checked against the structural PAS rules (pas-notes §1.2), with reference
/// resolution by <c>fullUrl</c>. Every problem found is reported together in one 400 OperationOutcome.
/// </summary>
public sealed partial class PasRequest
{
    private readonly Dictionary<string, Bundle.EntryComponent> _byFullUrl;
    private IReadOnlyList<IdentifierKey>? _members;
    private IReadOnlyList<IdentifierKey>? _providers;
    private IReadOnlyList<IdentifierKey>? _insurers;

    // Per entry, the references its resource makes: found in the one walk of each resource Read makes, and followed
    // several times (the reference check, then each item's closure).
    private readonly Dictionary<Bundle.EntryComponent, List<ResourceReference>> _references;

    private PasRequest(Bundle bundle, Claim claim, Dictionary<string, Bundle.EntryComponent> byFullUrl,
        Dictionary<Bundle.EntryComponent, List<ResourceReference>> references)
    {
        Bundle = bundle;
        _byFullUrl = byFullUrl;
        _references = references;
        ClaimEntry = bundle.Entry[0];
        Claim = claim;
    }

    /// <summary>The request Bundle.</summary>
    public Bundle Bundle { get; }

    /// <summary>The first entry, holding the Claim.</summary>
    public Bundle.EntryComponent ClaimEntry { get; }

    /// <summary>The Claim.</summary>
    public Claim Claim { get; }

    /// <summary>Member identifiers (see <see cref="PasParties.Members"/>), worked out once.</summary>
    public IReadOnlyList<IdentifierKey> Members => _members ??= PasParties.Members(this);

    /// <summary>Requesting-provider identifiers (see <see cref="PasParties.Providers"/>), worked out once.</summary>
    public IReadOnlyList<IdentifierKey> Providers => _providers ??= PasParties.Providers(this);

    /// <summary>Payer identifiers (see <see cref="PasParties.Insurers"/>), worked out once.</summary>
    public IReadOnlyList<IdentifierKey> Insurers => _insurers ??= PasParties.Insurers(this);

    /// <summary>The Claim's <c>fullUrl</c>.</summary>
    public string ClaimFullUrl => ClaimEntry.FullUrl!;

    /// <summary>Reads the body of <c>$submit</c>/<c>$inquire</c>: a bare Bundle, or Parameters with a <c>resource</c> part.</summary>
    public static PasRequest Read(Resource body, PasOperation operation)
    {
        var bundle = body switch
        {
            Bundle b => b,
            Parameters p when p.Parameter.FirstOrDefault(x => x.Name == "resource")?.Resource is Bundle b => b,
            Parameters => throw FhirException.BadRequest("The Parameters carry no 'resource' part holding a PAS Bundle.", "Parameters.parameter"),
            _ => throw FhirException.BadRequest($"The body is a {body.TypeName}; a PAS Bundle was expected.", body.TypeName),
        };
        var issues = new List<OperationOutcome.IssueComponent>();
        void Error(string message, string expression, OperationOutcome.IssueType type = OperationOutcome.IssueType.Invalid) =>
            issues.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error, type, message, expression));

        if (bundle.Type != Bundle.BundleType.Collection)
        {
            Error($"Bundle.type must be 'collection', not '{bundle.Type?.ToString().ToLowerInvariant() ?? "missing"}'.", "Bundle.type");
        }
        if (bundle.Identifier?.Value is null)
        {
            Error("Bundle.identifier (the submitter transaction identifier) is required.", "Bundle.identifier", OperationOutcome.IssueType.Required);
        }
        if (bundle.Timestamp is null)
        {
            Error("Bundle.timestamp is required.", "Bundle.timestamp", OperationOutcome.IssueType.Required);
        }
        if (bundle.Entry.Count == 0)
        {
            Error("The Bundle has no entries; its first entry must be the Claim.", "Bundle.entry", OperationOutcome.IssueType.Required);
            throw new FhirException(400, new OperationOutcome { Issue = issues });
        }

        var byFullUrl = new Dictionary<string, Bundle.EntryComponent>(StringComparer.Ordinal);
        var references = new Dictionary<Bundle.EntryComponent, List<ResourceReference>>();
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            var at = $"Bundle.entry[{i}]";
            if (entry.Resource is null)
            {
                Error("Every entry needs a resource.", $"{at}.resource", OperationOutcome.IssueType.Required);
            }
            if (string.IsNullOrEmpty(entry.FullUrl))
            {
                Error("Every entry needs a fullUrl.", $"{at}.fullUrl", OperationOutcome.IssueType.Required);
                continue;
            }
            if (!IsAllowedFullUrl(entry.FullUrl))
            {
                Error($"fullUrl '{entry.FullUrl}' must be an http(s) URL or urn:uuid:<uuid>.", $"{at}.fullUrl");
            }
            if (!byFullUrl.TryAdd(entry.FullUrl, entry))
            {
                Error($"fullUrl '{entry.FullUrl}' appears more than once; each resource may appear once.", $"{at}.fullUrl", OperationOutcome.IssueType.Duplicate);
            }
            if (entry.Resource?.Id is { } id && !seenIds.Add($"{entry.Resource.TypeName}/{id}"))
            {
                Error($"{entry.Resource.TypeName}/{id} appears more than once; each resource may appear once.", $"{at}.resource", OperationOutcome.IssueType.Duplicate);
            }
            if (entry.Resource is not null)
            {
                references[entry] = Walk(entry.Resource, prior: i > 0, $"{at}.resource", issues);
            }
        }

        if (bundle.Entry[0].Resource is not Claim claim)
        {
            Error($"The first entry must be a Claim, not {bundle.Entry[0].Resource?.TypeName ?? "empty"}.", "Bundle.entry[0].resource");
            throw new FhirException(400, new OperationOutcome { Issue = issues });
        }
        if (claim.Use != ClaimUseCode.Preauthorization)
        {
            Error($"Claim.use must be 'preauthorization', not '{claim.Use?.ToString().ToLowerInvariant() ?? "missing"}'.", "Bundle.entry[0].resource.use");
        }
        var sequences = new HashSet<int>();
        for (int i = 0; i < claim.SupportingInfo.Count; i++)
        {
            if (claim.SupportingInfo[i].Sequence is int s && !sequences.Add(s))
            {
                Error($"supportingInfo.sequence {s} is used more than once.", $"Bundle.entry[0].resource.supportingInfo[{i}].sequence", OperationOutcome.IssueType.Duplicate);
            }
        }
        if (operation == PasOperation.Inquire)
        {
            if (claim.Patient is null) Error("An inquiry must identify the patient (Claim.patient).", "Bundle.entry[0].resource.patient", OperationOutcome.IssueType.Required);
            if (claim.Provider is null) Error("An inquiry must identify the requesting provider (Claim.provider).", "Bundle.entry[0].resource.provider", OperationOutcome.IssueType.Required);
            if (claim.Insurer is null) Error("An inquiry must identify the payer (Claim.insurer).", "Bundle.entry[0].resource.insurer", OperationOutcome.IssueType.Required);
        }

        var request = new PasRequest(bundle, claim, byFullUrl, references);
        if (operation == PasOperation.Submit && issues.Count == 0)
        {
            request.CheckReferences(issues);
        }
        if (issues.Count > 0)
        {
            throw new FhirException(400, new OperationOutcome { Issue = issues.Take(FhirJson.MaxIssues).ToList() });
        }
        return request;
    }

    /// <summary>Resolves a reference made from <paramref name="from"/> to an entry of the Bundle, or null.</summary>
    public Bundle.EntryComponent? ResolveEntry(ResourceReference reference, Bundle.EntryComponent? from = null)
    {
        if (reference.Reference is not { Length: > 0 } target || target.StartsWith('#'))
        {
            return null;
        }
        if (_byFullUrl.TryGetValue(target, out var exact))
        {
            return exact;
        }
        if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("urn:", StringComparison.Ordinal))
        {
            return null;
        }
        // A relative reference resolves against the base of the referring entry's fullUrl (FHIR bundle rules).
        var fromUrl = (from ?? ClaimEntry).FullUrl;
        if (fromUrl is not null && RestBase(fromUrl) is { } baseUrl && _byFullUrl.TryGetValue($"{baseUrl}/{target}", out var relative))
        {
            return relative;
        }
        return null;
    }

    /// <summary>Resolves a reference made by the Claim to a resource in the Bundle.</summary>
    public Resource? Resolve(ResourceReference reference) => ResolveEntry(reference)?.Resource;

    /// <summary>
    /// The entries reachable from <paramref name="start"/> by references, in Bundle order, not following the
    /// <c>related.claim</c> of an included prior Claim (its grandparent is deliberately absent, PAS spec-66).
    /// </summary>
    public IReadOnlyList<Bundle.EntryComponent> Closure(Bundle.EntryComponent start)
    {
        var reached = new HashSet<Bundle.EntryComponent> { start };
        var pending = new Stack<Bundle.EntryComponent>([start]);
        while (pending.TryPop(out var entry))
        {
            foreach (var reference in References(entry))
            {
                if (ResolveEntry(reference, entry) is { } target && reached.Add(target))
                {
                    pending.Push(target);
                }
            }
        }
        return Bundle.Entry.Where(reached.Contains).ToList();
    }

    private IReadOnlyList<ResourceReference> References(Bundle.EntryComponent entry) =>
        _references.TryGetValue(entry, out var found) ? found : [];

    private void CheckReferences(List<OperationOutcome.IssueComponent> issues)
    {
        var checkedEntries = new HashSet<Bundle.EntryComponent>();
        var pending = new Stack<Bundle.EntryComponent>([ClaimEntry]);
        while (pending.TryPop(out var entry))
        {
            if (!checkedEntries.Add(entry))
            {
                continue;
            }
            foreach (var reference in References(entry))
            {
                var target = ResolveEntry(reference, entry);
                if (target is null)
                {
                    var at = $"Bundle.entry[{Bundle.Entry.IndexOf(entry)}].resource";
                    issues.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotFound,
                        $"Reference '{reference.Reference}' does not resolve to an entry of the Bundle; every resource the Claim refers to must be included.",
                        FhirTree.PathOf(entry.Resource!, at, reference)));
                }
                else
                {
                    pending.Push(target);
                }
            }
        }
    }

    /// <summary>
    /// One walk of an entry's resource, without building paths (a request has thousands of elements; paths are made
    /// for what is reported): refuses modifier extensions the server does not understand, and returns the references
    /// to other entries, leaving out the <c>related</c> of an included prior Claim.
    /// </summary>
    private static List<ResourceReference> Walk(Resource resource, bool prior, string at, List<OperationOutcome.IssueComponent> issues)
    {
        var references = new List<ResourceReference>();
        foreach (var node in FhirTree.Nodes(resource))
        {
            if (node is ResourceReference reference)
            {
                if (reference.Reference is { Length: > 0 } r && !r.StartsWith('#'))
                {
                    references.Add(reference);
                }
                continue;
            }
            var modifiers = node switch
            {
                DomainResource d => d.ModifierExtension,
                BackboneElement b => b.ModifierExtension,
                _ => null,
            };
            for (int i = 0; i < (modifiers?.Count ?? 0); i++)
            {
                if (!PasUrls.UnderstoodModifierExtensions.Contains(modifiers![i].Url ?? ""))
                {
                    issues.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotSupported,
                        $"Modifier extension '{modifiers[i].Url}' is not understood by this server, so the request cannot be processed safely.",
                        FhirTree.PathOf(resource, at, modifiers[i]) ?? at));
                }
            }
        }
        if (prior && resource is Claim { Related.Count: > 0 } priorClaim)
        {
            // Its grandparent is deliberately absent (PAS spec-66).
            var related = priorClaim.Related.SelectMany(FhirTree.Nodes).ToHashSet(ReferenceEqualityComparer.Instance);
            references.RemoveAll(related.Contains);
        }
        return references;
    }

    private static bool IsAllowedFullUrl(string fullUrl) =>
        fullUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || fullUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? Uri.IsWellFormedUriString(fullUrl, UriKind.Absolute)
            : UuidUrn().IsMatch(fullUrl);

    /// <summary>The RESTful base of a fullUrl like <c>http://x/fhir/Patient/1</c> (<c>http://x/fhir</c>), or null.</summary>
    private static string? RestBase(string fullUrl)
    {
        var match = RestUrl().Match(fullUrl);
        return match.Success ? match.Groups["base"].Value : null;
    }

    [GeneratedRegex("^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    private static partial Regex UuidUrn();

    [GeneratedRegex("^(?<base>https?://.+)/[A-Za-z]+/[A-Za-z0-9\\-\\.]{1,64}(/_history/[A-Za-z0-9\\-\\.]{1,64})?$")]
    private static partial Regex RestUrl();
}
