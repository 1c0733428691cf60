using FhirPriorAuth.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// The real server on Kestrel at a free loopback port, with its SQLite file in a temporary folder: tests talk HTTP to
/// it exactly as an EHR would.
/// </summary>
public sealed class ServerHost : IAsyncLifetime
{
    private WebApplication? _app;

    /// <summary>A fresh temporary folder by default; a test that restarts the server sets the previous one's folder.</summary>
    public string DataDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "fhirpa-server-" + Guid.NewGuid().ToString("N"));

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client that sends an admin token unless a request carries its own.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>A client that sends no token.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    /// <summary>The audience of the main FHIR base.</summary>
    public string Audience { get; private set; } = "";

    /// <summary>A token from the test issuer for this server: an admin with every scope unless told otherwise.</summary>
    public string Token(string clientId = "test-admin", string scope = TestTokens.AllScopes, string[]? roles = null,
        string[]? organization = null, string? patient = null) =>
        TestTokens.Mint(Audience, clientId, scope, roles ?? (organization is null && patient is null ? ["admin"] : null), organization, patient);

    public IServiceProvider Services => _app!.Services;

    /// <summary>An EHR calling the CDS services: every request carries a fresh CDS Hooks JWT for the URL it calls.</summary>
    public HttpClient Cds { get; private set; } = null!;

    /// <summary>The server's clock; the system clock unless a test moves time itself.</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>Settings a test class needs on top of the defaults.</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>A second, discovery-based issuer the server trusts.</summary>
    public TestIdentityProvider IdentityProvider { get; } = new();

    /// <summary>A third issuer, trusted through a JWKS file (same keys as <see cref="TestTokens"/>).</summary>
    public const string FileIssuer = "https://file-issuer.test/";

    public async Task InitializeAsync()
    {
        await IdentityProvider.StartAsync();
        Directory.CreateDirectory(DataDirectory);
        var jwksFile = Path.Combine(DataDirectory, "test-issuer.jwks.json");
        await File.WriteAllTextAsync(jwksFile, TestTokens.Jwks);
        _app = Build(DataDirectory, new Dictionary<string, string?>
        {
            ["Security:Issuers:0:Issuer"] = TestTokens.Issuer,
            ["Security:Issuers:0:Jwks"] = TestTokens.Jwks,
            ["Security:Issuers:1:Issuer"] = IdentityProvider.Issuer,
            ["Security:Issuers:1:Discovery"] = IdentityProvider.Discovery,
            ["Security:Issuers:2:Issuer"] = FileIssuer,
            ["Security:Issuers:2:JwksFile"] = jwksFile,
            ["Crd:Clients:0:Issuer"] = TestTokens.CdsIssuer,
            ["Crd:Clients:0:Jwks"] = TestTokens.Jwks,
        }.Concat(Settings), Clock);
        // A route that fails the way a bug would, to prove that no stack trace reaches clients.
        _app.MapGet("/test/fail", () => { throw new InvalidOperationException("secret internal detail"); });
        // A database that stayed busy through the store's retries (SQLITE_BUSY), as another process holding the lock causes.
        _app.MapGet("/test/busy", () => { throw new Microsoft.Data.Sqlite.SqliteException("database is locked", 5); });
        await _app.StartAsync();

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address + "/");
        Audience = address + "/fhir";
        // Tests act as a payer admin unless they say otherwise; security tests send their own tokens.
        Client = new HttpClient(new BearerHandler(() => Token())) { BaseAddress = BaseAddress };
        Anonymous = new HttpClient { BaseAddress = BaseAddress };
        Cds = new HttpClient(new CdsJwtHandler(BaseAddress)) { BaseAddress = BaseAddress };
        // Readiness includes loading the IG packages and compiling the PAS schemas (issue 5 brings this under 5 s).
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while ((await Client.GetAsync("health/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server did not become ready");
            await Task.Delay(50);
        }
    }

    /// <summary>The server as the product composes it, on a loopback port unless <paramref name="settings"/> say otherwise.</summary>
    public static WebApplication Build(string dataDirectory, IEnumerable<KeyValuePair<string, string?>> settings, TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Test" });
        var configuration = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Storage:DataDirectory"] = dataDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value; // a test's setting replaces the default
        }
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddFhirPriorAuth();
        if (clock is not null)
        {
            builder.Services.AddSingleton(clock);
        }
        var app = builder.Build();
        app.UseFhirPriorAuth();
        return app;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
        Client?.Dispose();
        Anonymous?.Dispose();
        Cds?.Dispose();
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        await IdentityProvider.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerHost>
{
    public const string Name = "server";
}
