using System.Buffers;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Hl7.Fhir.FhirPath;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// The StructureDefinition snapshots of a PAS version compiled once into immutable element trees that
/// <see cref="ConformanceCheck"/> walks. Shared by every thread: compilation and value-set expansion happen under one
/// lock (at warm-up, or the first time a profile is met); reads afterwards are lock-free.
/// </summary>
internal sealed class CompiledProfiles(IAsyncResourceResolver resolver)
{
    private const string RegexExtension = "http://hl7.org/fhir/StructureDefinition/regex";
    private const string BestPracticeExtension = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice";
    private const string CorePrefix = "http://hl7.org/fhir/StructureDefinition/";
    private static readonly SearchValues<char> ControlCharacters =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(c => (char)c).Where(c => c is not ('\r' or '\n' or '\t'))]);

    private readonly ConcurrentDictionary<string, CompiledProfile> _profiles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CompiledProfile> _coreTypes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ValueSetCodes> _valueSets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Regex?> _primitiveFormats = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<string, bool>?> _formats = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CompiledExpression> _expressions = new(StringComparer.Ordinal);
    private readonly FhirPathCompiler _fhirPath = new(new SymbolTable().AddStandardFP().AddFhirExtensions());
    private readonly object _gate = new();
    private readonly Dictionary<string, CompiledProfile> _building = new(StringComparer.Ordinal);
    private int _buildDepth;

    /// <summary>
    /// For <c>memberOf()</c> in invariants: the same local terminology service Firely evaluates them with, so an
    /// unknown value set answers false, as it does there.
    /// </summary>
    public ICodeValidationTerminologyService Terminology { get; } =
        LocalTerminologyService.CreateDefaultForCore(resolver, new ValueSetExpanderSettings { MaxExpansionSize = 2000 });

    /// <summary>The compiled profile for a canonical (with or without <c>|version</c>), or one that says why it cannot be checked.</summary>
    public CompiledProfile Profile(string canonical)
    {
        var bar = canonical.IndexOf('|', StringComparison.Ordinal);
        var url = bar < 0 ? canonical : canonical[..bar];
        if (_profiles.TryGetValue(url, out var hit))
        {
            return hit;
        }
        lock (_gate)
        {
            if (_profiles.TryGetValue(url, out hit) || _building.TryGetValue(url, out hit))
            {
                return hit;
            }
            // Registered before its elements are built, so profiles that refer to themselves terminate; but published
            // to other threads, which read without the lock, only when the outermost build is done: before that a
            // profile (or one it refers to) may have no rules yet.
            var profile = new CompiledProfile(url);
            _building[url] = profile;
            _buildDepth++;
            try
            {
                var definition = resolver.TryResolveByCanonicalUriAsync(url).GetAwaiter().GetResult().Value as StructureDefinition
                    ?? throw new NotProvableException($"profile {url} is not available");
                profile.Build(definition, this);
            }
            catch (NotProvableException e)
            {
                profile.Unsupported = e.Message;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A definition this compiler cannot read is left to Firely, like one it does not model.
                profile.Unsupported = $"profile {url} could not be compiled: {e.Message}";
            }
            finally
            {
                if (--_buildDepth == 0)
                {
                    foreach (var (built, compiled) in _building)
                    {
                        _profiles[built] = compiled;
                    }
                    _building.Clear();
                }
            }
            return profile;
        }
    }

    /// <summary>The core definition of a type (<c>Identifier</c>, <c>Patient</c>).</summary>
    public CompiledProfile CoreType(string typeName)
    {
        if (_coreTypes.TryGetValue(typeName, out var known))
        {
            return known;
        }
        var profile = Profile(CorePrefix + typeName);
        // Remembered by type name only once published: a definition still being built is not for other threads.
        if (_profiles.ContainsKey(profile.Url))
        {
            _coreTypes.TryAdd(typeName, profile);
        }
        return profile;
    }

    /// <summary>The codes of a value set, expanded once; <see cref="ValueSetCodes.Unavailable"/> when it cannot be.</summary>
    public ValueSetCodes ValueSet(string canonical)
    {
        if (_valueSets.TryGetValue(canonical, out var hit))
        {
            return hit;
        }
        lock (_gate)
        {
            return _valueSets.GetOrAdd(canonical, Expand);
        }
    }

    private ValueSetCodes Expand(string canonical)
    {
        var url = canonical.Split('|')[0];
        if (resolver.TryResolveByCanonicalUriAsync(url).GetAwaiter().GetResult().Value is not ValueSet valueSet)
        {
            return ValueSetCodes.Unavailable($"value set {canonical} is not available");
        }
        try
        {
            // The same expander and limit as the LocalTerminologyService Firely validates with, so membership agrees.
            var expander = new ValueSetExpander(new ValueSetExpanderSettings { ValueSetSource = resolver, MaxExpansionSize = 2000 });
            var copy = (ValueSet)valueSet.DeepCopy();
            if (!copy.HasExpansion)
            {
                expander.ExpandAsync(copy).GetAwaiter().GetResult();
            }
            var codes = new ValueSetCodes(null);
            Flatten(copy.Expansion?.Contains ?? [], codes);
            return codes;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ValueSetCodes.Unavailable($"value set {canonical} cannot be expanded: {e.Message}");
        }
    }

    private static void Flatten(IEnumerable<ValueSet.ContainsComponent> contains, ValueSetCodes codes)
    {
        foreach (var c in contains)
        {
            // Abstract and inactive codes are members too: Firely allows abstract codes and only warns on status.
            if (c.Code is not null)
            {
                codes.Add(c.System, c.Code);
            }
            Flatten(c.Contains, codes);
        }
    }

    /// <summary>Whether <paramref name="text"/> has the format of <paramref name="typeName"/>; true for a type with none.</summary>
    public bool FitsFormat(string typeName, string text) => typeName is "string" or "markdown"
        // Their format from PrimitiveFormat (Firely's) as a vectorized scan: strings are the most common primitive, and
        // the regex's automaton was most of the format checks' time.
        ? !text.AsSpan().ContainsAny(ControlCharacters)
        : (_formats.TryGetValue(typeName, out var format) ? format : Format(typeName))?.Invoke(text) ?? true;

    private Func<string, bool>? Format(string typeName)
    {
        lock (_gate)
        {
            return _formats.GetOrAdd(typeName, t => PatternOf(t) is { } pattern ? PrimitiveFormats.For(pattern) ?? PrimitiveFormat(t)!.IsMatch : null);
        }
    }

    /// <summary>The format a primitive type's value must have (the <c>regex</c> extension of its <c>value</c> element).</summary>
    public Regex? PrimitiveFormat(string typeName)
    {
        if (_primitiveFormats.TryGetValue(typeName, out var hit))
        {
            return hit;
        }
        lock (_gate)
        {
            // Non-backtracking: linear in the input, so no timeout (whose bookkeeping costs more than the match) is needed.
            return _primitiveFormats.GetOrAdd(typeName, t => PatternOf(t) is { } pattern
                ? new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)
                : null);
        }
    }

    private string? PatternOf(string typeName)
    {
        if (typeName is "string" or "markdown")
        {
            // Firely replaces R4's string and markdown regex (which lets control characters through) before compiling.
            return @"[\r\n\t\u0020-\uFFFF]*";
        }
        var definition = resolver.TryResolveByCanonicalUriAsync(CorePrefix + typeName).GetAwaiter().GetResult().Value as StructureDefinition;
        var value = definition?.Snapshot?.Element.FirstOrDefault(e => e.Path == typeName + ".value");
        return value?.Type.FirstOrDefault()?.GetExtensionValue<FhirString>(RegexExtension)?.Value;
    }

    internal IReadOnlyList<string> BaseChain(StructureDefinition definition)
    {
        var chain = new List<string>();
        for (var at = definition.BaseDefinition; at is not null && chain.Count < 20;)
        {
            var url = at.Split('|')[0];
            chain.Add(url);
            at = (resolver.TryResolveByCanonicalUriAsync(url).GetAwaiter().GetResult().Value as StructureDefinition)?.BaseDefinition;
        }
        return chain;
    }

    internal CompiledExpression Compile(string expression) => _expressions.GetOrAdd(expression, e => _fhirPath.Compile(e));

    internal static bool IsBestPractice(ElementDefinition.ConstraintComponent constraint) =>
        constraint.GetExtensionValue<FhirBoolean>(BestPracticeExtension)?.Value == true;
}

