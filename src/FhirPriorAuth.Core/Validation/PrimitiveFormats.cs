using FhirPriorAuth.Core.Fhir;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// Hand-written checks for the R4 primitive formats a PAS request holds most (uri, canonical and url; code; id; the
/// integers, decimal and boolean), each accepting exactly what the type's regex accepts as
/// <see cref="CompiledProfiles.PrimitiveFormat"/> anchors it: <c>^(?:pattern)$</c>, whose <c>$</c> also matches before a
/// final line feed, and whose <c>\s</c> is <see cref="char.IsWhiteSpace(char)"/>. Keyed by the pattern's text, so a
/// definition with another pattern keeps its regex. The regexes' automaton was most of the format checks' time.
/// </summary>
internal static class PrimitiveFormats
{
    private delegate bool Check(ReadOnlySpan<char> text);

    /// <summary>The check for <paramref name="pattern"/>, or null when it has none here.</summary>
    public static Func<string, bool>? For(string pattern)
    {
        Check? check = pattern switch
        {
            @"\S*" => static text => !HasWhiteSpace(text),
            @"[^\s]+(\s[^\s]+)*" => IsCode,
            @"[A-Za-z0-9\-\.]{1,64}" => FhirIds.IsWellFormed,
            "true|false" => static text => text is "true" or "false",
            "[1-9][0-9]*" => IsPositive,
            "[0]|([1-9][0-9]*)" => IsUnsigned,
            @"-?([0]|([1-9][0-9]*))" => static text => IsUnsigned(text.StartsWith('-') ? text[1..] : text),
            @"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?" => IsDecimal,
            _ => null,
        };
        return check is null ? null : text => check(text) || (text.EndsWith('\n') && check(text.AsSpan(0, text.Length - 1)));
    }

    private static bool HasWhiteSpace(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Words of at least one character, each parted from the next by a single white space.</summary>
    private static bool IsCode(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))
        {
            return false;
        }
        for (var i = 1; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) && char.IsWhiteSpace(text[i - 1]))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsPositive(ReadOnlySpan<char> text) => text.Length > 0 && text[0] is >= '1' and <= '9' && Digits(text) == text.Length;

    /// <summary>0, or digits without a leading zero.</summary>
    private static bool IsUnsigned(ReadOnlySpan<char> text) => text is "0" || IsPositive(text);

    private static bool IsDecimal(ReadOnlySpan<char> text)
    {
        if (text.StartsWith('-'))
        {
            text = text[1..];
        }
        var integer = Digits(text);
        if (integer == 0 || (integer > 1 && text[0] == '0'))
        {
            return false;
        }
        text = text[integer..];
        if (text.StartsWith('.'))
        {
            var fraction = Digits(text[1..]);
            if (fraction == 0)
            {
                return false;
            }
            text = text[(1 + fraction)..];
        }
        if (text.Length > 0 && text[0] is 'e' or 'E')
        {
            text = text[1..];
            if (text.Length > 0 && text[0] is '+' or '-')
            {
                text = text[1..];
            }
            var exponent = Digits(text);
            if (exponent == 0)
            {
                return false;
            }
            text = text[exponent..];
        }
        return text.IsEmpty;
    }

    /// <summary>How many ASCII digits <paramref name="text"/> starts with.</summary>
    private static int Digits(ReadOnlySpan<char> text) => text.IndexOfAnyExceptInRange('0', '9') is var other and >= 0 ? other : text.Length;
}
