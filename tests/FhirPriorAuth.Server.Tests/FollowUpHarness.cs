using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Server.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>Driving the background worker and reading the store directly, for tests that move the server's clock.</summary>
internal static class FollowUpHarness
{
    /// <summary>One pass of the worker, then more until nothing due at <paramref name="now"/> is left (or 10 s pass).</summary>
    public static async Task RunWorkerAsync(this ServerHost server, DateTimeOffset now)
    {
        var worker = server.Services.GetRequiredService<FollowUpWorker>();
        var queue = server.Services.GetRequiredService<IWorkQueue>();
        await worker.RunOnceAsync(default);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await queue.PendingAsync(1000, default)).Any(w => w.NotBefore <= now) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            await worker.RunOnceAsync(default);
        }
    }

    public static Task<IReadOnlyList<WorkItem>> PendingWorkAsync(this ServerHost server) =>
        server.Services.GetRequiredService<IWorkQueue>().PendingAsync(1000, default);

    // Read from the store: after the clock moves, the test's bearer tokens would look expired to the server.
    public static async Task<T> StoredAsync<T>(this ServerHost server, string id) where T : Resource =>
        FhirJson.Parse<T>((await server.Services.GetRequiredService<IResourceStore>().ReadAsync(typeof(T).Name, id, null, default))!.Json.Span);

    public static async Task<List<Resource>> SearchStoredAsync(this ServerHost server, string type, string query)
    {
        var (parsed, _) = new SearchQueryParser(SearchParameterRegistry.Default).Parse(type, ResourceInteractions.ParseQueryString(query));
        var page = await server.Services.GetRequiredService<IResourceStore>().SearchAsync(parsed, default);
        return page.Resources.Select(r => FhirJson.Parse(r.Json.Span, type)).ToList();
    }
}