/// <summary>Thrown when an instance cannot be shown to conform quickly: it may be invalid, or use something not modelled.</summary>
internal sealed class NotProvableException(string reason) : Exception(reason);

/// <summary>A compiled StructureDefinition.</summary>
internal sealed class CompiledProfile(string url)
{
    public string Url { get; } = url;

    /// <summary>Why this profile cannot be checked here (then every instance goes to the full validator), or null.</summary>
    public string? Unsupported { get; set; }

    public string Type { get; private set; } = "";

    public ElementRule Root { get; private set; } = null!;

    /// <summary>The canonicals this profile derives from (its <c>baseDefinition</c> chain).</summary>
    public IReadOnlyList<string> Ancestors { get; private set; } = [];

    /// <summary>For extension definitions: where the extension may be used (<c>context.expression</c> of element contexts).</summary>
    public IReadOnlyList<string> Contexts { get; private set; } = [];

    internal static readonly (string Key, string Expression)[] AddedBundleInvariants =
    [
        ("bdl-3a", "type in ('document' | 'message' | 'searchset' | 'collection') implies entry.all(resource.exists() and request.empty() and response.empty())"),
        ("bdl-3b", "type = 'history' implies entry.all(request.exists() and response.exists() and ((request.method in ('POST' | 'PATCH' | 'PUT')) = resource.exists()))"),
        ("bdl-3c", "type in ('transaction' | 'batch') implies entry.all(request.method.exists() and ((request.method in ('POST' | 'PATCH' | 'PUT')) = resource.exists()))"),
        ("bdl-3d", "type in ('transaction-response' | 'batch-response') implies entry.all(response.exists())"),
        ("bdl-15", "type='transaction' or type='transaction-response' or type='batch' or type='batch-response' or entry.all(fullUrl.exists() or request.method='POST')"),
    ];

