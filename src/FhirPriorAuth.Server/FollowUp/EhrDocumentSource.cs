using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.FollowUp;

/// <summary>Settings of section <c>Ehr</c>: the EHRs of requesting organizations, searched for missing documents.</summary>
public sealed class EhrOptions
{
    /// <summary>One entry per EHR.</summary>
    public List<EhrConnection> Connections { get; set; } = [];

    /// <summary>The first delay between retries of a failed EHR call (doubling, with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>One EHR: whose it is, where its FHIR API is, and the SMART Backend Services client the payer has there.</summary>
public sealed class EhrConnection
{
    /// <summary>A name for logs and the record.</summary>
    public string Name { get; set; } = "";

    /// <summary>The organizations it serves, as <c>system|value</c> identifiers (NPI, PAS 2.2.1 sender id).</summary>
    public List<string> Organizations { get; set; } = [];

    /// <summary>The EHR's FHIR base URL.</summary>
    public string FhirBaseUrl { get; set; } = "";

    /// <summary>The EHR's token endpoint.</summary>
    public string TokenUrl { get; set; } = "";

    /// <summary>The payer's client id at the EHR.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The client's private key: a PEM file (PKCS#8, RSA or EC) or a JWK JSON file.</summary>
    public string PrivateKeyFile { get; set; } = "";

    /// <summary>The key id the EHR knows the public key by (the JWK's own when unset).</summary>
    public string? KeyId { get; set; }

    /// <summary>RS384 or ES384.</summary>
    public string Algorithm { get; set; } = SecurityAlgorithms.EcdsaSha384;

    /// <summary>The scopes asked for.</summary>
    public string Scopes { get; set; } = "system/Patient.rs system/DocumentReference.rs";
}

/// <summary>
/// CDex direct query against the requesting organization's EHR with Firely's <see cref="FhirClient"/>: finds the EHR's
/// patient by the member's identifiers, then searches its DocumentReferences by type and date. Authenticates with SMART
/// Backend Services (client_credentials, private_key_jwt) and reuses each access token until shortly before it expires.
/// HTTP calls go through the <see cref="HttpClientName"/> client, whose resilience handler retries with backoff.
/// </summary>
public sealed class EhrDocumentSource : IDocumentSource
{
    /// <summary>The named HttpClient of EHR calls.</summary>
    public const string HttpClientName = "ehr";

    private const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    private readonly IHttpClientFactory _http;
    private readonly List<(EhrConnection Connection, HashSet<string> Organizations, SigningCredentials Credentials)> _connections = [];
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Until)> _tokens = new();
    private readonly SemaphoreSlim _tokenGate = new(1, 1);

    /// <summary>Reads every connection's key now, so a bad setting stops the start rather than a later pull.</summary>
    public EhrDocumentSource(EhrOptions options, IHttpClientFactory http)
    {
        _http = http;
        foreach (var c in options.Connections)
        {
            var missing = new[] { ("FhirBaseUrl", c.FhirBaseUrl), ("TokenUrl", c.TokenUrl), ("ClientId", c.ClientId), ("PrivateKeyFile", c.PrivateKeyFile) }
                .Where(f => string.IsNullOrWhiteSpace(f.Item2)).Select(f => f.Item1).ToList();
            if (missing.Count > 0 || c.Organizations.Count == 0)
            {
                throw new InvalidOperationException($"Ehr connection '{c.Name}' needs {string.Join(", ", missing.Append(c.Organizations.Count == 0 ? "Organizations" : null).OfType<string>())}.");
            }
            if (c.Algorithm is not (SecurityAlgorithms.RsaSha384 or SecurityAlgorithms.EcdsaSha384))
            {
                throw new InvalidOperationException($"Ehr connection '{c.Name}': Algorithm must be RS384 or ES384 (SMART Backend Services), not {c.Algorithm}.");
            }
            _connections.Add((c, c.Organizations.ToHashSet(StringComparer.Ordinal), new SigningCredentials(ReadKey(c), c.Algorithm)));
        }
    }

    /// <inheritdoc />
    public bool Serves(IReadOnlyList<IdentifierKey> providers) => Find(providers) is not null;

