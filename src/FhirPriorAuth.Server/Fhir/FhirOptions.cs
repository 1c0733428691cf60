namespace FhirPriorAuth.Server.Fhir;

/// <summary>Configuration section <c>Fhir</c>.</summary>
public sealed class FhirOptions
{
    /// <summary>Largest request body accepted; larger ones get 413. PAS bundles with attached documents need a few MB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>The base URL clients see (behind a proxy); when empty it is taken from the request.</summary>
    public string? PublicBaseUrl { get; set; }
}
