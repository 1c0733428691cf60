namespace FhirPriorAuth.Server.Fhir;

/// <summary>Configuration section <c>Fhir</c>.</summary>
public sealed class FhirOptions
{
    /// <summary>Largest request body accepted; larger ones get 413. PAS bundles with attached documents need a few MB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>The server root URL clients see behind a proxy (e.g. <c>https://payer.example.org</c>); each FHIR base is this plus its path. When empty it is taken from the request.</summary>
    public string? PublicBaseUrl { get; set; }
}
