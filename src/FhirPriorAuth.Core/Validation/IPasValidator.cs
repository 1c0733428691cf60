using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Validation;

/// <summary>Profile validation of PAS request Bundles against the PAS profiles of a version.</summary>
public interface IPasValidator
{
    /// <summary>
    /// Validates the Bundle. Errors reject the request; warnings (the suppressed classes: X12 terminology, draft code
    /// systems, IG extension-context defects) are kept with the submission.
    /// </summary>
    PasValidationReport Validate(Bundle bundle, PasVersion version, PasOperation operation);

    /// <summary>
    /// The report of a Bundle shown to conform without the full validation, or null when it is not (then call
    /// <see cref="Validate"/>). A proof covers the parser's own checks of values and cardinalities, so a Bundle read
    /// with <see cref="Fhir.FhirJson.ParseForProof"/> may be trusted only when this answers.
    /// </summary>
    PasValidationReport? TryProve(Bundle bundle, PasVersion version, PasOperation operation) => null;
}

/// <summary>What validation found.</summary>
/// <param name="Errors">Issues that make the request unprocessable.</param>
/// <param name="Warnings">Issues that are recorded but do not reject it.</param>
public sealed record PasValidationReport(IReadOnlyList<OperationOutcome.IssueComponent> Errors, IReadOnlyList<OperationOutcome.IssueComponent> Warnings)
{
    /// <summary>A clean report.</summary>
    public static PasValidationReport Clean { get; } = new([], []);
}
