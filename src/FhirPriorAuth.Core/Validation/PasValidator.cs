using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// The server's PAS validation: first a proof of conformance over the compiled profiles (<see cref="ConformanceCheck"/>,
/// a few milliseconds, shared by all threads); when the proof does not go through, the full Firely validation decides
/// and reports the exact issues. Valid requests therefore take the fast path, and every rejection carries Firely's
/// verdict (docs/performance.md, ADR 0006).
/// </summary>
public sealed class PasValidator(FirelyPasValidator full) : IPasValidator
{
    private long _proven;
    private long _fullValidations;

    /// <summary>Requests shown to conform by the fast path.</summary>
    public long Proven => Interlocked.Read(ref _proven);

    /// <summary>Requests the full validator had to decide.</summary>
    public long FullValidations => Interlocked.Read(ref _fullValidations);

    /// <summary>The full validator the fast path falls back to.</summary>
    public FirelyPasValidator Full => full;

    /// <summary>Compiles the profiles and value sets a request meets, by proving the IG's example request.</summary>
    public void WarmUp(PasVersion version)
    {
        var profiles = full.Profiles(version);
        // The IG's request examples, each against the profile of its operation (responses and notifications are not requests).
        foreach (var (name, json) in profiles.Examples.Where(e => e.Key.StartsWith("Bundle-", StringComparison.Ordinal) &&
                     !e.Key.Contains("Response", StringComparison.Ordinal) && !e.Key.Contains("Notification", StringComparison.Ordinal)))
        {
            if (Fhir.FhirJson.ParseIgnoringUnknownElements(System.Text.Encoding.UTF8.GetBytes(json)) is Bundle bundle)
            {
                var operation = name.Contains("Inquiry", StringComparison.Ordinal) ? PasOperation.Inquire : PasOperation.Submit;
                ConformanceCheck.Prove(profiles.Compiled, bundle, version.Profile(FirelyPasValidator.RequestProfile(operation)));
            }
        }
    }

    /// <inheritdoc />
    public PasValidationReport Validate(Bundle bundle, PasVersion version, PasOperation operation)
    {
        if (TryProve(bundle, version, operation) is { } proven)
        {
            return proven;
        }
        Interlocked.Increment(ref _fullValidations);
        return full.Validate(bundle, version, operation);
    }

    /// <inheritdoc />
    public PasValidationReport? TryProve(Bundle bundle, PasVersion version, PasOperation operation)
    {
        var proof = Prove(bundle, version, operation);
        if (!proof.Proven)
        {
            return null;
        }
        Interlocked.Increment(ref _proven);
        return new PasValidationReport([], proof.Unchecked.Select(Warning).ToList());
    }

    internal ConformanceProof Prove(Bundle bundle, PasVersion version, PasOperation operation) =>
        ConformanceCheck.Prove(full.Profiles(version).Compiled, bundle, version.Profile(FirelyPasValidator.RequestProfile(operation)));

    private static OperationOutcome.IssueComponent Warning(string text) => new()
    {
        Severity = OperationOutcome.IssueSeverity.Warning,
        Code = OperationOutcome.IssueType.CodeInvalid,
        Diagnostics = text,
    };
}
