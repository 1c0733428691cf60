using System.Collections;
using System.Runtime.CompilerServices;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// Tries to prove, quickly, that an instance conforms to a profile, by walking it against <see cref="CompiledProfiles"/>:
/// cardinality, types, fixed and pattern values, required bindings, primitive formats, error-level invariants, slicing,
/// extension definitions and contexts, and the target profiles of references inside the Bundle.
/// It is deliberately one-sided: anything it finds wrong, or cannot decide (a construct it does not model, a value set
/// it cannot expand, an ambiguous slice), ends the proof, and the caller asks Firely for the exact verdict. So a proof
/// means Firely finds no errors either (the same-verdict tests hold it to that), and a failed proof costs only time.
/// </summary>
internal sealed class ConformanceCheck
{
    private readonly CompiledProfiles _profiles;
    private readonly Dictionary<string, (Resource Resource, string FullUrl)> _entries = new(StringComparer.Ordinal);
    // Per run: whether a resource conforms to a profile (null) or why not; entries and reference targets share it.
    private readonly Dictionary<(Resource, string), string?> _verdicts = new(ReferencePairComparer.Instance);
    private readonly List<string> _unchecked = [];
    // The codes of the element whose binding is being checked, reused: one list per coded element was the most the
    // binding checks allocated.
    private readonly List<(string? System, string Code)> _codes = [];
    private readonly HashSet<(Base, CompiledExpression)> _holding = new(HoldingComparer.Instance);
    private readonly Stack<List<(ElementRule Rule, IReadOnlyList<Base> Items)>> _presentLists = new();

    private ConformanceCheck(CompiledProfiles profiles) => _profiles = profiles;

    /// <summary>Proves <paramref name="resource"/> conforms to <paramref name="profile"/>, or says why it could not.</summary>
    public static ConformanceProof Prove(CompiledProfiles profiles, Resource resource, string profile)
    {
        var check = new ConformanceCheck(profiles);
        try
        {
            if (resource is Bundle bundle)
            {
                check.IndexEntries(bundle);
            }
            // The root's declared profiles are ignored, as the full validator is told to (the operation decides).
            check.CheckResource(resource, [profile], declared: false, container: null, fullUrl: null);
            return new ConformanceProof(true, null, check._unchecked);
        }
        catch (NotProvableException e)
        {
            return new ConformanceProof(false, e.Message, check._unchecked);
        }
    }

    private void IndexEntries(Bundle bundle)
    {
        foreach (var entry in bundle.Entry)
        {
            if (entry.FullUrl is { } url && entry.Resource is { } resource && !_entries.TryAdd(url, (resource, url)))
            {
                throw new NotProvableException($"fullUrl {url} appears twice");
            }
        }
    }

    private sealed record Scope(PocoNode Resource, PocoNode Root, string? FullUrl)
    {
        private FhirEvaluationContext? _context;

        /// <summary>The FHIRPath context of invariants evaluated inside this resource (%resource, %rootResource).</summary>
        public FhirEvaluationContext Context(CompiledProfiles profiles) =>
            _context ??= new FhirEvaluationContext { Resource = Resource, RootResource = Root, TerminologyService = profiles.Terminology };
    }

    private void CheckResource(Resource resource, IReadOnlyList<string> anyOf, bool declared, Scope? container, string? fullUrl)
    {
        if (resource is DomainResource { Contained.Count: > 1 } domain &&
            domain.Contained.Where(c => !string.IsNullOrEmpty(c.Id)).GroupBy(c => c.Id).Any(g => g.Count() > 1))
        {
            throw new NotProvableException($"{resource.TypeName}.contained: ids are not unique");
        }
        var node = resource.ToPocoNode();
        var scope = new Scope(node, container?.Root ?? node, fullUrl ?? container?.FullUrl);
        if (anyOf.Count == 0)
        {
            Require(resource, _profiles.CoreType(resource.TypeName), scope);
        }
        else
        {
            // One conforming profile is enough (Firely's any-of for a type's profiles): the rest are not walked.
            List<string>? reasons = null;
            foreach (var url in anyOf)
            {
                if (Verdict(resource, _profiles.Profile(url), scope) is not { } why)
                {
                    reasons = null;
                    break;
                }
                (reasons ??= []).Add(why);
            }
            if (reasons is not null)
            {
                throw new NotProvableException(string.Join("; ", reasons));
            }
        }
        if (declared && resource.Meta is { } meta)
        {
            foreach (var profile in meta.Profile.OfType<string>())
            {
                Require(resource, _profiles.Profile(profile), scope);
            }
        }
    }

    private void Require(Resource resource, CompiledProfile profile, Scope scope)
    {
        if (Verdict(resource, profile, scope) is { } why)
        {
            throw new NotProvableException(why);
        }
    }

