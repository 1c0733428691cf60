using System.Text.Json;
using System.Text.Json.Serialization;
using Hl7.FhirPath;

namespace FhirPriorAuth.Core.Policy;

/// <summary>A policy file that cannot be used; the message names the file, the place and the problem.</summary>
public sealed class PolicyFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Loads policy files (<c>*.json</c>) from a directory and checks them before any is used.</summary>
public static class PolicyLoader
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // A misspelt key would otherwise be ignored silently and change what the policy decides.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Loads every policy file in the directory; throws <see cref="PolicyFileException"/> listing every problem found.</summary>
    public static PolicySet LoadDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new PolicyFileException($"Policy directory '{directory}' does not exist.");
        }
        var files = Directory.GetFiles(directory, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new PolicyFileException($"Policy directory '{directory}' holds no policy files (*.json).");
        }
        var policies = files.Select(f => Parse(File.ReadAllText(f), f)).ToList();
        var duplicate = policies.GroupBy(p => p.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new PolicyFileException($"Policy id '{duplicate.Key}' is used by several files: {string.Join(", ", duplicate.Select(p => p.Source))}.");
        }
        return new PolicySet(policies);
    }

    /// <summary>Parses and checks one policy document.</summary>
    public static CoveragePolicy Parse(string json, string source)
    {
        CoveragePolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize<CoveragePolicy>(json, Options);
        }
        catch (JsonException e)
        {
            throw new PolicyFileException($"{source}: invalid policy at {e.Path ?? "$"} (line {e.LineNumber + 1}): {FirstSentence(e.Message)}", e);
        }
        if (policy is null)
        {
            throw new PolicyFileException($"{source}: the file is empty.");
        }
        policy.Source = source;
        var problems = Check(policy).ToList();
        if (problems.Count > 0)
        {
            throw new PolicyFileException($"{source}: {string.Join("; ", problems)}");
        }
        return policy;
    }

    private static string FirstSentence(string message) => message.Split(" Path:", 2)[0];

    private static IEnumerable<string> Check(CoveragePolicy policy)
    {
        if (string.IsNullOrWhiteSpace(policy.Id)) yield return "$.id is required";
        if (string.IsNullOrWhiteSpace(policy.Version)) yield return "$.version is required";
        if (policy.Plans.Count == 0) yield return "$.plans needs at least one plan value or \"*\"";
        if (policy.Rules.Count == 0) yield return "$.rules needs at least one rule";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            var at = $"$.rules[{i}]";
            if (string.IsNullOrWhiteSpace(rule.Id)) yield return $"{at}.id is required";
            else if (!ids.Add(rule.Id)) yield return $"{at}.id '{rule.Id}' is used twice";
            if (rule.Codes.Count == 0 && rule.ServiceTypes.Count == 0) yield return $"{at} needs codes or serviceTypes";
            foreach (var code in rule.Codes.Where(c => !PolicyCodes.IsWellFormed(c)))
            {
                yield return $"{at}.codes: '{code}' is not a CPT/HCPCS code or an ascending range like 70010-76499";
            }
            foreach (var problem in CheckDecision(rule.Decision, rule, $"{at}.decision")) yield return problem;
            for (int a = 0; a < rule.Alternatives.Count; a++)
            {
                var alternative = rule.Alternatives[a];
                if (!PolicyCodes.IsWellFormed(alternative.Code) || alternative.Code.Contains('-', StringComparison.Ordinal))
                    yield return $"{at}.alternatives[{a}].code: '{alternative.Code}' is not a CPT/HCPCS code";
                if (string.IsNullOrWhiteSpace(alternative.Display)) yield return $"{at}.alternatives[{a}].display is required";
            }
            if (rule.Documentation is { } documentation)
            {
                if (documentation.Loinc.Count == 0) yield return $"{at}.documentation.loinc needs at least one LOINC code";
                if (documentation.WithinDays <= 0) yield return $"{at}.documentation.withinDays must be positive";
            }
            for (int c = 0; c < rule.Conditions.Count; c++)
            {
                var condition = rule.Conditions[c];
                var cat = $"{at}.conditions[{c}]";
                if (string.IsNullOrWhiteSpace(condition.Id)) yield return $"{cat}.id is required";
                if (condition.DiagnosisPrefixes.Count == 0 && condition.MinAge is null && condition.MaxAge is null &&
                    condition.PlacesOfService.Count == 0 && condition.Expression is null)
                {
                    yield return $"{cat} checks nothing: give diagnosisPrefixes, minAge, maxAge, placesOfService or expression";
                }
                if (condition.Expression is { } expression && CompileError(expression) is { } error)
                {
                    yield return $"{cat}.expression is not valid FHIRPath: {error}";
                }
                foreach (var problem in CheckDecision(condition.Otherwise, rule, $"{cat}.otherwise")) yield return problem;
            }
        }
        if (policy.Default is { } fallback)
        {
            foreach (var problem in CheckDecision(fallback, null, "$.default")) yield return problem;
        }
    }

    private static IEnumerable<string> CheckDecision(PolicyDecision decision, PolicyRule? rule, string at)
    {
        if (decision.MaxQuantity is <= 0) yield return $"{at}.maxQuantity must be positive";
        if (decision.MaxQuantity is not null && decision.Action != PolicyAction.Approve) yield return $"{at}.maxQuantity applies only to approve";
        if (decision.Action == PolicyAction.PendDocumentation && rule?.Documentation is null)
        {
            yield return $"{at}: pend-documentation needs the rule's documentation (which LOINC types, how recent)";
        }
        if (decision.Action == PolicyAction.Deny && string.IsNullOrWhiteSpace(decision.Reason))
        {
            yield return $"{at}: a denial needs a reason (CMS-0057-F requires a specific reason)";
        }
    }

    private static string? CompileError(string expression)
    {
        try
        {
            new FhirPathCompiler().Compile(expression);
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return e.Message;
        }
    }
}
