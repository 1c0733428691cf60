using System.Net.Http.Headers;
using FhirPriorAuth.Core.Crd;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace FhirPriorAuth.Server.Crd;

/// <summary>
/// Reads what a hook call did not prefetch from the calling EHR, with the token it gave: one <c>batch</c> Bundle of
/// GETs (CRD foundation), or the GETs one by one when the EHR refuses batches.
/// </summary>
public sealed class EhrFhirClient(IHttpClientFactory clients) : IEhrFhir
{
    /// <summary>The named HttpClient.</summary>
    public const string HttpClientName = "crd-ehr";

    /// <inheritdoc />
    public async Task<IReadOnlyList<EhrRead>> ReadAsync(string fhirServer, FhirAuthorization? token, IReadOnlyList<string> requests, CancellationToken ct)
    {
        using var http = clients.CreateClient(HttpClientName);
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        }
        using var client = new FhirClient(fhirServer, http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false })
            .WithLenientSerializer();
        var batch = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry = requests.Select(r => new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = r } }).ToList(),
        };
        try
        {
            var answer = await client.TransactionAsync(batch, ct);
            if (answer is { Entry.Count: var n } && n == requests.Count)
            {
                return requests.Select((r, i) => answer.Entry[i] is { Resource: { } resource and not OperationOutcome } entry && entry.Response?.Status?.StartsWith('2') != false
                    ? new EhrRead(r, resource, null)
                    : new EhrRead(r, null, $"HTTP {answer.Entry[i].Response?.Status ?? "?"}")).ToList();
            }
        }
        catch (FhirOperationException e) when ((int)e.Status is >= 400 and < 500 && e.Status != System.Net.HttpStatusCode.Unauthorized)
        {
            // No batch support: read one at a time below.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return requests.Select(r => new EhrRead(r, null, Describe(e))).ToList();
        }
        var reads = new List<EhrRead>();
        foreach (var request in requests)
        {
            try
            {
                reads.Add(new EhrRead(request, await client.GetAsync(request, ct), null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                reads.Add(new EhrRead(request, null, Describe(e)));
            }
        }
        return reads;
    }

    private static string Describe(Exception e) => e is FhirOperationException f ? $"HTTP {(int)f.Status} {f.Status}" : e.Message;
}
