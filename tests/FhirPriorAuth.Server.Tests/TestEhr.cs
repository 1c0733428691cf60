using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// A provider's EHR on loopback: a SMART Backend Services token endpoint that checks the payer's client assertion
/// (ES384, audience, issuer = subject, one-time jti) and a FHIR API serving Patient and DocumentReference searches to
/// holders of its tokens. Tests make it slow or failing, and read what it was asked.
/// </summary>
public sealed class TestEhr : IAsyncDisposable
{
    public const string ClientId = "payer-client";
    private readonly ECDsa _clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly ConcurrentDictionary<string, bool> _tokens = new();
    private readonly ConcurrentDictionary<string, bool> _jtis = new();
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    public string FhirBaseUrl => BaseUrl + "/fhir";

    public string TokenUrl => BaseUrl + "/token";

    /// <summary>The member identifier value the EHR's one patient carries.</summary>
    public string Member { get; set; } = "12345678901";

    /// <summary>The documents its DocumentReference search returns.</summary>
    public List<DocumentReference> Documents { get; } = [];

    /// <summary>How long each FHIR request takes.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When true, every FHIR request fails with 503.</summary>
    public bool Failing { get; set; }

    public ConcurrentQueue<string> FhirRequests { get; } = new();

    public int TokensIssued => _tokens.Count;

    public int RejectedAssertions;

    /// <summary>The payer client's private key, as the server's configuration names it.</summary>
    public string PrivateKeyPem => _clientKey.ExportPkcs8PrivateKeyPem();

    /// <summary>Settings that connect the server under test to this EHR for the given organization.</summary>
    public Dictionary<string, string?> ServerSettings(string organization, string keyFile) => new()
    {
        ["Ehr:Connections:0:Name"] = "test-ehr",
        ["Ehr:Connections:0:Organizations:0"] = organization,
        ["Ehr:Connections:0:FhirBaseUrl"] = FhirBaseUrl,
        ["Ehr:Connections:0:TokenUrl"] = TokenUrl,
        ["Ehr:Connections:0:ClientId"] = ClientId,
        ["Ehr:Connections:0:PrivateKeyFile"] = keyFile,
        ["Ehr:Connections:0:KeyId"] = "payer-es384",
        ["Ehr:Connections:0:Algorithm"] = "ES384",
        ["Ehr:RetryDelay"] = "00:00:00.050",
    };

    public async Task StartAsync()
    {
        _app = Loopback.Create();
        var publicKey = new ECDsaSecurityKey(ECDsa.Create(_clientKey.ExportParameters(false))) { KeyId = "payer-es384" };
        _app.MapPost("/token", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"].ToString(), new TokenValidationParameters
            {
                ValidIssuer = ClientId,
                ValidAudience = TokenUrl,
                IssuerSigningKey = publicKey,
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha384],
                RequireExpirationTime = true,
            });
            if (form["grant_type"] != "client_credentials" || form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                || !result.IsValid || ((JsonWebToken)result.SecurityToken).Subject != ClientId
                || !_jtis.TryAdd(((JsonWebToken)result.SecurityToken).Id, true))
            {
                Interlocked.Increment(ref RejectedAssertions);
                return Results.Json(new { error = "invalid_client" }, statusCode: 401);
            }
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            _tokens[token] = true;
            return Results.Json(new { access_token = token, token_type = "bearer", expires_in = 300, scope = form["scope"].ToString() });
        });
        _app.MapGet("/fhir/{type}", async (HttpContext http, string type) =>
        {
            FhirRequests.Enqueue($"{type}{http.Request.QueryString}");
            var bearer = http.Request.Headers.Authorization.ToString();
            if (!bearer.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.ContainsKey(bearer[7..]))
            {
                return Results.StatusCode(401);
            }
            await Task.Delay(Delay, http.RequestAborted);
            if (Failing)
            {
                return Results.StatusCode(503);
            }
            var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
            if (type == "Patient" && http.Request.Query["identifier"].ToString().EndsWith("|" + Member, StringComparison.Ordinal))
            {
                bundle.Entry.Add(new Bundle.EntryComponent { Resource = new Patient { Id = "ehr-patient-1" } });
            }
            if (type == "DocumentReference" && http.Request.Query["patient"] == "ehr-patient-1")
            {
                bundle.Entry.AddRange(Documents.Select(d => new Bundle.EntryComponent { Resource = d }));
            }
            bundle.Total = bundle.Entry.Count;
            return Results.Text(Encoding.UTF8.GetString(FhirJson.ToBytes(bundle)), "application/fhir+json");
        });
        BaseUrl = await Loopback.StartAsync(_app);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }
}