    public void Build(StructureDefinition definition, CompiledProfiles profiles)
    {
        if (definition.Snapshot is null || definition.Snapshot.Element.Count == 0)
        {
            throw new NotProvableException($"profile {Url} has no snapshot");
        }
        Type = definition.Type ?? throw new NotProvableException($"profile {Url} has no type");
        if (definition.Context.Any(c => c.Type != StructureDefinition.ExtensionContextType.Element))
        {
            throw new NotProvableException($"extension {Url} has a non-element context");
        }
        Contexts = definition.Context.Select(c => c.Expression ?? "").ToList();
        Ancestors = profiles.BaseChain(definition);
        var byId = new Dictionary<string, ElementRule>(StringComparer.Ordinal);
        foreach (var element in definition.Snapshot.Element)
        {
            var path = element.Path ?? throw new NotProvableException($"an element of {Url} has no path");
            var id = element.ElementId ?? path;
            var segments = id.Split('.');
            if (segments.Length != path.Split('.').Length)
            {
                throw new NotProvableException($"element id {id} of {Url} cannot be placed");
            }
            var rule = new ElementRule(element, profiles);
            byId[id] = rule;
            if (segments.Length == 1 && !id.Contains(':', StringComparison.Ordinal))
            {
                Root = rule;
                continue;
            }
            var last = segments[^1];
            var prefix = segments.Length == 1 ? "" : id[..(id.Length - last.Length - 1)];
            var colon = last.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                // "name:slice" is a slice of "name"; "name:a/b" re-slices "name:a".
                var slash = last.LastIndexOf('/');
                var baseId = (prefix.Length == 0 ? "" : prefix + ".") + (slash > colon ? last[..slash] : last[..colon]);
                if (!byId.TryGetValue(baseId, out var sliced))
                {
                    throw new NotProvableException($"slice {id} of {Url} has no sliced element");
                }
                sliced.Slices.Add(rule);
            }
            else if (byId.TryGetValue(prefix, out var parent))
            {
                parent.AddChild(rule);
            }
            else
            {
                throw new NotProvableException($"element {id} of {Url} has no parent");
            }
        }
        if (Root is null)
        {
            throw new NotProvableException($"profile {Url} has no root element");
        }
        if (Type == "Bundle")
        {
            // Firely adds these R5 Bundle invariants to every R4 Bundle definition before compiling (ADR 0006).
            foreach (var (key, expression) in AddedBundleInvariants)
            {
                Root.Constraints.Add(new ConstraintRule(key, profiles.Compile(expression), NativeInvariants.Answers(key, expression)
                    ? ConstraintKind.Native : ConstraintKind.FhirPath));
            }
        }
        foreach (var rule in byId.Values.Where(r => r.ContentReference is not null))
        {
            var target = rule.ContentReference![(rule.ContentReference!.IndexOf('#') + 1)..];
            rule.ContentTarget = byId.GetValueOrDefault(target) ?? throw new NotProvableException($"content reference {target} of {Url} not found");
        }
    }
}

