using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// A request that FHIR says must fail with a given HTTP status. The host turns it into that status plus the
/// <see cref="Outcome"/>; Core code throws it instead of knowing about HTTP.
/// </summary>
public sealed class FhirException : Exception
{
    /// <summary>Creates the exception from a status and a ready OperationOutcome.</summary>
    public FhirException(int status, OperationOutcome outcome)
        : base(outcome.Issue.FirstOrDefault()?.Diagnostics ?? $"HTTP {status}")
    {
        Status = status;
        Outcome = outcome;
    }

    /// <summary>The HTTP status code the client receives.</summary>
    public int Status { get; }

    /// <summary>What went wrong, for the client.</summary>
    public OperationOutcome Outcome { get; }

    /// <summary>400: the request is malformed or breaks a FHIR rule.</summary>
    public static FhirException BadRequest(string diagnostics, string? expression = null,
        OperationOutcome.IssueType type = OperationOutcome.IssueType.Invalid) =>
        new(400, Outcomes.Error(type, diagnostics, expression));

    /// <summary>422: well-formed, but not what the operation can process.</summary>
    public static FhirException Unprocessable(string diagnostics, string? expression = null,
        OperationOutcome.IssueType type = OperationOutcome.IssueType.Invalid) =>
        new(422, Outcomes.Error(type, diagnostics, expression));

    /// <summary>404: unknown resource type, id or version.</summary>
    public static FhirException NotFound(string diagnostics) =>
        new(404, Outcomes.Error(OperationOutcome.IssueType.NotFound, diagnostics));

    /// <summary>410: the resource existed and was deleted.</summary>
    public static FhirException Gone(string diagnostics) =>
        new(410, Outcomes.Error(OperationOutcome.IssueType.Deleted, diagnostics));

    /// <summary>403: the caller is known but may not do this.</summary>
    public static FhirException Forbidden(string diagnostics) =>
        new(403, Outcomes.Error(OperationOutcome.IssueType.Forbidden, diagnostics));

    /// <summary>409: the write collided with another one.</summary>
    public static FhirException Conflict(string diagnostics) =>
        new(409, Outcomes.Error(OperationOutcome.IssueType.Conflict, diagnostics));

    /// <summary>412: a precondition (<c>If-Match</c>, conditional criteria) does not hold.</summary>
    public static FhirException PreconditionFailed(string diagnostics) =>
        new(412, Outcomes.Error(OperationOutcome.IssueType.Conflict, diagnostics));
}
