using System.Buffers;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>The form of a FHIR <c>id</c>: 1 to 64 ASCII letters, digits, '-' and '.' (R4's <c>[A-Za-z0-9\-\.]{1,64}</c>).</summary>
internal static class FhirIds
{
    private static readonly SearchValues<char> Characters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.");

    /// <summary>Whether <paramref name="text"/> is an id in form.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text) => text.Length is > 0 and <= 64 && !text.ContainsAnyExcept(Characters);
}
