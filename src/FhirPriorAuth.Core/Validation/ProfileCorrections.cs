using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Validation;

/// <summary>A load-time correction of a StructureDefinition POCO. Apply returns a list of human-readable changes.</summary>
internal sealed record Correction(string Id, string Reason, Func<StructureDefinition, CorrectionContext, IReadOnlyList<string>> Apply);

/// <summary>What a correction may need to know about the loaded packages.</summary>
internal sealed class CorrectionContext
{
    /// <summary>canonical url -> versions available in the loaded packages</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> AvailableVersions { get; init; }
    /// <summary>true when the SD comes from the PAS package (some corrections are PAS-specific)</summary>
    public Func<StructureDefinition, bool> IsPas { get; init; } = _ => false;
}

internal sealed record AppliedCorrection(string CorrectionId, string Profile, string Change);

/// <summary>
/// All corrections are applied in memory to the StructureDefinition POCOs right after loading the packages
/// (never on disk). They touch BOTH snapshot and differential, because Firely's schema compiler reads the
/// snapshot (the IG packages ship snapshots, so no snapshot regeneration happens).
/// </summary>
internal static partial class Corrections
{
    public const string CoreSdPrefix = "http://hl7.org/fhir/StructureDefinition/";
    public const string CrdSdPrefix = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/";