/// <summary>One element (or slice) of a snapshot, with what an instance of it must satisfy.</summary>
internal sealed class ElementRule
{
    public ElementRule(ElementDefinition element, CompiledProfiles profiles)
    {
        Path = element.Path ?? "";
        var last = Path[(Path.LastIndexOf('.') + 1)..];
        IsChoice = last.EndsWith("[x]", StringComparison.Ordinal);
        Name = IsChoice ? last[..^3] : last;
        SliceName = element.SliceName;
        Min = element.Min ?? 0;
        Max = element.Max is null or "*" ? int.MaxValue : int.Parse(element.Max, System.Globalization.CultureInfo.InvariantCulture);
        Types = element.Type.Select(t => new TypeRule(
            t.Code ?? "", t.Profile.Where(p => p is not null).Select(p => p!).ToList(), t.TargetProfile.Where(p => p is not null).Select(p => p!).ToList(),
            t.Aggregation.Any())).ToArray();
        if (Types.Length > 4 && !Types.Any(t => t.Widens))
        {
            _typesByCode = new(StringComparer.Ordinal);
            foreach (var type in Types)
            {
                _typesByCode.TryAdd(type.Code, type);
            }
        }
        Fixed = element.Fixed;
        Pattern = element.Pattern;
        DiscriminatorChecks = (Fixed is null ? 0 : 1) + (Pattern is null ? 0 : 1) + (element.Binding?.ValueSet is null ? 0 : 1);
        // Firely checks only required bindings by default (CodedContentChecks.Default); weaker ones never reject.
        if (element.Binding is { ValueSet: not null, Strength: BindingStrength.Required } binding)
        {
            Binding = new BindingRule(binding.Strength.Value, binding.ValueSet);
        }
        foreach (var constraint in element.Constraint)
        {
            if (constraint.Severity != ConstraintSeverity.Error || CompiledProfiles.IsBestPractice(constraint) || constraint.Key is "txt-1" or "txt-2")
            {
                // Warnings never reject; the narrative's XHTML checks are a suppressed class (IssueClassifier).
                continue;
            }
            var key = constraint.Key ?? "";
            var expression = key == "ref-1" ? CorrectedRef1 : constraint.Expression ?? throw new NotProvableException($"constraint {constraint.Key} of {Path} has no expression");
            Constraints.Add(key switch
            {
                "ele-1" => new ConstraintRule(key, null, ConstraintKind.HasValueOrChildren),
                "ext-1" => new ConstraintRule(key, null, ConstraintKind.ExtensionOrValue),
                // The most frequent invariants get a native shortcut for their common case (ConformanceCheck.CheckConstraint).
                "dom-2" or "dom-3" or "dom-4" or "dom-5" => new ConstraintRule(key, profiles.Compile(expression), ConstraintKind.WithoutContained),
                "ref-1" => new ConstraintRule(key, profiles.Compile(expression), ConstraintKind.LocalReference),
                "cpt-2" when expression == "value.empty() or system.exists()" => new ConstraintRule(key, null, ConstraintKind.ContactPointSystem),
                "bdl-5" when expression == "resource.exists() or request.exists() or response.exists()" => new ConstraintRule(key, null, ConstraintKind.EntryHasContent),
                "bdl-8" => new ConstraintRule(key, profiles.Compile(CorrectedBdl8), ConstraintKind.EntryFullUrl),
                _ when NativeInvariants.Answers(key, expression) => new ConstraintRule(key, profiles.Compile(expression), ConstraintKind.Native),
                _ when expression.Contains("resolve()", StringComparison.Ordinal) ||
                       expression.Contains("%ucum", StringComparison.Ordinal) || expression.Contains("conformsTo(", StringComparison.Ordinal)
                    => new ConstraintRule(key, null, ConstraintKind.NotModelled),
                _ => new ConstraintRule(key, profiles.Compile(expression), ConstraintKind.FhirPath),
            });
        }
        if (element.Slicing is { } slicing)
        {
            Slicing = new SlicingRule(
                slicing.Discriminator.Select(d => new Discriminator(d.Type ?? ElementDefinition.DiscriminatorType.Value, d.Path ?? "$this")).ToArray(),
                slicing.Ordered == true, slicing.Rules ?? ElementDefinition.SlicingRules.Open);
        }
        ContentReference = element.ContentReference;
        if (element.MinValue is not null || element.MaxValue is not null || element.MaxLength is not null)
        {
            Limits = $"{Path} has minValue, maxValue or maxLength";
        }
    }

