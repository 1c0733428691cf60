namespace FhirPriorAuth.Core.Policy;

/// <summary>Matching of CPT/HCPCS codes against a rule's codes and inclusive ranges (<c>70010-76499</c>).</summary>
public static class PolicyCodes
{
    /// <summary>True when <paramref name="code"/> equals one of the codes or falls in one of the ranges.</summary>
    public static bool Matches(IEnumerable<string> ruleCodes, string code) =>
        ruleCodes.Any(rule => TryRange(rule, out var low, out var high)
            ? code.Length == low.Length && string.CompareOrdinal(code, low) >= 0 && string.CompareOrdinal(code, high) <= 0
            : string.Equals(rule, code, StringComparison.OrdinalIgnoreCase));

    /// <summary>Splits a range; CPT and HCPCS codes have a fixed length, so ordinal comparison orders them.</summary>
    public static bool TryRange(string text, out string low, out string high)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        low = dash > 0 ? text[..dash].Trim().ToUpperInvariant() : "";
        high = dash > 0 ? text[(dash + 1)..].Trim().ToUpperInvariant() : "";
        return dash > 0;
    }

    /// <summary>True for a well-formed code (five letters or digits) or range of two such codes in order.</summary>
    public static bool IsWellFormed(string text)
    {
        static bool IsCode(string c) => c.Length == 5 && c.All(char.IsAsciiLetterOrDigit);
        return TryRange(text, out var low, out var high)
            ? IsCode(low) && IsCode(high) && string.CompareOrdinal(low, high) <= 0
            : IsCode(text);
    }
}
