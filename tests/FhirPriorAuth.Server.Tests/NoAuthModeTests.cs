using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FhirPriorAuth.Server.Tests;

/// <summary>The explicit no-authentication development mode: allowed on loopback only.</summary>
public sealed class NoAuthModeTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "fhirpa-noauth-" + Guid.NewGuid().ToString("N"));

    private WebApplication Build(string urls) => ServerHost.Build(_data, new Dictionary<string, string?>
    {
        ["Urls"] = urls,
        ["Security:Mode"] = "None",
    });

    [Fact]
    public async Task OnANonLoopbackAddress_TheServerRefusesToStart()
    {
        await using var app = Build("http://0.0.0.0:0");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());
        Assert.Contains("loopback", error.Message);
    }

    [Fact]
    public async Task OnLoopback_RequestsNeedNoToken()
    {
        await using var app = Build("http://127.0.0.1:0");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address + "/") };
        // The schema is migrated in the background right after start.
        HttpStatusCode status = 0;
        for (int i = 0; i < 100 && status != HttpStatusCode.OK; i++)
        {
            status = (await client.GetAsync("fhir/Patient?_count=1")).StatusCode;
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.OK, status);
        // CDS Hooks calls too: no CDS Hooks JWT in this mode.
        var hook = await client.PostAsync("cds-services/crd-order-sign", new StringContent(
            CrdTests.OrderSign(CrdTests.ServiceRequest("99213", "Office visit"), ("cov-1", "plan-a")).ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, hook.StatusCode);
        await app.StopAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
