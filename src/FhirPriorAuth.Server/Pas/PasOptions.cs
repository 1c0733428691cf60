namespace FhirPriorAuth.Server.Pas;

/// <summary>Configuration section <c>Pas</c>.</summary>
public sealed class PasOptions
{
    /// <summary>Directory of coverage-policy files; empty means the demo policy shipped beside the server.</summary>
    public string? PolicyDirectory { get; set; }

    /// <summary>The directory used when <see cref="PolicyDirectory"/> is empty.</summary>
    public static string DemoPolicyDirectory => Path.Combine(AppContext.BaseDirectory, "policies");
}
