using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// Splits OperationOutcome issues into "real" (reject-worthy) and known, suppressed classes.
/// Only error/fatal issues are candidates for "real"; warnings/information are always reported as such.
/// Rules are matched against issue.details.text (Firely puts the message there), issue.diagnostics and the location.
/// </summary>
internal static class IssueClassifier
{
    public sealed record Rule(string Class, string Why, Func<OperationOutcome.IssueComponent, string, bool> Match);

    private static bool Has(string s, string sub) => s.Contains(sub, StringComparison.OrdinalIgnoreCase);

    public static readonly IReadOnlyList<Rule> SuppressionRules =
    [
        new("X12-terminology",
            "X12 code systems/value sets (https://codesystem.x12.org/..., https://valueset.x12.org/...) are not published; membership can never be confirmed (pas-notes Known problem 3 / Inferno suppression list)",
            (_, m) => Has(m, "x12.org")),
        new("NUBC/AHA/other unpublished terminology",
            "Inferno suppression list: NUBC revenue codes, AHANUBCRevenueCodes, pas-pwk01-attachment-report-type-code, PASCommunicationRequestMedium",
            (_, m) => Has(m, "nubc") || Has(m, "AHANUBCRevenueCodes") || Has(m, "pas-pwk01-attachment-report-type-code") || Has(m, "PASCommunicationRequestMedium")),
        new("PASTempCodes-draft",
            "Reference to draft CodeSystem PASTempCodes (Inferno suppression list)",
            (_, m) => Has(m, "PASTempCodes") && (Has(m, "draft"))),
        new("extension-context (IG defect)",
            "IG defects in extension contexts listed in pas-notes §2.3 (authorizationNumber/administrationReferenceNumber on Claim, infoChanged/infoCancelled on Claim.supportingInfo, " +
            "communicatedDiagnosis on ClaimResponse.item, productOrServiceCodeEnd on ServiceRequest/ClaimResponse.addItem, itemAuthorizedProvider on ClaimResponse, " +
            "revenueUnitRateLimit/serviceItemRequestType/certificationType on ClaimResponse.addItem)",
            (_, m) => ExtensionContextMessage().IsMatch(m) && SuppressedContextExtensions!.Any(x => Has(m, "extension-" + x))),
        new("narrative-xhtml",
            "Narrative (Resource.text.div) XHTML problems are not a reason to reject a PA request (pas-notes Known problem 7)",
            (i, m) => (Has(m, "xhtml") || Has(m, "narrative")) || (i.Location.Any(l => l is not null && (l.EndsWith(".text.div", StringComparison.Ordinal) || l.Contains(".text.div[", StringComparison.Ordinal))) && Has(m, "html"))),
    ];

    // Extension-context IG defects from pas-notes §2.3
    private static readonly string[] SuppressedContextExtensions =
    [
        "authorizationNumber", "administrationReferenceNumber", "infoChanged", "infoCancelled", "communicatedDiagnosis",
        "productOrServiceCodeEnd", "itemAuthorizedProvider", "revenueUnitRateLimit", "serviceItemRequestType", "certificationType",
        "serviceLineNumber",
    ];

    /// <summary>True for the extensions (by the last segment of their url) whose context defects are suppressed.</summary>
    public static bool IsSuppressedContextExtension(string urlTail) => SuppressedContextExtensions.Any(x => urlTail == "extension-" + x);

    private static Regex ExtensionContextMessage() => ExtensionContextRegex;
    private static readonly Regex ExtensionContextRegex = new(@"(not allowed to be used|is not allowed|context)", RegexOptions.IgnoreCase | RegexOptions.Compiled);

    public static string Message(OperationOutcome.IssueComponent i) => i.Details?.Text ?? i.Diagnostics ?? "";

    /// <summary>
    /// Firely's "Extension used outside of appropriate contexts" message does not name the extension; the location does
    /// (e.g. Bundle.entry[0].resource[0].supportingInfo[0].modifierExtension[0]). Look the url up in the instance JSON.
    /// </summary>
    public static string? ExtensionUrlAt(System.Text.Json.Nodes.JsonNode? root, string? location)
    {
        if (root is null || location is null) return null;
        var node = root;
        foreach (var seg in location.Split('.').Skip(1))
        {
            var m = Regex.Match(seg, @"^([^\[]+)(?:\[(\d+)\])?$");
            if (!m.Success || node is not System.Text.Json.Nodes.JsonObject obj || !obj.TryGetPropertyValue(m.Groups[1].Value, out var next) || next is null) return null;
            var idx = m.Groups[2].Success ? int.Parse(m.Groups[2].Value) : 0;
            node = next is System.Text.Json.Nodes.JsonArray arr ? (idx < arr.Count ? arr[idx] : null) : (idx == 0 ? next : null);
            if (node is null) return null;
        }
        return (node as System.Text.Json.Nodes.JsonObject)?["url"]?.GetValue<string>();
    }

    public static (List<OperationOutcome.IssueComponent> Real, List<(string Class, OperationOutcome.IssueComponent Issue)> Suppressed, List<OperationOutcome.IssueComponent> Warnings)
        Classify(OperationOutcome oo, Func<System.Text.Json.Nodes.JsonNode?> instanceJson)
    {
        // The instance JSON is only needed (and only built) when a context error must be traced to its extension url.
        var instance = new Lazy<System.Text.Json.Nodes.JsonNode?>(instanceJson);
        var real = new List<OperationOutcome.IssueComponent>();
        var suppressed = new List<(string, OperationOutcome.IssueComponent)>();
        var warnings = new List<OperationOutcome.IssueComponent>();
        foreach (var i in oo.Issue)
        {
            var msg = Message(i) + " " + (i.Diagnostics ?? "");
            if (Has(msg, "Extension used outside of appropriate contexts") && ExtensionUrlAt(instance.Value, i.Location.FirstOrDefault()) is { } extUrl)
                msg += " [extension " + extUrl + "]";
            var rule = SuppressionRules.FirstOrDefault(r => r.Match(i, msg));
            if (i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            {
                if (rule is not null) suppressed.Add((rule.Class, i));
                else real.Add(i);
            }
            else warnings.Add(i);
        }
        // "X does not validate against any of the expected profiles" summarises the failures beneath it. When no real
        // failure is beneath it and some were suppressed, the summary goes with them: narrative XHTML issues, for one,
        // carry no location, so "beneath" cannot always be shown.
        foreach (var summary in real.Where(IsSummary).ToList())
        {
            var at = summary.Location.FirstOrDefault() ?? "";
            var realBeneath = real.Any(r => !IsSummary(r) && r.Location.Any(l => l is not null && l.StartsWith(at, StringComparison.Ordinal)));
            if (!realBeneath && suppressed.Count > 0)
            {
                real.Remove(summary);
                suppressed.Add(("summary-of-suppressed", summary));
            }
        }
        return (real, suppressed, warnings);
    }

    private static bool IsSummary(OperationOutcome.IssueComponent issue) =>
        Message(issue).Contains("does not validate against any of the expected", StringComparison.Ordinal);

    public static string Format(OperationOutcome.IssueComponent i)
        => $"{i.Severity,-7} {i.Code,-13} {Message(i)}  @ {string.Join(", ", i.Location.Concat(i.Expression).Distinct())}";
}