    public static readonly IReadOnlyList<Correction> All =
    [
        new("A-careteam-value-discriminator",
            "Firely 3.6 walks 'extension(url).value.ofType(boolean)' (2.2.1) into the boolean datatype root and then finds no fixed[x]/pattern[x]/binding " +
            "('The value discriminator should have a fixed[x], pattern[x] or binding element set on boolean'), so profile-claim(-base/-update/-inquiry) cannot be compiled. " +
            "Dropping the trailing '.ofType(T)' makes the walker stop at '...extension:careTeamClaimScope.value[x]', which carries fixedBoolean true/false, " +
            "so the slice discriminator is still 'scope extension value == true/false' (value[x] has a single type boolean, so ofType() adds nothing). " +
            "PAS 2.0.1 writes the same discriminator as 'extension(url).value as boolean', which Firely rejects with 'Invocation of function binary.as is not supported in discriminators'; same fix.",
            FixOfTypeValueDiscriminator),

        new("B-versioned-core-canonicals",
            "PAS 2.2.1 references core-extension canonicals with an hl7.fhir.uv.extensions version (e.g. data-absent-reason|5.3.0-ballot-tc1); " +
            "that package is not available and the R4 core definition is equivalent for R4. Strip the '|version' from " +
            "'http://hl7.org/fhir/StructureDefinition/*' canonicals (type.profile, type.targetProfile, baseDefinition) unless the version is 4.0.1.",
            FixVersionedCoreCanonicals),

        new("C-crd-version-mapping",
            "PAS 2.2.1 references CRD 2.2.1 artifacts (ext-coverage-information|2.2.1) but only CRD 2.0.1 is available. " +
            "Rewrite 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/*|v' to the version that is loaded when v is not loaded.",
            FixMissingCrdVersions),

        new("D-x12-binding-discriminated-slices",
            "Slices discriminated by value/pattern on '$this' whose only discriminating constraint is a binding to an X12 value set " +
            "(https://valueset.x12.org/...) cannot be evaluated: the value set is not published, so every coding of the element falls into the slice " +
            "(e.g. Coverage.relationship.coding:X12Code 0..1 counting both the HL7 and the X12 coding). Add pattern[x] {system = the X12 code system " +
            "derived from the value-set url, https://codesystem.x12.org/<version>/<element>} to the slice, so membership is decided by the coding system.",
            FixX12BindingSlices),

        new("F-redundant-nested-discriminator",
            "A slicing with discriminators {value 'a.b.c', pattern 'a'} where each slice fixes 'a' with pattern[x] (e.g. CRD profile-patient " +
            "Patient.identifier: value 'type.coding.system' + pattern 'type', slice MRIdentifier.type patternCodeableConcept) cannot be compiled by Firely " +
            "('The value discriminator should have a fixed[x], pattern[x] or binding element set on Coding.system'): Firely walks into the datatype instead of " +
            "looking inside the pattern. The deeper discriminator is implied by the pattern on its ancestor, so it is removed.",
            FixRedundantNestedDiscriminator),

        new("G-extension-contexts",
            "IG defects in extension contexts (pas-notes §2.3, Inferno validator_suppressions.rb): PAS uses these extensions on elements their " +
            "StructureDefinition.context does not list, so Firely raises 'Extension used outside of appropriate contexts' as an ERROR. Such errors inside a " +
            "Bundle entry also fail the entry's profile slice ('does not validate against any of the expected profiles'), which a later issue filter cannot undo. " +
            "Add the contexts the IG actually uses.",
            FixExtensionContexts),

        new("H-pattern-plus-binding-discriminator",
            "When the element a value/pattern discriminator points at has fixed[x]/pattern[x] AND a binding in the slice, Firely 3.6 groups them in an AllValidator " +
            "(IGroupValidatable) and evaluates that group on the empty selection when the element is absent -> success, so e.g. a Coverage.identifier WITHOUT type is " +
            "counted into us-core-coverage identifier:memberid (pattern type=MB) and reported as 'count 2 not within 1..1' / 'Missing required member type'. " +
            "The fixed/pattern already implies the bound value; drop the binding on that slice child so the discriminator is a single assertion that fails on absence.",
            FixPatternPlusBindingDiscriminator),

        new("I-crd-coverage-information-target",
            "CRD 2.0.1 ext-coverage-information.coverage targets CRD profile-coverage, whose beneficiary must carry an MR identifier. " +
            "Firely checks a bundled target against targetProfile, so every PAS member would need CRD's Patient rules too. PAS validates the " +
            "Coverage through Claim.insurance.coverage, so the extension targets core Coverage.",
            FixCrdCoverageInformationTarget),

        new("J-pas-documentreference-attachment-url",
            "PAS 2.2.1 profile-documentreference requires content.attachment.data (1..1) and forbids url (0..0), but Inferno's own 2.2.1 presets " +
            "send the supporting DocumentReference with attachment.url, and Inferno expects those requests to be decided. A payer can fetch a document " +
            "by URL, so url is allowed (0..1) and data becomes 0..1; every other DocumentReference rule stays.",
            FixDocumentReferenceAttachment),

        new("K-claimresponse-request-claim-update",
            "ClaimResponse.request targets only the PAS Claim profile, but the response to a Claim Update answers a Claim Update " +
            "(related 1..1, which profile-claim forbids). Firely checks a bundled reference target against targetProfile, so every update " +
            "response would fail; profile-claim-update is added as an allowed target.",
            FixClaimResponseRequestTarget),

        new("L-crd-coverage-information-inlined-invariants",
            "PAS 2.2.1's order profiles inline CRD 2.2.1's ext-coverage-information invariants (crd-ci-q1…q9) on their coverage-information slice, " +
            "while correction C validates the extension by CRD 2.0.1, the version Inferno's CRD suite (and this server's CRD service) produce. " +
            "The inlined copies contradict 2.0.1 (q2 forbids the pa-needed that 2.0.1's q2 requires; q3 requires info-needed whenever anything is " +
            "conditional) and q4 evaluates to empty, so fails, for every doc-purpose of withpa. They are removed; the extension keeps its own 2.0.1 invariants.",
            FixInlinedCoverageInformationInvariants),
    ];

