using System.Net.Http.Headers;
using FhirPriorAuth.Core.Subscriptions;

namespace FhirPriorAuth.Server.Subscriptions;

/// <summary>Delivers notifications over HTTP: a POST with the Subscription's content type and every header it asked for, verbatim.</summary>
public sealed class RestHook(IHttpClientFactory clients) : IRestHook
{
    /// <summary>The named HttpClient (timeout, no redirects).</summary>
    public const string HttpClientName = "rest-hook";

    /// <inheritdoc />
    public async Task SendAsync(PasSubscription target, byte[] body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(target.ContentType);
        foreach (var header in target.Headers)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = (header[..colon].Trim(), header[(colon + 1)..].Trim());
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        using var response = await clients.CreateClient(HttpClientName).SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{target.Endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }
    }
}