    /// <inheritdoc />
    public async Task<DocumentSearch> FindAsync(DocumentQuery query, CancellationToken ct)
    {
        var (connection, _, credentials) = Find(query.Providers) ?? throw new InvalidOperationException("No EHR is configured for the requesting provider.");
        var token = await AccessTokenAsync(connection, credentials, ct);
        using var http = _http.CreateClient(HttpClientName);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var client = new FhirClient(connection.FhirBaseUrl, http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false })
            .WithLenientSerializer();
        var queries = new List<string>();

        string? patientId = null;
        foreach (var member in query.Members)
        {
            var search = $"Patient?identifier={Uri.EscapeDataString(member.System is null ? member.Value : $"{member.System}|{member.Value}")}";
            queries.Add(search);
            if (await client.GetAsync(search, ct) is Bundle patients && patients.Entry.Select(e => e.Resource).OfType<Patient>().FirstOrDefault() is { Id: { } id })
            {
                patientId = id;
                break;
            }
        }
        if (patientId is null)
        {
            return new DocumentSearch(connection.FhirBaseUrl, [], queries);
        }
        var types = string.Join(",", query.Loinc.Select(code => $"http://loinc.org|{code}"));
        var documents = $"DocumentReference?patient={Uri.EscapeDataString(patientId)}&type={Uri.EscapeDataString(types)}" +
            $"&date=ge{query.Since.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}&_count=50";
        queries.Add(documents);
        var found = await client.GetAsync(documents, ct) as Bundle;
        return new DocumentSearch(connection.FhirBaseUrl, found?.Entry.Select(e => e.Resource).OfType<DocumentReference>().ToList() ?? [], queries);
    }

    private (EhrConnection, HashSet<string>, SigningCredentials)? Find(IReadOnlyList<IdentifierKey> providers) =>
        _connections.FirstOrDefault(c => providers.Any(p => c.Organizations.Contains(p.ToString()))) is { Connection: not null } found ? found : null;

    /// <summary>A cached access token, or a new one from the EHR's token endpoint (one request at a time).</summary>
    private async Task<string> AccessTokenAsync(EhrConnection connection, SigningCredentials credentials, CancellationToken ct)
    {
        // Wall-clock time: tokens are judged by the EHR's clock, not the server's (test-movable) one.
        if (_tokens.TryGetValue(connection.TokenUrl + " " + connection.ClientId, out var cached) && cached.Until > DateTimeOffset.UtcNow)
        {
            return cached.Token;
        }
        await _tokenGate.WaitAsync(ct);
        try
        {
            var key = connection.TokenUrl + " " + connection.ClientId;
            if (_tokens.TryGetValue(key, out cached) && cached.Until > DateTimeOffset.UtcNow)
            {
                return cached.Token;
            }
            var now = DateTime.UtcNow;
            var assertion = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = connection.ClientId,
                Audience = connection.TokenUrl,
                Claims = new Dictionary<string, object> { ["sub"] = connection.ClientId, ["jti"] = Guid.NewGuid().ToString("N") },
                Expires = now.AddMinutes(4),
                SigningCredentials = credentials,
            });
            using var http = _http.CreateClient(HttpClientName);
            using var response = await http.PostAsync(connection.TokenUrl, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = connection.Scopes,
                ["client_assertion_type"] = AssertionType,
                ["client_assertion"] = assertion,
            }), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"The token endpoint of EHR '{connection.Name}' answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
            }
            using var json = JsonDocument.Parse(body);
            var token = json.RootElement.GetProperty("access_token").GetString() ?? throw new HttpRequestException("The token response has no access_token.");
            var lifetime = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 300;
            // Renewed a little before it expires, so no request goes out with a token about to lapse.
            _tokens[key] = (token, DateTimeOffset.UtcNow.AddSeconds(lifetime - Math.Min(60, lifetime / 5)));
            return token;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    private static SecurityKey ReadKey(EhrConnection c)
    {
        var text = File.ReadAllText(c.PrivateKeyFile);
        if (text.TrimStart().StartsWith('{'))
        {
            var jwk = new JsonWebKey(text);
            if (c.KeyId is not null) jwk.KeyId = c.KeyId;
            return jwk;
        }
        SecurityKey key;
        if (c.Algorithm == SecurityAlgorithms.EcdsaSha384)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(text);
            key = new ECDsaSecurityKey(ec);
        }
        else
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(text);
            key = new RsaSecurityKey(rsa);
        }
        key.KeyId = c.KeyId ?? c.ClientId;
        return key;
    }
}
