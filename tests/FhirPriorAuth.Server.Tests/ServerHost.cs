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

    public HttpClient Client { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    /// <summary>Settings a test class needs on top of the defaults.</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Test" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Storage:DataDirectory"] = DataDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
        }.Concat(Settings));
        builder.AddFhirPriorAuth();
        _app = builder.Build();
        _app.UseFhirPriorAuth();
        // A route that fails the way a bug would, to prove that no stack trace reaches clients.
        _app.MapGet("/test/fail", () => { throw new InvalidOperationException("secret internal detail"); });
        await _app.StartAsync();

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address + "/");
        Client = new HttpClient { BaseAddress = BaseAddress };
        // Readiness includes loading the IG packages and compiling the PAS schemas (issue 5 brings this under 5 s).
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while ((await Client.GetAsync("health/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server did not become ready");
            await Task.Delay(50);
        }
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
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
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