    // ---- (L) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixInlinedCoverageInformationInvariants(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        if (sd.Url is null || !sd.Url.StartsWith(PasSdPrefix, StringComparison.Ordinal)) return changes;
        foreach (var (part, ed) in Elements(sd))
        {
            var inlined = ed.Constraint.Where(c => c.Key?.StartsWith("crd-ci-", StringComparison.Ordinal) == true).ToList();
            if (inlined.Count == 0) continue;
            ed.Constraint.RemoveAll(inlined.Contains);
            changes.Add($"{part} {ed.ElementId}: removed {string.Join(", ", inlined.Select(c => c.Key))}");
        }
        return changes;
    }

    // ---- (I) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixCrdCoverageInformationTarget(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        if (sd.Url != CrdSdPrefix + "ext-coverage-information") return changes;
        foreach (var (part, ed) in Elements(sd))
        {
            if (ed.ElementId != "Extension.extension:coverage.value[x]") continue;
            foreach (var type in ed.Type.Where(t => t.Code == "Reference" && t.TargetProfile.Any(p => p != CoreSdPrefix + "Coverage")))
            {
                type.TargetProfile = [CoreSdPrefix + "Coverage"];
                changes.Add($"{part} {ed.ElementId}: targetProfile -> core Coverage");
            }
        }
        return changes;
    }

    // ---- (K) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixClaimResponseRequestTarget(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        if (sd.Type != "ClaimResponse" || sd.Url is null || !sd.Url.StartsWith(PasSdPrefix, StringComparison.Ordinal)) return changes;
        foreach (var (part, ed) in Elements(sd))
        {
            if (ed.Path != "ClaimResponse.request") continue;
            foreach (var type in ed.Type.Where(t => t.Code == "Reference"))
            {
                var claim = type.TargetProfile.FirstOrDefault(p => p is not null && p.StartsWith(PasSdPrefix + "profile-claim", StringComparison.Ordinal) && !p.Contains("update", StringComparison.Ordinal));
                if (claim is null || type.TargetProfile.Any(p => p is not null && p.Contains("profile-claim-update", StringComparison.Ordinal))) continue;
                var update = claim.Replace("profile-claim", "profile-claim-update", StringComparison.Ordinal);
                type.TargetProfile = type.TargetProfile.Append(update).ToList();
                changes.Add($"{part} {ed.ElementId}: targetProfile += {update}");
            }
        }
        return changes;
    }

    // ---- (J) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixDocumentReferenceAttachment(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        if (sd.Url != PasSdPrefix + "profile-documentreference") return changes;
        foreach (var (part, ed) in Elements(sd))
        {
            if (ed.Path == "DocumentReference.content.attachment.data" && ed.Min > 0)
            {
                ed.Min = 0;
                changes.Add($"{part} {ed.ElementId}: min 1 -> 0");
            }
            if (ed.Path == "DocumentReference.content.attachment.url" && ed.Max == "0")
            {
                ed.Max = "1";
                changes.Add($"{part} {ed.ElementId}: max 0 -> 1");
            }
        }
        return changes;
    }

    // ---- (F) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixRedundantNestedDiscriminator(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        foreach (var (part, ed) in Elements(sd))
        {
            if (ed.Slicing?.Discriminator is not { Count: > 1 } discs) continue;
            var patternPaths = discs.Where(d => d.Type == ElementDefinition.DiscriminatorType.Pattern && d.Path != "$this").Select(d => d.Path).ToList();
            var redundant = discs.Where(d => d.Type is ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern
                                             && d.Path is not null && patternPaths.Any(p => d.Path.StartsWith(p + ".", StringComparison.Ordinal))).ToList();
            foreach (var d in redundant)
            {
                discs.Remove(d);
                changes.Add($"{part} {ed.ElementId}: removed discriminator {d.Type} '{d.Path}' (implied by pattern discriminator on '{patternPaths.First(p => d.Path!.StartsWith(p + ".", StringComparison.Ordinal))}')");
            }
        }
        return changes;
    }

    // ---- (G) ----------------------------------------------------------------------------------------------
    public const string PasSdPrefix = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/";
    public static readonly IReadOnlyDictionary<string, string[]> MissingExtensionContexts = new Dictionary<string, string[]>
    {
        ["extension-authorizationNumber"] = ["Claim"],
        ["extension-administrationReferenceNumber"] = ["Claim"],
        ["extension-infoChanged"] = ["Claim.supportingInfo"],
        ["modifierextension-infoCancelled"] = ["Claim.supportingInfo"],
        ["extension-communicatedDiagnosis"] = ["ClaimResponse.item"],
        ["extension-productOrServiceCodeEnd"] = ["ServiceRequest", "ClaimResponse.addItem"],
        ["extension-itemAuthorizedProvider"] = ["ClaimResponse"],
        ["extension-revenueUnitRateLimit"] = ["ClaimResponse.addItem"],
        ["extension-serviceItemRequestType"] = ["ClaimResponse.addItem"],
        ["extension-certificationType"] = ["ClaimResponse.addItem"],
        // PAS profile-task slices Task.input by this extension (paLineNumber), but its context lists only CommunicationRequest.payload.
        ["extension-serviceLineNumber"] = ["Task.input"],
    };

    public static IReadOnlyList<string> FixExtensionContexts(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        if (sd.Type != "Extension" || sd.Url is null || !sd.Url.StartsWith(PasSdPrefix, StringComparison.Ordinal)) return changes;
        if (!MissingExtensionContexts.TryGetValue(sd.Url[PasSdPrefix.Length..], out var add)) return changes;
        foreach (var expr in add)
        {
            if (sd.Context.Any(c => c.Type == StructureDefinition.ExtensionContextType.Element && c.Expression == expr)) continue;
            sd.Context.Add(new StructureDefinition.ContextComponent { Type = StructureDefinition.ExtensionContextType.Element, Expression = expr });
            changes.Add($"context += element '{expr}'");
        }
        return changes;
    }

    // ---- (H) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixPatternPlusBindingDiscriminator(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        var elems = sd.Snapshot?.Element;
        if (elems is null) return changes;
        var byId = elems.Where(e => e.ElementId is not null).GroupBy(e => e.ElementId!).ToDictionary(g => g.Key, g => g.First());
        foreach (var sliced in elems.Where(e => e.Slicing?.Discriminator?.Count > 0))
        {
            foreach (var d in sliced.Slicing!.Discriminator)
            {
                if (d.Type is not (ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern)) continue;
                if (d.Path is null || d.Path == "$this" || !System.Text.RegularExpressions.Regex.IsMatch(d.Path, @"^[A-Za-z]+(\.[A-Za-z]+)*$")) continue;
                // slices of this element: ids "<slicedId>:<name>"
                var prefix = sliced.ElementId + ":";
                foreach (var slice in elems.Where(e => e.SliceName is not null && e.ElementId is not null && e.ElementId.StartsWith(prefix, StringComparison.Ordinal) && !e.ElementId[prefix.Length..].Contains('.')))
                {
                    if (!byId.TryGetValue(slice.ElementId + "." + d.Path, out var target)) continue;
                    // only where the discriminating element can be absent (min 0 on the unsliced element); otherwise the problem cannot occur
                    if (byId.TryGetValue(sliced.ElementId + "." + d.Path, out var unsliced) && unsliced.Min > 0) continue;
                    if ((target.Fixed is null && target.Pattern is null) || target.Binding is null) continue;
                    changes.Add($"snapshot {target.ElementId}: removed binding ({target.Binding.Strength} {target.Binding.ValueSet}) next to {(target.Fixed is not null ? "fixed" : "pattern")}[x]");
                    target.Binding = null;
                }
            }
        }
        return changes;
    }

    // ---- (E) synthesized definitions ----------------------------------------------------------------------
    public const string XverClaimEncounter = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Claim.encounter";

    /// <summary>
    /// Correction E (added definition, not an edit): PAS Claim profiles use the R5 cross-version extension
    /// http://hl7.org/fhir/5.0/StructureDefinition/extension-Claim.encounter, defined in hl7.fhir.uv.xver-r5.r4 (not available).
    /// Without it Firely reports "Unable to resolve reference to profile ...extension-Claim.encounter" as an ERROR on every Claim
    /// that carries it, which also fails the Bundle's Claim entry slice. We synthesize it from the R4 core Extension snapshot:
    /// context Claim, value[x] = Reference(Encounter) (R5 Claim.encounter is Reference(Encounter) 0..*), no sub-extensions.
    /// </summary>
    public static StructureDefinition SynthesizeXverClaimEncounter(StructureDefinition coreExtension)
    {
        var sd = (StructureDefinition)coreExtension.DeepCopy();
        sd.Id = "extension-Claim.encounter";
        sd.Url = XverClaimEncounter;
        sd.Version = "5.0.0";
        sd.Name = "ExtensionClaimEncounter";
        sd.Title = "R5 Claim.encounter cross-version extension (synthesized by FhirPriorAuth)";
        sd.Status = PublicationStatus.Active;
        sd.Derivation = StructureDefinition.TypeDerivationRule.Constraint;
        sd.BaseDefinition = "http://hl7.org/fhir/StructureDefinition/Extension";
        sd.Abstract = false;
        sd.Context = [new StructureDefinition.ContextComponent { Type = StructureDefinition.ExtensionContextType.Element, Expression = "Claim" }];
        sd.Differential = new StructureDefinition.DifferentialComponent();
        sd.Text = null;
        sd.Extension.Clear();
        foreach (var ed in sd.Snapshot!.Element)
        {
            ed.Constraint.RemoveAll(c => c.Key != "ele-1" && c.Key != "ext-1"); // keep the base invariants only
            switch (ed.Path)
            {
                case "Extension.extension": ed.Max = "0"; break;
                case "Extension.url": ed.Fixed = new FhirUri(XverClaimEncounter); break;
                case "Extension.value[x]":
                    ed.Type = [new ElementDefinition.TypeRefComponent { Code = "Reference", TargetProfile = ["http://hl7.org/fhir/StructureDefinition/Encounter"] }];
                    ed.Min = 1;
                    break;
            }
        }
        return sd;
    }

    /// <summary>Applies every correction except those whose id starts with a letter in <paramref name="skip"/> (tests prove each is needed).</summary>
    public static List<AppliedCorrection> ApplyAll(IEnumerable<StructureDefinition> sds, CorrectionContext ctx, IReadOnlyCollection<string>? skip = null)
    {
        var applied = new List<AppliedCorrection>();
        skip ??= [];
        foreach (var sd in sds)
            foreach (var c in All.Where(c => !skip.Any(x => c.Id.StartsWith(x + "-", StringComparison.Ordinal))))
                foreach (var change in c.Apply(sd, ctx))
                    applied.Add(new AppliedCorrection(c.Id, sd.Url + "|" + sd.Version, change));
        return applied;
    }

    private static IEnumerable<(string Part, ElementDefinition Ed)> Elements(StructureDefinition sd)
    {
        if (sd.Snapshot?.Element is { } s) foreach (var e in s) yield return ("snapshot", e);
        if (sd.Differential?.Element is { } d) foreach (var e in d) yield return ("differential", e);
    }

    // ---- (a) ----------------------------------------------------------------------------------------------
    // PAS 2.2.1: "extension('...').value.ofType(boolean)"; PAS 2.0.1: "extension('...').value as boolean"
    [GeneratedRegex(@"^(extension\('[^']+'\)\.value)(?:\.ofType\(\w+\)| as \w+)$")]
    private static partial Regex ExtValueOfType();

    public static IReadOnlyList<string> FixOfTypeValueDiscriminator(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        foreach (var (part, ed) in Elements(sd))
        {
            if (ed.Slicing?.Discriminator is not { } discs) continue;
            foreach (var d in discs)
            {
                if (d.Type is not (ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern) || d.Path is null) continue;
                var m = ExtValueOfType().Match(d.Path);
                if (!m.Success) continue;
                var old = d.Path;
                d.Path = m.Groups[1].Value;
                changes.Add($"{part} {ed.ElementId}: discriminator {d.Type} '{old}' -> '{d.Path}'");
            }
        }
        return changes;
    }

    // ---- (b) ----------------------------------------------------------------------------------------------
    private static string? StripCoreVersion(string? canonical)
    {
        if (canonical is null || !canonical.StartsWith(CoreSdPrefix, StringComparison.Ordinal)) return null;
        var (url, version) = PackageResolver.Split(canonical);
        if (version is null || version == "4.0.1") return null;
        return url;
    }

    public static IReadOnlyList<string> FixVersionedCoreCanonicals(StructureDefinition sd, CorrectionContext _)
        => RewriteCanonicals(sd, StripCoreVersion);

    // ---- (c) ----------------------------------------------------------------------------------------------
    public static IReadOnlyList<string> FixMissingCrdVersions(StructureDefinition sd, CorrectionContext ctx)
        => RewriteCanonicals(sd, c =>
        {
            if (c is null || !c.StartsWith(CrdSdPrefix, StringComparison.Ordinal)) return null;
            var (url, version) = PackageResolver.Split(c);
            if (version is null || !ctx.AvailableVersions.TryGetValue(url, out var versions) || versions.Count == 0) return null;
            if (versions.Any(v => Hl7.Fhir.Model.Canonical.MatchesVersion(v, version))) return null;
            return url + "|" + versions[0];
        });

    /// <summary>Rewrites every canonical in type.profile, type.targetProfile and baseDefinition through map (null = keep).</summary>
    private static IReadOnlyList<string> RewriteCanonicals(StructureDefinition sd, Func<string?, string?> map)
    {
        var changes = new List<string>();
        if (map(sd.BaseDefinition) is { } nb) { changes.Add($"baseDefinition '{sd.BaseDefinition}' -> '{nb}'"); sd.BaseDefinition = nb; }
        foreach (var (part, ed) in Elements(sd))
        {
            foreach (var tr in ed.Type)
            {
                foreach (var list in new[] { tr.ProfileElement, tr.TargetProfileElement })
                {
                    foreach (var canon in list)
                    {
                        if (map(canon.Value) is not { } n) continue;
                        changes.Add($"{part} {ed.ElementId}: '{canon.Value}' -> '{n}'");
                        canon.Value = n;
                    }
                }
            }
        }
        return changes;
    }

    // ---- (d) ----------------------------------------------------------------------------------------------
    public const string X12ValueSetPrefix = "https://valueset.x12.org/";

    /// <summary>https://valueset.x12.org/x217/005010/request/2000D/INS/1/02/00/1069 -> https://codesystem.x12.org/005010/1069</summary>
    public static string? X12SystemFromValueSet(string vs)
    {
        if (!vs.StartsWith(X12ValueSetPrefix, StringComparison.Ordinal)) return null;
        var segs = vs[X12ValueSetPrefix.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segs.Length < 3) return null;
        var version = segs[1];                 // 005010
        var element = segs[^1];                // 1069
        if (!Regex.IsMatch(version, @"^\d{6}$") || !Regex.IsMatch(element, @"^\d+$")) return null;
        return $"https://codesystem.x12.org/{version}/{element}";
    }

    public static IReadOnlyList<string> FixX12BindingSlices(StructureDefinition sd, CorrectionContext _)
    {
        var changes = new List<string>();
        foreach (var part in new[] { ("snapshot", sd.Snapshot?.Element), ("differential", sd.Differential?.Element) })
        {
            if (part.Item2 is not { } elems) continue;
            // slicing entries by (element id of the sliced element)
            var slicedById = elems.Where(e => e.Slicing?.Discriminator?.Count > 0 && e.ElementId is not null).ToDictionary(e => e.ElementId!, e => e);
            foreach (var ed in elems)
            {
                if (string.IsNullOrEmpty(ed.SliceName) || ed.ElementId is not { } edId || !edId.Contains(':') || ed.Binding?.ValueSet is not { } vs) continue;
                if (ed.Fixed is not null || ed.Pattern is not null) continue;
                var system = X12SystemFromValueSet(vs);
                if (system is null) continue;
                // the sliced (base) element id is the slice id without the trailing ":sliceName"
                var baseId = edId[..edId.LastIndexOf(':')];
                // differential may not repeat the slicing: look it up in the snapshot in that case
                var slicing = (slicedById.TryGetValue(baseId, out var b) ? b : sd.Snapshot?.Element.FirstOrDefault(e => e.ElementId == baseId))?.Slicing;
                if (slicing?.Discriminator is not { } discs) continue;
                if (!discs.All(d => d.Path == "$this" && d.Type is ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern)) continue;
                var type = ed.Type.FirstOrDefault()?.Code ?? sd.Snapshot?.Element.FirstOrDefault(e => e.ElementId == ed.ElementId)?.Type.FirstOrDefault()?.Code;
                DataType? pattern = type switch
                {
                    "Coding" => new Coding { System = system },
                    "CodeableConcept" => new CodeableConcept { Coding = [new Coding { System = system }] },
                    _ => null,
                };
                if (pattern is null) continue;
                ed.Pattern = pattern;
                changes.Add($"{part.Item1} {ed.ElementId}: added pattern{type} system='{system}' (binding {vs} kept)");
            }
        }
        return changes;
    }
}