    /// <summary>R4's ref-1 fails on a reference without <c>reference</c>; Firely corrects it before compiling, and so do we.</summary>
    private const string CorrectedRef1 =
        "reference.exists() implies (reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id) or (reference='#' and %rootResource!=%resource))";

    /// <summary>Firely's correction of bdl-8, which R4 writes so that an entry without fullUrl fails.</summary>
    private const string CorrectedBdl8 = "fullUrl.exists() implies fullUrl.contains('/_history/').not()";

    public string Path { get; }

    /// <summary>The element name as instances spell it (<c>value</c> for <c>value[x]</c>).</summary>
    public string Name { get; }

    public bool IsChoice { get; }

    public string? SliceName { get; }

    public int Min { get; }

    public int Max { get; }

    // Arrays and concrete collections: the proof walks them per element, and their interfaces box an enumerator each time.
    public TypeRule[] Types { get; }

    // The first type of each code, for a choice of many types that each admit only the one they name (value[x] of an
    // extension lists fifty): found by name instead of tried in turn for every instance.
    private readonly Dictionary<string, TypeRule>? _typesByCode;

    /// <summary>The first of <see cref="Types"/> that an instance of <paramref name="typeName"/> is of, or null.</summary>
    public TypeRule? TypeOf(Base item, string typeName)
    {
        if (_typesByCode is not null)
        {
            return _typesByCode.GetValueOrDefault(typeName);
        }
        foreach (var type in Types)
        {
            if (type.Fits(item, typeName))
            {
                return type;
            }
        }
        return null;
    }

    public DataType? Fixed { get; }

    public DataType? Pattern { get; }

    public BindingRule? Binding { get; }

    /// <summary>How many checks (fixed, pattern, any binding) Firely builds when a discriminator reaches this element.</summary>
    public int DiscriminatorChecks { get; }

    public List<ConstraintRule> Constraints { get; } = [];

    public SlicingRule? Slicing { get; }

    public List<ElementRule> Slices { get; } = [];

    /// <summary>Children by the name instances use; a renamed choice (<c>valueCoding</c>) is kept under its full name.</summary>
    public Dictionary<string, ElementRule> Children { get; } = new(StringComparer.Ordinal);

    public string? ContentReference { get; }

    public ElementRule? ContentTarget { get; set; }

    /// <summary>Set when the element carries limits this checker does not model.</summary>
    public string? Limits { get; }

    public void AddChild(ElementRule child) => Children[child.Name] = child;

    /// <summary>The children an instance is checked against: the snapshot's, or those of a content reference.</summary>
    public Dictionary<string, ElementRule> EffectiveChildren => Children.Count > 0 || ContentTarget is null ? Children : ContentTarget.Children;
}

