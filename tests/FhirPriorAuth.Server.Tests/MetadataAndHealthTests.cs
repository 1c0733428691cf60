using System.Collections.Concurrent;
using System.Net;
using FhirPriorAuth.Server.Hosting;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

[Collection(ServerCollection.Name)]
public class MetadataAndHealthTests(ServerHost server)
{
    [Fact]
    public async Task GivenTheServer_WhenMetadataIsRead_ThenItListsWhatIsImplemented()
    {
        var statement = await (await server.Client.GetAsync("fhir/metadata")).ReadAs<CapabilityStatement>();

        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        Assert.Equal(["application/fhir+json", "json"], statement.Format);
        Assert.Equal(new Uri(server.BaseAddress, "fhir").ToString(), statement.Implementation!.Url);
        var resources = statement.Rest.Single().Resource.ToDictionary(r => r.Type!);
        Assert.Equal(["AuditEvent", "Claim", "ClaimResponse", "CommunicationRequest", "Coverage", "DocumentReference", "Organization", "Patient",
            "Practitioner", "PractitionerRole", "Provenance", "Subscription", "Task"], resources.Keys.Order());
        Assert.Subset(resources["Claim"].SearchParam.Select(p => p.Name).ToHashSet(),
            new HashSet<string?> { "_id", "_lastUpdated", "identifier", "patient", "status", "use", "created", "provider", "insurer" });
        Assert.Subset(resources["Task"].SearchParam.Select(p => p.Name).ToHashSet(),
            new HashSet<string?> { "focus", "owner", "status", "code", "for", "patient" });
        Assert.Contains(resources["Patient"].Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Vread);
        Assert.True(resources["Patient"].ConditionalCreate);
        Assert.Contains(statement.Rest.Single().Operation, o => o.Name == "submit-attachment"
            && o.Definition == "http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment");
    }

    [Fact]
    public async Task GivenTheServer_WhenHealthIsAsked_ThenLiveAndReadyAreOk()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("health/ready")).StatusCode);
    }

    [Fact]
    public async Task GivenAServerStillWarmingUp_WhenReadyIsAsked_ThenItAnswers503_AndLogsNoFailure()
    {
        // Only the health endpoints, so that nothing marks the server ready.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new LogRecorder();
        builder.Logging.AddProvider(logs);
        builder.Services.AddHealth();
        await using var app = builder.Build();
        app.MapHealth();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        for (var probe = 0; probe < 3; probe++)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("health/ready")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/live")).StatusCode);
        await app.StopAsync();
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    private sealed class LogRecorder : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Recorder(LogRecorder owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