    /// <summary>
    /// Whether a resource conforms to a profile (null) or why not, remembered for the run. Conforming to a profile
    /// means conforming to the definitions it derives from (their rules are in its snapshot), so those are remembered too.
    /// </summary>
    private string? Verdict(Resource resource, CompiledProfile profile, Scope scope)
    {
        if (_verdicts.TryGetValue((resource, profile.Url), out var known))
        {
            return known;
        }
        // A profile the resource declares that derives from this one is walked instead: conforming to it answers for this
        // one too, and an entry's declared profiles are walked anyway. A base profile walked first was walked twice (an
        // Encounter's us-core-practitioner before the PractitionerRole's profile-practitioner).
        if (DeclaredDescendant(resource, profile) is { } declared && Verdict(resource, declared, scope) is null)
        {
            return null;
        }
        string? why;
        if (profile.Unsupported is not null)
        {
            why = profile.Unsupported;
        }
        else if (profile.Type != resource.TypeName && profile.Type is not ("Resource" or "DomainResource"))
        {
            why = $"{resource.TypeName} is not a {profile.Type}";
        }
        else
        {
            // A cycle of references back to this resource is assumed to conform while it is being checked.
            _verdicts[(resource, profile.Url)] = null;
            try
            {
                CheckElement(resource, profile.Root, scope, null, rootOfProfile: true);
                foreach (var ancestor in profile.Ancestors)
                {
                    _verdicts[(resource, ancestor)] = null;
                }
                return null;
            }
            catch (NotProvableException e)
            {
                why = e.Message;
            }
        }
        _verdicts[(resource, profile.Url)] = why;
        return why;
    }

