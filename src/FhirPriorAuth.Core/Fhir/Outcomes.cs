using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>Builds OperationOutcome resources with one or more issues.</summary>
public static class Outcomes
{
    /// <summary>An outcome with a single error issue; <paramref name="expression"/> is a FHIRPath to the culprit.</summary>
    public static OperationOutcome Error(OperationOutcome.IssueType type, string diagnostics, string? expression = null) =>
        Single(OperationOutcome.IssueSeverity.Error, type, diagnostics, expression);

    /// <summary>An outcome with a single informational issue.</summary>
    public static OperationOutcome Information(string diagnostics) =>
        Single(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, diagnostics, null);

    /// <summary>An outcome with one issue of the given severity.</summary>
    public static OperationOutcome Single(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType type,
        string diagnostics, string? expression) =>
        new() { Issue = [Issue(severity, type, diagnostics, expression)] };

    /// <summary>One issue, for outcomes that carry several.</summary>
    public static OperationOutcome.IssueComponent Issue(OperationOutcome.IssueSeverity severity,
        OperationOutcome.IssueType type, string diagnostics, string? expression = null)
    {
        var issue = new OperationOutcome.IssueComponent { Severity = severity, Code = type, Diagnostics = diagnostics };
        if (expression is not null)
        {
            issue.Expression = [expression];
        }
        return issue;
    }
}
