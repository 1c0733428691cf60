using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// A Subscription's rest-hook endpoint on loopback: records every notification it is sent (path, headers, body), and
/// answers 503 on the paths a test makes fail, as a receiver behind a proxy does while it is down.
/// </summary>
public sealed class TestReceiver : IAsyncDisposable
{
    private WebApplication? _app;

    public sealed record Received(string Path, string ContentType, IReadOnlyDictionary<string, string> Headers, string Body, bool Accepted);

    public string BaseUrl { get; private set; } = "";

    public ConcurrentQueue<Received> All { get; } = new();

    public ConcurrentDictionary<string, bool> Failing { get; } = new();

    /// <summary>Paths whose requests are recorded and then never answered (until the caller gives up).</summary>
    public ConcurrentDictionary<string, bool> Hanging { get; } = new();

    public string Endpoint(string path) => $"{BaseUrl}/{path}";

    public IReadOnlyList<Received> At(string path, bool acceptedOnly = true) =>
        All.Where(r => r.Path == "/" + path && (r.Accepted || !acceptedOnly)).ToList();

    /// <summary>Waits (up to 20 s) until <paramref name="count"/> accepted notifications reached the path; returns them all.</summary>
    public async Task<IReadOnlyList<Received>> WaitFor(string path, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (At(path).Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var received = At(path);
        Assert.True(received.Count >= count, $"{path}: expected {count} notifications, got {received.Count}");
        return received;
    }

    public async Task StartAsync()
    {
        _app = Loopback.Create();
        _app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var path = http.Request.Path.Value ?? "";
            var failing = Failing.GetValueOrDefault(path.TrimStart('/')) || Hanging.GetValueOrDefault(path.TrimStart('/'));
            All.Enqueue(new Received(path, http.Request.ContentType ?? "",
                http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, !failing));
            if (Hanging.GetValueOrDefault(path.TrimStart('/')))
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The sender gave up.
                }
            }
            return failing ? Results.StatusCode(503) : Results.Ok();
        });
        BaseUrl = await Loopback.StartAsync(_app);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
