using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Storage;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Tools;

/// <summary>
/// SMART Backend Services clients of the built-in authorization server: registration, a local development client,
/// and getting a token the way any backend client does (a signed assertion posted to the token endpoint).
/// </summary>
internal static class Clients
{
    private static readonly JsonSerializerOptions JwkJson = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary><c>register-client</c>: registers a client from a JWKS file, a JWKS URL or a public-key PEM.</summary>
    public static async Task<int> RegisterAsync(Dictionary<string, string> options, SqlDialect dialect)
    {
        var clientId = Required(options, "client-id");
        string? jwks = null;
        if (options.TryGetValue("jwks", out var jwksFile))
        {
            jwks = File.ReadAllText(jwksFile);
            _ = new JsonWebKeySet(jwks); // refuse what is not a JWKS now, not at the first token request
        }
        else if (options.TryGetValue("public-key", out var pem))
        {
            jwks = JwksOf(LoadKey(File.ReadAllText(pem)));
        }
        var jwksUrl = options.GetValueOrDefault("jwks-url");
        if (jwks is null && jwksUrl is null)
        {
            throw new ArgumentException("Give the client's keys: --jwks FILE, --jwks-url URL or --public-key PEM.");
        }
        var registration = new ClientRegistration(clientId, jwks, jwksUrl,
            options.GetValueOrDefault("scopes", "system/Claim.c system/Claim.r system/ClaimResponse.rs system/Task.rs system/DocumentReference.c system/Subscription.cruds"),
            options.GetValueOrDefault("organization", "").Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(o => o.Split('|', 2)).Select(p => p.Length == 2 ? new IdentifierKey(p[0], p[1]) : new IdentifierKey(null, p[0])).ToList(),
            options.GetValueOrDefault("roles", "").Split(',', StringSplitOptions.RemoveEmptyEntries),
            options.TryGetValue("rate-limit", out var limit) ? int.Parse(limit) : null);
        await new MigrationRunner(dialect).MigrateAsync(CancellationToken.None);
        await new SqlClientRegistry(dialect).SaveAsync(registration, CancellationToken.None);
        Console.WriteLine($"Registered client '{clientId}' with scopes: {registration.Scopes}");
        return 0;
    }

    /// <summary>
    /// <c>dev-client</c>: creates an ES384 key pair in <c>--out</c> (default <c>.fhirpa/</c>) and registers it as an
    /// admin client with every scope, for local development against the default database.
    /// </summary>
    public static async Task<int> DevClientAsync(Dictionary<string, string> options, SqlDialect dialect)
    {
        var clientId = options.GetValueOrDefault("client-id", "local-dev");
        var directory = options.GetValueOrDefault("out", ".fhirpa");
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, clientId + ".pem");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        options["client-id"] = clientId;
        options["public-key"] = keyFile;
        options.TryAdd("scopes", "system/*.cruds");
        options.TryAdd("roles", "admin");
        await RegisterAsync(options, dialect);
        Console.WriteLine($"Private key: {keyFile}. Get a token: dotnet run --project src/FhirPriorAuth.Tools -- token --client-id {clientId} --key {keyFile}");
        return 0;
    }

    /// <summary><c>token</c>: gets an access token from a running server with a signed client assertion; prints only the token.</summary>
    public static async Task<int> TokenAsync(Dictionary<string, string> options)
    {
        try
        {
            Console.WriteLine(await RequestTokenAsync(options.GetValueOrDefault("server", "http://localhost:5080"),
                Required(options, "client-id"), Required(options, "key"), options.GetValueOrDefault("scopes", "system/*.cruds")));
            return 0;
        }
        catch (TokenRefusedException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>
    /// Asks the token endpoint named in the server's SMART configuration for an access token, authenticating with an
    /// assertion signed by the client's private key (<paramref name="keyFile"/>, PEM).
    /// </summary>
    public static async Task<string> RequestTokenAsync(string server, string clientId, string keyFile, string scopes)
    {
        var key = LoadKey(File.ReadAllText(keyFile));
        using var http = new HttpClient();
        var configuration = JsonNode.Parse(await http.GetStringAsync($"{server.TrimEnd('/')}/.well-known/smart-configuration"))!;
        var tokenUrl = configuration["token_endpoint"]!.GetValue<string>();
        var assertion = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenUrl,
            Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString("N") },
            Expires = DateTime.UtcNow.AddMinutes(4),
            SigningCredentials = new SigningCredentials(key, key is ECDsaSecurityKey ? SecurityAlgorithms.EcdsaSha384 : SecurityAlgorithms.RsaSha384),
        });
        var response = await http.PostAsync(tokenUrl, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = scopes,
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ["client_assertion"] = assertion,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return response.IsSuccessStatusCode
            ? body!["access_token"]!.GetValue<string>()
            : throw new TokenRefusedException($"{(int)response.StatusCode}: {body}");
    }

    /// <summary>An EC or RSA key from PEM (private or public); its key id is the public key's JWK thumbprint, so both halves agree.</summary>
    private static AsymmetricSecurityKey LoadKey(string pem)
    {
        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec) { KeyId = Thumbprint(new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false)))) };
        }
        catch (CryptographicException)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa) { KeyId = Thumbprint(new RsaSecurityKey(rsa.ExportParameters(false))) };
        }
    }

    private static string Thumbprint(SecurityKey publicKey) => Base64UrlEncoder.Encode(publicKey.ComputeJwkThumbprint());

    /// <summary>The public half of a key as a JWKS document.</summary>
    private static string JwksOf(AsymmetricSecurityKey key)
    {
        var jwk = key switch
        {
            ECDsaSecurityKey ec => JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ECDsa.ExportParameters(false))) { KeyId = ec.KeyId }),
            RsaSecurityKey rsa => JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.Rsa.ExportParameters(false)) { KeyId = rsa.KeyId }),
            _ => throw new ArgumentException("Only EC and RSA keys are supported."),
        };
        jwk.Use = "sig";
        return JsonSerializer.Serialize(new { keys = new[] { jwk } }, JwkJson);
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");
}

/// <summary>The token endpoint refused the client's request.</summary>
internal sealed class TokenRefusedException(string message) : Exception(message);
