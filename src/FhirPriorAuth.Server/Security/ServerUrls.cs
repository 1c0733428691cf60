using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Server.Pas;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FhirPriorAuth.Server.Security;

/// <summary>
/// The server's own absolute URLs: token audiences, the built-in issuer and its endpoints. Taken from
/// <c>Fhir:PublicBaseUrl</c>, else from the address the server listens on, never from a request's Host header, which
/// a caller controls.
/// </summary>
public sealed class ServerUrls(FhirOptions fhir, SecurityOptions security, IServer server)
{
    private string? _root;

    /// <summary>The root URL, without a trailing slash.</summary>
    public string Root => _root ??= ResolveRoot();

    /// <summary>The accepted <c>aud</c> values.</summary>
    public IReadOnlyList<string> Audiences => security.Audiences.Count > 0
        ? security.Audiences
        : [.. PasSetup.Bases.Select(b => Root + b.Prefix), Root];

    /// <summary>The built-in authorization server's issuer.</summary>
    public string Issuer => Root + "/auth";

    /// <summary>The token endpoint.</summary>
    public string TokenEndpoint => Root + "/auth/token";

    /// <summary>The built-in server's public keys.</summary>
    public string JwksUri => Root + "/auth/jwks";

    private string ResolveRoot()
    {
        if (!string.IsNullOrWhiteSpace(fhir.PublicBaseUrl))
        {
            return fhir.PublicBaseUrl.TrimEnd('/');
        }
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has no address yet; set Fhir:PublicBaseUrl.");
        return address.Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).TrimEnd('/');
    }
}
