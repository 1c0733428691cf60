using System.Text.Json.Nodes;
using Firely.Fhir.Validation;
using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// The PAS profiles of one version with the packages they need, corrected where Firely or the IG fall short
/// (<c>profiles/README.md</c>), and one Firely <see cref="Validator"/> over them.
/// </summary>
internal sealed class PasProfiles
{
    private readonly Validator _validator;
    private readonly object _gate = new();

    public PasProfiles(PasVersion version, FhirPackageLocator locator, IAsyncResourceResolver core, IReadOnlyCollection<string>? skipCorrections = null)
    {
        Version = version;
        var packages = RequiredPackages(version).Select(locator.Load).ToList();
        // Corrections need to know which canonical versions exist; that is known without parsing anything.
        var available = packages.SelectMany(p => p.Entries).Where(e => e.Url is not null)
            .GroupBy(e => e.Url!).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(e => e.Version ?? "").ToList());
        var context = new CorrectionContext { AvailableVersions = available };
        Resolver = new PackageResolver(core, resource =>
        {
            // Applied as each StructureDefinition is first parsed, so only what validation touches is read.
            if (resource is StructureDefinition definition)
            {
                var applied = Corrections.ApplyAll([definition], context, skipCorrections);
                lock (Applied)
                {
                    Applied.AddRange(applied);
                }
            }
            return resource;
        });
        foreach (var package in packages)
        {
            Resolver.AddPackage(package.Entries);
            if (package.Id.Name == "hl7.fhir.us.davinci-pas")
            {
                Examples = package.Examples;
            }
        }

        // E: the R5 cross-version extension PAS Claims use lives in a package that is not published for us; synthesize it.
        if (!Resolver.TryResolveByCanonicalUriAsync(Corrections.XverClaimEncounter).GetAwaiter().GetResult().Success &&
            core.TryResolveByCanonicalUriAsync("http://hl7.org/fhir/StructureDefinition/Extension").GetAwaiter().GetResult().Value is StructureDefinition extension)
        {
            Resolver.AddPackage([Corrections.SynthesizeXverClaimEncounter(extension)]);
            Applied.Add(new AppliedCorrection("E-synthesized-xver-claim-encounter", Corrections.XverClaimEncounter, "added StructureDefinition"));
        }

        var terminology = LocalTerminologyService.CreateDefaultForCore(Resolver, new ValueSetExpanderSettings { MaxExpansionSize = 2000 });
        var settings = new ValidationSettings
        {
            // X12 and other unpublished code systems cannot be checked: the terminology failure becomes a warning.
            HandleValidateCodeServiceFailure = (_, _) => TerminologyServiceExceptionResult.Warning,
            // The operation decides the Bundle profile; Inferno's inquiry presets declare the submit profile on the Bundle.
            SelectValidationProfiles = (location, declared, _, _) => location == "Bundle" ? [] : declared,
        };
        _validator = new Validator(Resolver, terminology, referenceResolver: null, settings: settings);
        Compiled = new CompiledProfiles(Resolver);
    }

    /// <summary>The same corrected profiles, compiled for <see cref="ConformanceCheck"/>.</summary>
    public CompiledProfiles Compiled { get; }

    public PasVersion Version { get; }

    public PackageResolver Resolver { get; }

    /// <summary>The corrections applied so far (they apply as profiles are first read), for the log and the tests.</summary>
    public List<AppliedCorrection> Applied { get; } = [];

    /// <summary>The PAS package's examples (<c>package/example/*.json</c>), used to warm the validator.</summary>
    public IReadOnlyDictionary<string, string> Examples { get; private set; } = new Dictionary<string, string>();

    /// <summary>Reads every package resource, so that every correction that applies has been applied (tests).</summary>
    public void ReadAll() => _ = Resolver.AllPackageResources.Count();

    /// <summary>The packages a PAS version needs; their order decides which wins for an unversioned canonical.</summary>
    public static IReadOnlyList<PackageId> RequiredPackages(PasVersion version) => version == PasVersion.V2_2_1
        ? [new("hl7.fhir.us.davinci-pas", "2.2.1"), new("hl7.fhir.us.core", "7.0.0"), new("hl7.fhir.us.core", "6.1.0"), new("hl7.fhir.us.core", "3.1.1"), new("hl7.fhir.us.davinci-crd", "2.0.1")]
        : [new("hl7.fhir.us.davinci-pas", "2.0.1"), new("hl7.fhir.us.core", "3.1.1"), new("hl7.fhir.us.core", "6.1.0"), new("hl7.fhir.us.core", "7.0.0"), new("hl7.fhir.us.davinci-crd", "2.0.1")];

    /// <summary>
    /// Validates against a profile. Firely's Validator is not documented as thread-safe, so calls are serialized per
    /// version here; the performance issue replaces this with pooled validators over a shared schema cache.
    /// </summary>
    public OperationOutcome Validate(Resource resource, string profile)
    {
        lock (_gate)
        {
            return _validator.Validate(resource, profile);
        }
    }
}

