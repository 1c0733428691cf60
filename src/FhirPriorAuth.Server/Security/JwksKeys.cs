using System.Collections.Concurrent;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>The signing keys of a client that signs its own JWTs: an inline JWKS, or one read from its URL (cached 5 minutes).</summary>
public static class JwksKeys
{
    private static readonly ConcurrentDictionary<string, (JsonWebKeySet Keys, DateTimeOffset At)> Remote = new();

    /// <summary>
    /// The keys; throws <see cref="ArgumentException"/> when there are none or the URL is not https (loopback excepted),
    /// and the HTTP or JSON exception when the URL cannot be read.
    /// </summary>
    public static async Task<IList<SecurityKey>> ReadAsync(string? inline, string? url, IHttpClientFactory httpClients, DateTimeOffset now, CancellationToken ct)
    {
        if (inline is not null)
        {
            return new JsonWebKeySet(inline).GetSigningKeys();
        }
        if (url is null)
        {
            throw new ArgumentException("The client has no keys.");
        }
        if (!url.StartsWith("https://", StringComparison.Ordinal) && !BearerTokens.IsLoopback(url))
        {
            throw new ArgumentException("A JWKS URL must use https.");
        }
        if (!Remote.TryGetValue(url, out var cached) || now - cached.At > TimeSpan.FromMinutes(5))
        {
            using var http = httpClients.CreateClient("jwks");
            http.Timeout = TimeSpan.FromSeconds(5);
            cached = (new JsonWebKeySet(await http.GetStringAsync(url, ct)), now);
            Remote[url] = cached;
        }
        return cached.Keys.GetSigningKeys();
    }
}