internal sealed record TypeRule(string Code, IReadOnlyList<string> Profiles, IReadOnlyList<string> TargetProfiles, bool HasAggregation)
{
    // What a code admits besides the type it names, as Firely matches them; decided once, not per instance.
    private readonly bool _anyPrimitive = Code.StartsWith("http://hl7.org/fhirpath/System.", StringComparison.Ordinal);
    private readonly bool _backbone = Code == "Element";
    private readonly bool _anyResource = Code is "Resource" or "DomainResource";

    /// <summary>Whether the code admits more types than the one it names.</summary>
    public bool Widens => _anyPrimitive || _backbone || _anyResource;

    /// <summary>Whether an instance of <paramref name="typeName"/> is of this type.</summary>
    public bool Fits(Base item, string typeName) =>
        Code == typeName || (_anyPrimitive && item is PrimitiveType) || (_backbone && typeName == "BackboneElement") || (_anyResource && item is Resource);

    /// <summary>The profiles without their <c>|version</c>, as instances are matched against them (cut once, not per instance).</summary>
    public IReadOnlyList<string> UnversionedProfiles { get; } = Profiles.Select(p => p.Split('|')[0]).ToList();

    /// <summary>The target profiles without their <c>|version</c>.</summary>
    public IReadOnlyList<string> UnversionedTargets { get; } = TargetProfiles.Select(p => p.Split('|')[0]).ToList();
}

internal sealed record BindingRule(BindingStrength Strength, string ValueSet)
{
    /// <summary>Whether the value set is R4's MIME types, which Firely's terminology service answers by the code's form.</summary>
    public bool IsMimeTypes { get; } = ValueSet.Split('|')[0] == "http://hl7.org/fhir/ValueSet/mimetypes";
}

internal enum ConstraintKind
{
    FhirPath,
    HasValueOrChildren,
    ExtensionOrValue,
    NotModelled,
    WithoutContained,
    LocalReference,
    ContactPointSystem,
    EntryHasContent,
    EntryFullUrl,
    /// <summary>Answered by <see cref="NativeInvariants"/> where it can, else by FHIRPath.</summary>
    Native,
}

internal sealed record ConstraintRule(string Key, CompiledExpression? Compiled, ConstraintKind Kind);

internal sealed record Discriminator(ElementDefinition.DiscriminatorType Type, string Path)
{
    /// <summary>The path's steps (<c>extension('u').value</c> is two), split once.</summary>
    public IReadOnlyList<string> Steps { get; } = Split(Path);

    /// <summary>For each step, the argument of <c>ofType(T)</c> or <c>extension('url')</c>, cut once; null for other steps.</summary>
    public IReadOnlyList<string?> Arguments { get; } = Split(Path).Select(step =>
        step.StartsWith("ofType(", StringComparison.Ordinal) ? step[7..^1]
        : step.StartsWith("extension(", StringComparison.Ordinal) ? step[11..^2]
        : null).ToList();

    private static List<string> Split(string path)
    {
        var steps = new List<string>();
        var (depth, start) = (0, 0);
        for (var i = 0; i < path.Length; i++)
        {
            depth += path[i] == '(' ? 1 : path[i] == ')' ? -1 : 0;
            if (path[i] == '.' && depth == 0)
            {
                steps.Add(path[start..i]);
                start = i + 1;
            }
        }
        steps.Add(path[start..]);
        return steps;
    }
}

internal sealed record SlicingRule(Discriminator[] Discriminators, bool Ordered, ElementDefinition.SlicingRules Rules);

/// <summary>The codes of an expanded value set, or why it could not be expanded.</summary>
internal sealed class ValueSetCodes(string? unavailable)
{
    private readonly HashSet<(string System, string Code)> _codes = [];
    private readonly HashSet<string> _bareCodes = new(StringComparer.Ordinal);

    /// <summary>Why the value set cannot be used, or null.</summary>
    public string? UnavailableReason { get; } = unavailable;

    public static ValueSetCodes Unavailable(string reason) => new(reason);

    public void Add(string? system, string code)
    {
        _codes.Add((system ?? "", code));
        _bareCodes.Add(code);
    }

    /// <summary>Membership as Firely's local terminology service decides it: by code alone when no system is given.</summary>
    public bool Contains(string? system, string code) => system is null ? _bareCodes.Contains(code) : _codes.Contains((system, code));
}