/// <summary>
/// Profile validation of PAS Bundles with Firely.Fhir.Validation, one corrected profile set per PAS version, loaded from
/// the configured package directories. Real errors reject; the classes Inferno suppresses are returned as warnings.
/// </summary>
public sealed class FirelyPasValidator : IPasValidator
{
    private readonly Dictionary<PasVersion, Lazy<PasProfiles>> _profiles;

    /// <summary>Checks that every package is present now (so a missing one stops the start); loads them on first use.</summary>
    /// <param name="locator">Where the IG packages are.</param>
    /// <param name="cacheDirectory">Where the core definitions' index is kept between processes (default: the temporary directory).</param>
    public FirelyPasValidator(FhirPackageLocator locator, string? cacheDirectory = null)
    {
        locator.RequireAll(Enum.GetValues<PasVersion>().SelectMany(PasProfiles.RequiredPackages).Distinct());
        var core = CoreSpecification.For(cacheDirectory ?? CoreSpecification.DefaultCacheDirectory);
        _profiles = Enum.GetValues<PasVersion>().ToDictionary(v => v, v => new Lazy<PasProfiles>(() => new PasProfiles(v, locator, core)));
    }

    /// <summary>
    /// Starts reading the packages and the core definitions of every version in the background, so that a host can
    /// overlap that with its own start; <see cref="WarmUp"/> and validation wait for it where they need it.
    /// </summary>
    public void StartLoading()
    {
        foreach (var profiles in _profiles.Values)
        {
            System.Threading.Tasks.Task.Run(() => profiles.Value);
        }
    }

    /// <summary>
    /// Loads and corrects the profiles and compiles the schemas a request touches by validating the IG's own example
    /// request Bundle; returns the corrections applied, for the log.
    /// </summary>
    public IReadOnlyList<string> WarmUp(PasVersion version)
    {
        var profiles = _profiles[version].Value;
        if (profiles.Examples.TryGetValue("Bundle-ReferralAuthorizationBundleExample.json", out var example) &&
            Fhir.FhirJson.ParseIgnoringUnknownElements(System.Text.Encoding.UTF8.GetBytes(example)) is Bundle bundle)
        {
            Validate(bundle, version, PasOperation.Submit);
        }
        lock (profiles.Applied)
        {
            return profiles.Applied.Select(a => $"{a.CorrectionId} {a.Profile}: {a.Change}").ToList();
        }
    }

    /// <inheritdoc />
    public PasValidationReport Validate(Bundle bundle, PasVersion version, PasOperation operation) =>
        ValidateAgainst(bundle, version, RequestProfile(operation));

    internal static string RequestProfile(PasOperation operation) =>
        operation == PasOperation.Submit ? "profile-pas-request-bundle" : "profile-pas-inquiry-request-bundle";

    internal PasProfiles Profiles(PasVersion version) => _profiles[version].Value;

    /// <summary>Validates any resource against a PAS profile of the version (e.g. <c>profile-pas-response-bundle</c>), classified like requests.</summary>
    public PasValidationReport ValidateAgainst(Resource resource, PasVersion version, string profileId) =>
        ValidateAgainstCanonical(resource, version, version.Profile(profileId));

    /// <summary>Validates any resource against a profile in the version's packages (PAS, US Core, CRD 2.0.1) by its canonical URL.</summary>
    public PasValidationReport ValidateAgainstCanonical(Resource resource, PasVersion version, string canonical)
    {
        var outcome = _profiles[version].Value.Validate(resource, canonical);
        var (real, suppressed, warnings) = IssueClassifier.Classify(outcome, () => JsonNode.Parse(Fhir.FhirJson.ToBytes(resource)));
        return new PasValidationReport(real.Select(Normalize).ToList(), suppressed.Select(s => s.Issue).Concat(warnings).Select(Normalize).ToList());
    }

    /// <summary>Firely writes locations like <c>Bundle.entry[0].resource[0].item[1]</c>; PAS clients expect FHIRPath expressions.</summary>
    private static OperationOutcome.IssueComponent Normalize(OperationOutcome.IssueComponent issue)
    {
        var expressions = issue.Location.Concat(issue.Expression).Where(l => l is not null)
            .Select(l => l!.Replace(".resource[0]", ".resource", StringComparison.Ordinal)).Distinct().ToList();
        return new OperationOutcome.IssueComponent
        {
            Severity = issue.Severity,
            Code = issue.Code,
            Diagnostics = IssueClassifier.Message(issue),
            Expression = expressions,
        };
    }
}