    private CompiledProfile? DeclaredDescendant(Resource resource, CompiledProfile profile)
    {
        if (resource.Meta is not { Profile: var declared })
        {
            return null;
        }
        foreach (var url in declared)
        {
            if (url is not null && _profiles.Profile(url) is var candidate && candidate.Unsupported is null && candidate.Ancestors.Contains(profile.Url))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Firely accepts an element that conforms to any one of a type's profiles.</summary>
    private void CheckAgainstAnyOf(IReadOnlyList<string> profiles, Base item, Scope scope, ElementRule? holder)
    {
        NotProvableException? last = null;
        foreach (var profile in profiles)
        {
            try
            {
                CheckAgainst(item, _profiles.Profile(profile), scope, holder);
                return;
            }
            catch (NotProvableException e)
            {
                last = e;
            }
        }
        throw last!;
    }

    private void CheckAgainst(Base item, CompiledProfile profile, Scope scope, ElementRule? holder)
    {
        if (profile.Unsupported is { } why)
        {
            throw new NotProvableException(why);
        }
        if (profile.Type != TypeName(item) && !(item is Resource && profile.Type is "Resource" or "DomainResource"))
        {
            throw new NotProvableException($"{TypeName(item)} checked against {profile.Url} for {profile.Type}");
        }
        CheckElement(item, profile.Root, scope, holder, rootOfProfile: true);
    }

    private void CheckElement(Base item, ElementRule rule, Scope scope, ElementRule? holder, bool rootOfProfile = false)
    {
        var typeName = TypeName(item);
        TypeRule? type = null;
        if (!rootOfProfile && rule.Types.Length > 0)
        {
            type = rule.TypeOf(item, typeName) ?? throw new NotProvableException($"{rule.Path}: type {typeName} is not allowed");
        }
        if (rule.Limits is { } limits)
        {
            throw new NotProvableException(limits);
        }
        if (rule.Fixed is { } fixedValue && !ValuesEqual(item, fixedValue))
        {
            throw new NotProvableException($"{rule.Path}: differs from the fixed value");
        }
        if (rule.Pattern is { } pattern && !PatternMatches(item, pattern))
        {
            throw new NotProvableException($"{rule.Path}: does not match the pattern");
        }
        if (rule.Binding is { } binding)
        {
            CheckBinding(item, binding, rule.Path);
        }
        if (item is PrimitiveType primitive)
        {
            CheckFormat(primitive, typeName, rule.Path);
        }
        foreach (var constraint in rule.Constraints)
        {
            CheckConstraint(item, constraint, scope, rule.Path);
        }

        if (item is Resource resource && !rootOfProfile)
        {
            // A resource inside another (Bundle.entry.resource, contained): checked against its profiles in its own scope.
            var fullUrl = holder?.Path == "Bundle.entry" ? FullUrlOf(resource) : null;
            CheckResource(resource, type?.Profiles ?? [], declared: true, container: rule.Path.EndsWith(".contained", StringComparison.Ordinal) ? scope : null, fullUrl);
            return;
        }
        if (type is { Profiles.Count: > 0 } && item is not Extension)
        {
            CheckAgainstAnyOf(type.Profiles, item, scope, holder);
        }
        if (item is ResourceReference reference && type is { TargetProfiles.Count: > 0 })
        {
            CheckReference(reference, type, scope, rule.Path);
        }

        var children = rule.EffectiveChildren;
        if (children.Count == 0)
        {
            // Profiled types and extensions were walked against their own definitions.
            if (type is { Profiles.Count: > 0 } || item is Extension)
            {
                return;
            }
            if (item is PrimitiveType p && p.Extension.Count == 0 && p.ElementId is null)
            {
                return;
            }
            // No children in the snapshot: the type's own definition applies, its invariants included.
            var core = _profiles.CoreType(typeName);
            if (core.Unsupported is { } why)
            {
                throw new NotProvableException($"{rule.Path}: no definition for type {typeName} ({why})");
            }
            CheckConstraints(item, core.Root, rule, scope);
            children = core.Root.Children;
        }
        else if (item is DataType and not PrimitiveType && typeName != "BackboneElement" && rule.Types.Length > 0)
        {
            // Inline children replace the type's definition, but not its invariants (Firely's BaseTypeInvariantConstraints).
            var core = _profiles.CoreType(typeName);
            if (core.Unsupported is { } why)
            {
                throw new NotProvableException($"{rule.Path}: no definition for type {typeName} ({why})");
            }
            CheckConstraints(item, core.Root, rule, scope);
        }
        CheckChildren(item, typeName, children, scope, rule);
    }

    // A loop, not a lambda: the closure would be allocated on every call of CheckElement, which declares the resource.
    private string? FullUrlOf(Resource resource)
    {
        foreach (var (entry, fullUrl) in _entries.Values)
        {
            if (ReferenceEquals(entry, resource))
            {
                return fullUrl;
            }
        }
        return null;
    }

    private void CheckChildren(Base item, string typeName, Dictionary<string, ElementRule> rules, Scope scope, ElementRule holder)
    {
        // The elements present with their rules: a handful per element, so a list beats a dictionary.
        if (item.HasOverflow)
        {
            throw new NotProvableException($"{holder.Path}: has elements the FHIR model does not define");
        }
        // Rented: every element of a request has children to check. Not returned when the proof ends by exception.
        var present = _presentLists.TryPop(out var pooled) ? pooled : new List<(ElementRule Rule, IReadOnlyList<Base> Items)>(8);
        foreach (var (name, value) in FhirTree.Elements(item))
        {
            IReadOnlyList<Base> items = value switch { IReadOnlyList<Base> list => list, Base single => [single], _ => [] };
            if (items.Count == 0)
            {
                continue;
            }
            var matched = rules.TryGetValue(name, out var rule);
            if (matched)
            {
                present.Add((rule!, items));
            }
            if (rule is null || rule.IsChoice)
            {
                // A choice constrained for one type is spelled out (valueCoding); choices never repeat.
                var type = TypeName(items[0]);
                if (rules.TryGetValue(name + char.ToUpperInvariant(type[0]) + type[1..], out var typed))
                {
                    present.Add((typed, items));
                    matched = true;
                }
            }
            if (!matched)
            {
                throw new NotProvableException($"{holder.Path}.{name} is not in the definition");
            }
        }
        // Every count before any descent: a profile the element does not fit (a Claim tried against the update profile
        // first) fails on its counts at once instead of after a walk of everything under it.
        foreach (var rule in rules.Values)
        {
            var count = Present(present, rule).Count;
            if (count < rule.Min || count > rule.Max)
            {
                throw new NotProvableException($"{rule.Path}: {count} present, {rule.Min}..{(rule.Max == int.MaxValue ? "*" : rule.Max)} allowed");
            }
        }
        foreach (var (rule, items) in present)
        {
            if (rule.Name is "extension" or "modifierExtension")
            {
                CheckExtensionCounts(items, holder);
                for (var i = 0; i < items.Count; i++)
                {
                    CheckExtension((Extension)items[i], rule.Name == "modifierExtension", typeName, holder, scope, rule);
                }
            }
        }
        foreach (var rule in rules.Values)
        {
            var items = Present(present, rule);
            if (rule.Slicing is not null && rule.Slices.Count > 0)
            {
                CheckSlices(items, rule, scope, holder);
            }
            // Indexed: a foreach over the interface would box an enumerator per element.
            for (var i = 0; i < items.Count; i++)
            {
                CheckElement(items[i], rule, scope, holder);
            }
        }
        present.Clear();
        _presentLists.Push(present);
    }

    private static IReadOnlyList<Base> Present(List<(ElementRule Rule, IReadOnlyList<Base> Items)> present, ElementRule rule)
    {
        foreach (var (presentRule, items) in present)
        {
            if (ReferenceEquals(presentRule, rule))
            {
                return items;
            }
        }
        return [];
    }

    /// <summary>An extension definition's root cardinality limits how often one parent repeats it.</summary>
    private void CheckExtensionCounts(IReadOnlyList<Base> extensions, ElementRule holder)
    {
        for (var i = 0; i < extensions.Count; i++)
        {
            if (extensions[i] is not Extension { Url: { } url } || !url.Contains(':', StringComparison.Ordinal))
            {
                continue;
            }
            var count = 0;
            var first = true;
            for (var j = 0; j < extensions.Count; j++)
            {
                if (extensions[j] is Extension { Url: { } other } && other == url)
                {
                    count++;
                    first &= j >= i;
                }
            }
            var definition = _profiles.Profile(url);
            if (first && definition.Unsupported is null && (count < definition.Root.Min || count > definition.Root.Max))
            {
                throw new NotProvableException($"{holder.Path}: extension {url} repeated {count} times");
            }
        }
    }

    private void CheckSlices(IReadOnlyList<Base> items, ElementRule sliced, Scope scope, ElementRule holder)
    {
        var slicing = sliced.Slicing!;
        var members = sliced.Slices.Select(_ => new List<Base>()).ToArray();
        var last = -1;
        var unmatchedSeen = false;
        for (var at = 0; at < items.Count; at++)
        {
            var item = items[at];
            var match = -1;
            for (var i = 0; i < sliced.Slices.Count; i++)
            {
                if (SliceMatches(item, sliced.Slices[i], slicing.Discriminators))
                {
                    if (match >= 0)
                    {
                        throw new NotProvableException($"{sliced.Path}: an element matches slices {sliced.Slices[match].SliceName} and {sliced.Slices[i].SliceName}");
                    }
                    match = i;
                }
            }
            if (match < 0)
            {
                if (slicing.Rules == ElementDefinition.SlicingRules.Closed)
                {
                    throw new NotProvableException($"{sliced.Path}: an element matches no slice of a closed slicing");
                }
                unmatchedSeen = true;
                continue;
            }
            if ((slicing.Rules == ElementDefinition.SlicingRules.OpenAtEnd && unmatchedSeen) || (slicing.Ordered && match < last))
            {
                throw new NotProvableException($"{sliced.Path}: slices out of order");
            }
            last = match;
            members[match].Add(item);
        }
        for (var i = 0; i < sliced.Slices.Count; i++)
        {
            var slice = sliced.Slices[i];
            if (members[i].Count < slice.Min || members[i].Count > slice.Max)
            {
                throw new NotProvableException($"{sliced.Path}:{slice.SliceName}: {members[i].Count} present, {slice.Min}..{(slice.Max == int.MaxValue ? "*" : slice.Max)} allowed");
            }
            if (slice.Slicing is not null && slice.Slices.Count > 0)
            {
                CheckSlices(members[i], slice, scope, holder);
            }
            foreach (var member in members[i])
            {
                CheckElement(member, slice, scope, holder);
            }
        }
    }

    private bool SliceMatches(Base item, ElementRule slice, Discriminator[] discriminators)
    {
        foreach (var discriminator in discriminators)
        {
            if (discriminator is { Path: "url", Type: ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern } &&
                item is Extension extension && ExtensionProfile(slice) is { } url)
            {
                if (extension.Url != url)
                {
                    return false;
                }
                continue;
            }
            var actual = Select(item, discriminator);
            if (discriminator.Type == ElementDefinition.DiscriminatorType.Type)
            {
                var expected = RuleAt(slice, discriminator);
                if (actual.Count != 1)
                {
                    throw new NotProvableException($"{slice.Path}: type discriminator {discriminator.Path} selects {actual.Count} values");
                }
                var actualType = TypeName(actual[0]);
                if (expected.TypeOf(actual[0], actualType) is null)
                {
                    return false;
                }
                continue;
            }
            if (discriminator.Type is not (ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern))
            {
                throw new NotProvableException($"{slice.Path}: {discriminator.Type} discriminators are not modelled");
            }
            var rule = RuleAt(slice, discriminator);
            if (actual.Count == 0)
            {
                // Firely: a lone fixed, pattern or binding check fails on nothing; two or more together succeed.
                if (rule.DiscriminatorChecks >= 2)
                {
                    continue;
                }
                return false;
            }
            if (actual[0] is PrimitiveType { } bare && bare.ToString() is null)
            {
                throw new NotProvableException($"{slice.Path}: discriminator {discriminator.Path} reaches a value-less primitive");
            }
            if (actual.Count > 1)
            {
                throw new NotProvableException($"{slice.Path}: discriminator {discriminator.Path} selects {actual.Count} values");
            }
            var matches = rule switch
            {
                { Fixed: { } f } => ValuesEqual(actual[0], f),
                { Pattern: { } p } => PatternMatches(actual[0], p),
                { Binding: { Strength: BindingStrength.Required } b } => InValueSet(actual[0], b.ValueSet, rule.Path),
                _ => throw new NotProvableException($"{slice.Path}: discriminator {discriminator.Path} has no value to match"),
            };
            if (!matches)
            {
                return false;
            }
        }
        return true;
    }

    private static string? ExtensionProfile(ElementRule slice) =>
        slice.Types is [{ Code: "Extension", UnversionedProfiles: [var profile] }] ? profile : null;

    /// <summary>The rule a discriminator path reaches inside a slice, following type profiles where the snapshot stops.</summary>
    private ElementRule RuleAt(ElementRule slice, Discriminator discriminator)
    {
        var rule = slice;
        for (var step = 0; step < discriminator.Steps.Count; step++)
        {
            var segment = discriminator.Steps[step];
            if (segment == "$this" || segment.StartsWith("ofType(", StringComparison.Ordinal))
            {
                continue;
            }
            var children = rule.EffectiveChildren;
            if (children.Count == 0)
            {
                var profile = rule.Types is [{ Profiles: [var p] }] ? _profiles.Profile(p)
                    : rule.Types is [var only] ? _profiles.CoreType(only.Code)
                    : throw new NotProvableException($"{rule.Path}: discriminator {discriminator.Path} crosses a choice");
                if (profile.Unsupported is { } why)
                {
                    throw new NotProvableException(why);
                }
                children = profile.Root.Children;
            }
            if (segment.StartsWith("extension(", StringComparison.Ordinal))
            {
                var url = discriminator.Arguments[step];
                var extensionRule = children.GetValueOrDefault("extension") ?? throw new NotProvableException($"{rule.Path}: no extensions for {discriminator.Path}");
                rule = extensionRule.Slices.FirstOrDefault(s => ExtensionProfile(s) == url)
                    ?? throw new NotProvableException($"{rule.Path}: no slice for extension {url}");
                continue;
            }
            rule = children.GetValueOrDefault(segment) ?? throw new NotProvableException($"{rule.Path}: discriminator {discriminator.Path} leaves the definition");
        }
        return rule;
    }

    /// <summary>Evaluates the simple FHIRPath of a discriminator (names, <c>extension('url')</c>, <c>ofType(T)</c>, <c>$this</c>).</summary>
    private static List<Base> Select(Base item, Discriminator discriminator)
    {
        List<Base> current = [item];
        for (var step = 0; step < discriminator.Steps.Count; step++)
        {
            var segment = discriminator.Steps[step];
            if (segment == "$this")
            {
                continue;
            }
            if (segment.StartsWith("ofType(", StringComparison.Ordinal))
            {
                var type = discriminator.Arguments[step];
                current = current.Where(c => string.Equals(TypeName(c), type, StringComparison.OrdinalIgnoreCase)).ToList();
                continue;
            }
            if (segment.StartsWith("extension(", StringComparison.Ordinal))
            {
                var url = discriminator.Arguments[step];
                current = current.SelectMany(c => c is IExtendable e ? e.Extension.Where(x => x.Url == url) : []).Cast<Base>().ToList();
                continue;
            }
            if (segment.Contains('(', StringComparison.Ordinal))
            {
                throw new NotProvableException($"discriminator function {segment} is not modelled");
            }
            var next = new List<Base>();
            foreach (var c in current)
            {
                foreach (var (name, value) in FhirTree.Elements(c))
                {
                    if (name == segment)
                    {
                        if (value is IReadOnlyList<Base> list)
                        {
                            next.AddRange(list);
                        }
                        else if (value is Base b)
                        {
                            next.Add(b);
                        }
                    }
                }
            }
            current = next;
        }
        return current;
    }

    private void CheckExtension(Extension extension, bool modifier, string holderType, ElementRule holder, Scope scope, ElementRule? slot)
    {
        if (extension.Url is null)
        {
            throw new NotProvableException($"{holder.Path}: an extension has no url");
        }
        if (!extension.Url.Contains(':', StringComparison.Ordinal))
        {
            // A part of a complex extension: defined by a slice of its parent's definition, checked with the slices.
            if (!IsDefinedPart(extension, slot))
            {
                throw new NotProvableException($"{holder.Path}: extension part {extension.Url} is not defined");
            }
            return;
        }
        var definition = _profiles.Profile(extension.Url);
        if (definition.Unsupported is not null)
        {
            if (modifier)
            {
                throw new NotProvableException($"{holder.Path}: modifier extension {extension.Url} is not known");
            }
            // Firely warns about an unknown extension and checks it as a plain Extension.
            _unchecked.Add($"{holder.Path}: extension {extension.Url} is not known; checked as a plain Extension");
            CheckAgainst(extension, _profiles.CoreType("Extension"), scope, holder);
            return;
        }
        if (!InContext(definition, holderType, holder))
        {
            var name = extension.Url[(extension.Url.LastIndexOf('/') + 1)..];
            if (!IssueClassifier.IsSuppressedContextExtension(name))
            {
                throw new NotProvableException($"{holder.Path}: extension {extension.Url} used outside its contexts");
            }
            _unchecked.Add($"{holder.Path}: extension {extension.Url} is used outside the contexts its definition lists (a known IG defect)");
        }
        // Claimed by a slice or not, an extension conforms to its own definition (the slice's own rules are checked by CheckSlices).
        CheckAgainst(extension, definition, scope, holder);
    }

    // A loop, not a lambda: a lambda capturing the parameters allocates its closure on every call of the caller.
    private bool IsDefinedPart(Extension extension, ElementRule? slot)
    {
        foreach (var slice in slot?.Slices ?? [])
        {
            if (SliceMatches(extension, slice, slot!.Slicing?.Discriminators ?? []))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Firely's element contexts: Element or Base, the parent's type, or the parent's path.</summary>
    private static bool InContext(CompiledProfile definition, string holderType, ElementRule holder)
    {
        var isResource = !holder.Path.Contains('.', StringComparison.Ordinal);
        foreach (var context in definition.Contexts)
        {
            if (context is "Element" or "Base" || context == holderType || context == holder.Path ||
                (context is "Resource" or "DomainResource" && isResource) ||
                (context == "BackboneElement" && holderType == "BackboneElement"))
            {
                return true;
            }
        }
        return false;
    }

    private void CheckReference(ResourceReference reference, TypeRule type, Scope scope, string path)
    {
        if (reference.Reference is not { } literal)
        {
            return;
        }
        Resource? target = null;
        string? targetUrl = null;
        if (literal.StartsWith('#'))
        {
            target = (scope.Root.Poco as DomainResource)?.Contained.FirstOrDefault(c => c.Id == literal[1..]);
        }
        else if (_entries.TryGetValue(literal, out var exact))
        {
            (target, targetUrl) = exact;
        }
        else if (scope.FullUrl is { } baseUrl && !literal.Contains(':', StringComparison.Ordinal))
        {
            // A relative reference resolves against the base of the referring entry's fullUrl.
            var cut = baseUrl.LastIndexOf('/', baseUrl.LastIndexOf('/') - 1);
            if (cut > 0 && _entries.TryGetValue(baseUrl[..(cut + 1)] + literal, out var relative))
            {
                (target, targetUrl) = relative;
            }
        }
        if (target is null)
        {
            // Firely resolves only inside the instance; an unresolved reference passes unless an aggregation rule needs it.
            if (type.HasAggregation)
            {
                throw new NotProvableException($"{path}: reference {literal} does not resolve and the element has aggregation rules");
            }
            return;
        }
        var targets = type.UnversionedTargets;
        if (targets.Any(t => t is "http://hl7.org/fhir/StructureDefinition/Resource" || t == "http://hl7.org/fhir/StructureDefinition/" + target.TypeName))
        {
            // The target is checked against its core definition as an entry of its own.
            return;
        }
        var node = target.ToPocoNode();
        var targetScope = new Scope(node, node, targetUrl);
        var reasons = new List<string>();
        foreach (var profile in targets)
        {
            if (Verdict(target, _profiles.Profile(profile), targetScope) is not { } why)
            {
                return;
            }
            reasons.Add(why);
        }
        throw new NotProvableException($"{path}: {literal} is not shown to conform to {string.Join(", ", targets)} ({string.Join("; ", reasons.Where(r => !r.Contains(" is not a ", StringComparison.Ordinal)))})");
    }

    /// <summary>A required binding, as Firely's BindingValidator and LocalTerminologyService decide it.</summary>
    private void CheckBinding(Base item, BindingRule binding, string path)
    {
        var codes = _codes;
        codes.Clear();
        switch (item)
        {
            case Code or FhirString or FhirUri when item.ToString() is { Length: > 0 } text:
                codes.Add((null, text));
                break;
            case PrimitiveType { TypeName: "code" } when item.ToString() is { Length: > 0 } text:
                codes.Add((null, text));
                break;
            case Coding { Code: { Length: > 0 } code } coding:
                codes.Add((coding.System, code));
                break;
            case CodeableConcept concept:
                foreach (var coding in concept.Coding)
                {
                    if (!string.IsNullOrEmpty(coding.Code))
                    {
                        codes.Add((coding.System, coding.Code));
                    }
                }
                break;
            case Code or Coding or PrimitiveType { TypeName: "code" }:
                break;
            case Quantity:
                throw new NotProvableException($"{path}: a binding on a Quantity is not modelled");
            default:
                throw new NotProvableException($"{path}: a binding on {item.TypeName} is not modelled");
        }
        if (codes.Count == 0)
        {
            throw new NotProvableException($"{path}: no code for the required binding to {binding.ValueSet}");
        }
        if (binding.IsMimeTypes)
        {
            // Firely's terminology service answers this one itself: a type/subtype, or xml, json, ttl.
            foreach (var (_, code) in codes)
            {
                if (code is "xml" or "json" or "ttl" || code.Split(';')[0].Trim().Split('/') is [{ Length: > 0 }, { Length: > 0 }])
                {
                    return;
                }
            }
            throw new NotProvableException($"{path}: not a MIME type");
        }
        var valueSet = _profiles.ValueSet(binding.ValueSet);
        if (valueSet.UnavailableReason is { } reason)
        {
            // The full validator is told to treat an unavailable terminology answer as a warning.
            _unchecked.Add($"{path}: {reason}; codes not checked");
            return;
        }
        foreach (var (system, code) in codes)
        {
            if (valueSet.Contains(system, code))
            {
                return;
            }
        }
        throw new NotProvableException($"{path}: no code is in {binding.ValueSet}");
    }

    private bool InValueSet(Base item, string canonical, string path)
    {
        var valueSet = _profiles.ValueSet(canonical);
        if (valueSet.UnavailableReason is { } reason)
        {
            throw new NotProvableException($"{path}: {reason}");
        }
        return item switch
        {
            Coding { Code: { } code } c => valueSet.Contains(c.System, code),
            CodeableConcept cc => cc.Coding.Any(c => c.Code is not null && valueSet.Contains(c.System, c.Code)),
            PrimitiveType p when p.ToString() is { } code => valueSet.Contains(null, code),
            _ => throw new NotProvableException($"{path}: cannot match {item.TypeName} against {canonical}"),
        };
    }

    private void CheckFormat(PrimitiveType primitive, string typeName, string path)
    {
        if (primitive is XHtml)
        {
            return; // Narrative XHTML problems are a suppressed class.
        }
        if (primitive.JsonValue is not { } value)
        {
            return;
        }
        // A request parsed without the SDK's checks (FhirJson.ParseForProof) keeps the JSON literal as sent: "true"
        // for a boolean or 1.5 for an integer parse, and are errors the checked parse reports.
        var literalFits = primitive switch
        {
            FhirBoolean => value is bool,
            Integer or PositiveInt or UnsignedInt => value is int,
            FhirDecimal => value is decimal,
            Integer64 => value is long or string,
            _ => value is string,
        };
        if (!literalFits)
        {
            throw new NotProvableException($"{path}: a JSON {value.GetType().Name} is not a {typeName}");
        }
        var text = primitive.ToString()!;
        if (text.Length == 0 || (text.Trim().Length == 0 && typeName is not ("string" or "markdown")))
        {
            throw new NotProvableException($"{path}: empty {typeName}");
        }
        if (!_profiles.FitsFormat(typeName, text))
        {
            throw new NotProvableException($"{path}: '{text}' is not a valid {typeName}");
        }
        var validUri = primitive switch
        {
            // Firely's FhirUriValidator and CanonicalValidator.
            Canonical => Uri.IsWellFormedUriString(text, UriKind.Absolute) || text.Contains('#', StringComparison.Ordinal),
            FhirUri => Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out _) &&
                       (!text.StartsWith("urn:oid:", StringComparison.Ordinal) || (_profiles.PrimitiveFormat("oid")?.IsMatch(text) ?? false)) &&
                       (!text.StartsWith("urn:uuid:", StringComparison.Ordinal) || (_profiles.PrimitiveFormat("uuid")?.IsMatch(text) ?? false)),
            _ => true,
        };
        if (!validUri)
        {
            throw new NotProvableException($"{path}: '{text}' is not a valid {typeName}");
        }
    }

    /// <summary>The invariants of <paramref name="definition"/> that <paramref name="rule"/> does not already carry.</summary>
    private void CheckConstraints(Base item, ElementRule definition, ElementRule rule, Scope scope)
    {
        foreach (var constraint in definition.Constraints)
        {
            var restated = false;
            foreach (var own in rule.Constraints)
            {
                restated |= own.Key == constraint.Key;
            }
            if (!restated)
            {
                CheckConstraint(item, constraint, scope, rule.Path);
            }
        }
    }

    private void CheckConstraint(Base item, ConstraintRule constraint, Scope scope, string path)
    {
        bool holds;
        switch (constraint.Kind)
        {
            case ConstraintKind.HasValueOrChildren:
                // As Firely's FhirEle1Validator: an id alone does not count. Asking again is cheaper than remembering
                // (a set of every element gives each its identity hash).
                holds = item is PrimitiveType p ? p.ToString() is not null || p.Extension.Count > 0 : HasElementBesidesId(item);
                break;
            case ConstraintKind.ExtensionOrValue:
                holds = item is Extension e && (e.Extension.Count > 0) != (e.Value is not null);
                break;
            case ConstraintKind.WithoutContained when item is DomainResource { Contained.Count: 0 }:
            case ConstraintKind.LocalReference when item is ResourceReference reference && reference.Reference?.StartsWith('#') != true:
                // The invariant holds trivially here; only the rare other cases need FHIRPath.
                holds = true;
                break;
            case ConstraintKind.ContactPointSystem:
                holds = item is ContactPoint c && (c.ValueElement is null || c.SystemElement is not null);
                break;
            case ConstraintKind.EntryHasContent:
                holds = item is Bundle.EntryComponent { Resource: not null } or Bundle.EntryComponent { Request: not null } or Bundle.EntryComponent { Response: not null };
                break;
            case ConstraintKind.Native when NativeInvariants.Evaluate(constraint.Key, item) is { } answer:
                holds = answer;
                break;
            case ConstraintKind.WithoutContained or ConstraintKind.LocalReference or ConstraintKind.Native:
            case ConstraintKind.FhirPath:
            case ConstraintKind.EntryFullUrl when item is Bundle.EntryComponent { FullUrlElement: not null, FullUrl: null }:
                try
                {
                    // An element walked under several rules (a slice and its base, a profile and its type) is evaluated once.
                    if (_holding.Contains((item, constraint.Compiled!)))
                    {
                        return;
                    }
                    var context = scope.Context(_profiles);
                    // Strict: an empty result does not count as holding (Firely is more lenient), so a proof never overstates.
                    holds = constraint.Compiled!.IsTrue(item is Resource ? scope.Resource : item.ToPocoNode(), context);
                    if (holds)
                    {
                        _holding.Add((item, constraint.Compiled!));
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    throw new NotProvableException($"{path}: invariant {constraint.Key} could not be evaluated: {ex.Message}");
                }
                break;
            case ConstraintKind.EntryFullUrl:
                holds = item is Bundle.EntryComponent e2 && (e2.FullUrl is null || !e2.FullUrl.Contains("/_history/", StringComparison.Ordinal));
                break;
            default:
                throw new NotProvableException($"{path}: invariant {constraint.Key} is not modelled");
        }
        if (!holds)
        {
            throw new NotProvableException($"{path}: invariant {constraint.Key} fails");
        }
    }

    /// <summary>Type names as StructureDefinitions spell them; nested components (<c>Bundle.entry</c>) are backbone elements.</summary>
    private static string TypeName(Base item) => item switch
    {
        Code => "code",
        _ when item.TypeName.Contains('.', StringComparison.Ordinal) || item.TypeName.Contains('#', StringComparison.Ordinal) => "BackboneElement",
        _ => item.TypeName,
    };

    /// <summary>Fixed values must be matched exactly; primitives by their text.</summary>
    private static bool ValuesEqual(Base actual, DataType expected) =>
        actual is PrimitiveType a && expected is PrimitiveType e
            ? a.ToString() == e.ToString() && a.Extension.Count == 0 && a.ElementId is null
            : actual.IsExactly(expected);

    /// <summary>A pattern's every value must be present: primitives equal, repeating elements each matched by some item.</summary>
    private static bool HasElementBesidesId(Base item)
    {
        foreach (var (name, _) in FhirTree.Elements(item))
        {
            if (name != "id")
            {
                return true;
            }
        }
        return item.HasOverflow;
    }

    private static bool PatternMatches(Base actual, Base pattern)
    {
        if (pattern is PrimitiveType p)
        {
            return actual is PrimitiveType a && a.ToString() == p.ToString();
        }
        foreach (var (name, value) in FhirTree.Elements(pattern))
        {
            object? present = null;
            foreach (var (actualName, actualValue) in FhirTree.Elements(actual))
            {
                if (actualName == name)
                {
                    present = actualValue;
                    break;
                }
            }
            IReadOnlyList<Base> actualItems = present switch { IReadOnlyList<Base> l => l, Base b => [b], _ => [] };
            IReadOnlyList<Base> patternItems = value switch { IReadOnlyList<Base> l => l, Base b => [b], _ => [] };
            foreach (var patternItem in patternItems)
            {
                var found = false;
                foreach (var actualItem in actualItems)
                {
                    if (PatternMatches(actualItem, patternItem))
                    {
                        found = true;
                        break;
                    }
                }
                if (!found)
                {
                    return false;
                }
            }
        }
        return true;
    }

    private sealed class HoldingComparer : IEqualityComparer<(Base, CompiledExpression)>
    {
        public static readonly HoldingComparer Instance = new();

        public bool Equals((Base, CompiledExpression) x, (Base, CompiledExpression) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((Base, CompiledExpression) obj) => HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Item1), RuntimeHelpers.GetHashCode(obj.Item2));
    }

    private sealed class ReferencePairComparer : IEqualityComparer<(Resource, string)>
    {
        public static readonly ReferencePairComparer Instance = new();

        public bool Equals((Resource, string) x, (Resource, string) y) => ReferenceEquals(x.Item1, y.Item1) && x.Item2 == y.Item2;

        public int GetHashCode((Resource, string) obj) => HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Item1), obj.Item2);
    }
}

/// <summary>The outcome of <see cref="ConformanceCheck.Prove"/>.</summary>
/// <param name="Proven">True when the instance was shown to conform.</param>
/// <param name="Reason">Why not, when not.</param>
/// <param name="Unchecked">What could not be checked and is reported as a warning (codes of unavailable value sets).</param>
internal sealed record ConformanceProof(bool Proven, string? Reason, IReadOnlyList<string> Unchecked);
