using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Storage;
using FhirPriorAuth.Synthetic;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Tools;

/// <summary>
/// Measurements at scale: <c>load</c> drives <c>$submit</c> over HTTP, <c>seed-authorizations</c> fills a store
/// in-process with what <c>$submit</c> stores, and <c>query</c> times <c>$inquire</c> and searches against it.
/// </summary>
internal static class Load
{
    private const string FhirJsonMediaType = "application/fhir+json";
    private static readonly JsonSerializerOptions SampleJson = new() { WriteIndented = true };

    /// <summary><c>load</c>: concurrent <c>$submit</c>s of generated requests, every one different.</summary>
    public static async Task<int> SubmitAsync(Dictionary<string, string> options)
    {
        var (server, version) = (Server(options), Version(options));
        int concurrency = Int(options, "concurrency", 16), warmup = Int(options, "warmup", concurrency);
        int? count = options.TryGetValue("count", out var c) ? int.Parse(c, CultureInfo.InvariantCulture) : null;
        var duration = count is null ? ParseDuration(options.GetValueOrDefault("duration", "60s")) : TimeSpan.Zero;
        var generator = new PasRequestGenerator(File.ReadAllText(Template(options, version, "approval_pa_submit_request_payload.json")), Seed(options));

        // Bodies are made before the clock starts; a timed run keeps a producer ahead, off the requests' path.
        int ahead = count is { } n ? n + warmup : warmup + Int(options, "ahead", 2000);
        var bodies = Channel.CreateBounded<byte[]>(ahead);
        var making = Stopwatch.StartNew();
        long bytes = 0;
        for (int i = 0; i < ahead; i++)
        {
            var body = Encoding.UTF8.GetBytes(generator.Next());
            bytes += body.Length;
            bodies.Writer.TryWrite(body);
        }
        var perBody = making.Elapsed.TotalMilliseconds / ahead;
        using var stop = new CancellationTokenSource();
        var producer = count is not null ? Task.CompletedTask : Task.Run(async () =>
        {
            try
            {
                while (true) await bodies.Writer.WriteAsync(Encoding.UTF8.GetBytes(generator.Next()), stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        if (count is not null) bodies.Writer.Complete();
        if (count is null && duration > TimeSpan.FromMinutes(4) && options.ContainsKey("token"))
        {
            Console.Error.WriteLine("A token lives 5 minutes; for a longer run give --client-id ID --key PEM, which renews it.");
        }

        var url = $"{server}{BasePath(version)}/Claim/$submit";
        using var http = Http(concurrency);
        using var token = await AccessToken.CreateAsync(options, server);
        using var memory = options.TryGetValue("pid", out var pid) ? new ServerProcess(int.Parse(pid, CultureInfo.InvariantCulture)) : null;
        // --rate paces the requests (open loop): request i is due at i/rate s, and its latency counts from then (or from
        // its sending, if earlier: see DriveAsync), so a server that falls behind shows it in the latencies instead of in
        // a lower offered rate.
        double? rate = options.TryGetValue("rate", out var r) ? double.Parse(r, CultureInfo.InvariantCulture) : null;
        Console.WriteLine($"load: POST {url}, {concurrency} workers, {warmup} warm-up requests; PAS {version.Label()} requests of " +
            $"{bytes / 1024.0 / ahead:F1} KB on average, generated ahead ({perBody:F2} ms each)");
        int warm = warmup;
        await DriveAsync(http, token, concurrency, new Stats(), _ => ValueTask.FromResult(
            Interlocked.Decrement(ref warm) >= 0 && bodies.Reader.TryRead(out var b) ? new Call(HttpMethod.Post, url, b) : null), CancellationToken.None);

        memory?.StartPeak();
        var start = memory?.Read();
        var (serverCpu, ownCpu) = (memory?.CpuSeconds(), Process.GetCurrentProcess().TotalProcessorTime);
        var stats = new Stats();
        long paceStart = Stopwatch.GetTimestamp(), issued = -1;
        if (count is null) stop.CancelAfter(duration);
        var ticker = options.TryGetValue("rss-every", out var every) ? Ticker(ParseDuration(every), stats, memory) : null;
        await DriveAsync(http, token, concurrency, stats, async ct =>
        {
            try
            {
                if (!await bodies.Reader.WaitToReadAsync(ct) || !bodies.Reader.TryRead(out var b))
                {
                    return null;
                }
                if (rate is not { } perSecond)
                {
                    return new Call(HttpMethod.Post, url, b);
                }
                var due = paceStart + (long)(Interlocked.Increment(ref issued) * Stopwatch.Frequency / perSecond);
                if (Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due) is { TotalMilliseconds: > 0 } wait)
                {
                    await Task.Delay(wait, ct);
                }
                return new Call(HttpMethod.Post, url, b, due);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }, stop.Token);
        if (ticker is not null) await ticker.DisposeAsync();
        await stop.CancelAsync();
        await producer;

        stats.Print();
        var ownCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalMilliseconds / Math.Max(1, stats.Completed);
        if (memory?.Read() is { } end)
        {
            Console.WriteLine($"server RSS MB  start {start?.Rss:F0}  end {end.Rss:F0}  peak {Math.Max(memory.Peak, end.Rss):F0} (sampled every 250 ms)  VmHWM {end.Hwm:F0}");
            var cpuSeconds = memory.CpuSeconds() - serverCpu!.Value;
            Console.WriteLine($"CPU            server {cpuSeconds * 1000 / Math.Max(1, stats.Completed):F1} ms per request " +
                $"({100 * cpuSeconds / stats.Elapsed.TotalSeconds / Environment.ProcessorCount:F0}% of {Environment.ProcessorCount} cores); load tool {ownCpuMs:F1} ms per request");
        }
        return stats.Errors == 0 ? 0 : 1;
    }

    /// <summary>
    /// <c>seed-authorizations</c>: generated requests decided in-process by the server's own <see cref="PriorAuthorizationService"/>
    /// (validation skipped) and stored many per transaction; writes a sample of what it stored for <c>query</c>.
    /// </summary>
    public static async Task<int> SeedAsync(Dictionary<string, string> options, StorageOptions storage)
    {
        var ct = CancellationToken.None;
        var version = Version(options);
        int count = Int(options, "count", 1000), batch = Int(options, "batch", 500), sampleSize = Int(options, "sample-size", 1000);
        var dialect = storage.CreateDialect();
        await new MigrationRunner(dialect).MigrateAsync(ct);
        var resources = new SqlResourceStore(dialect);
        var submissions = Channel.CreateBounded<SubmissionRecord>(batch * 2);
        var policy = new PolicyEngine(PolicyLoader.LoadDirectory(options.GetValueOrDefault("policies", Path.Combine("examples", "policies"))));
        var captured = new CapturedSubmissions(submissions.Writer);
        var interactions = new ResourceInteractions(resources, SearchParameterRegistry.Default, TimeProvider.System);
        var ledger = new FollowUpLedger(resources, interactions);
        var pas = new PriorAuthorizationService(policy, captured, interactions, new NoValidation(), ledger,
            new SupportingDocuments(captured, resources, interactions, policy, ledger));
        var generator = new PasRequestGenerator(File.ReadAllText(Template(options, version, "approval_pa_submit_request_payload.json")), Seed(options));
        var baseUrl = options.GetValueOrDefault("base-url", $"http://localhost:5080{BasePath(version)}");

        // One seeded generator feeds every core parsing and deciding (most of the cost); one writer commits batches.
        var requests = Channel.CreateBounded<byte[]>(256);
        var producing = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < count; i++) await requests.Writer.WriteAsync(Encoding.UTF8.GetBytes(generator.Next()), ct);
            }
            finally
            {
                requests.Writer.Complete();
            }
        }, ct);
        var deciding = Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Run(async () =>
        {
            await foreach (var body in requests.Reader.ReadAllAsync(ct))
            {
                await pas.SubmitAsync(body, version, baseUrl, ct);
            }
        }, ct)));
        _ = deciding.ContinueWith(t => submissions.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        var store = new SqlAuthorizationStore(resources);
        var (pending, sample, random) = (new List<SubmissionRecord>(batch), new List<SeededAuthorization>(), new Random(Seed(options)));
        var (clock, lastReport) = (Stopwatch.StartNew(), TimeSpan.Zero);
        long written = 0, resourceCount = 0;
        string Rate() => $"{written / clock.Elapsed.TotalSeconds:F0}/s, CPU {Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds / Math.Max(1, written):F1} ms each";
        async Task Flush()
        {
            await store.SaveManyAsync(pending, ct);
            (written, resourceCount) = (written + pending.Count, resourceCount + pending.Sum(s => s.Resources.Count));
            pending.Clear();
            if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                Console.WriteLine($"  {clock.Elapsed:hh\\:mm\\:ss}  {written,10:N0} authorizations  {Rate()}");
            }
        }
        await foreach (var submission in submissions.Reader.ReadAllAsync(ct))
        {
            // Reservoir sampling: the sample is spread evenly over the whole run, not its first minutes.
            var seen = written + pending.Count;
            if (seen < sampleSize) sample.Add(SeededAuthorization.Of(submission));
            else if (random.NextInt64(seen + 1) is var slot && slot < sampleSize) sample[(int)slot] = SeededAuthorization.Of(submission);
            pending.Add(submission);
            if (pending.Count == batch) await Flush();
        }
        await Task.WhenAll(producing, deciding);
        if (pending.Count > 0) await Flush();
        await dialect.IndexedAsync(); // the last batch's index rows too, so the store is whole when the tool exits

        var samplePath = SamplePath(options, storage);
        await File.WriteAllTextAsync(samplePath, JsonSerializer.Serialize(sample, SampleJson), ct);
        Console.WriteLine($"Seeded {written:N0} authorizations in {clock.Elapsed.TotalSeconds:F1} s ({Rate()}, {Environment.ProcessorCount} cores, " +
            $"{batch} per transaction): submissions, authorizations, decisions and {resourceCount:N0} Claims, ClaimResponses, CommunicationRequests and Tasks.");
        if (storage.ConnectionString is null && Path.Combine(storage.DataDirectory, "fhirpriorauth.db") is var file && File.Exists(file))
        {
            var size = new[] { file, file + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"Database {file}: {size / 1e9:F2} GB.");
        }
        Console.WriteLine($"A sample of {sample.Count} stored authorizations, which query reads: {samplePath}. Some of them:");
        Console.WriteLine($"  {"authorization",-22} {"member (Patient MIN)",-22} {"provider NPI",-12} Claim.identifier");
        foreach (var a in sample.Take(5)) Console.WriteLine($"  {a.Number,-22} {a.Member,-22} {a.Npi,-12} {a.ClaimIdentifier}");
        return 0;
    }

    /// <summary><c>query</c>: times <c>$inquire</c> for stored authorizations and a few searches, per kind.</summary>
    public static async Task<int> QueryAsync(Dictionary<string, string> options, StorageOptions storage)
    {
        var (server, version) = (Server(options), Version(options));
        int count = Int(options, "count", 200), concurrency = Int(options, "concurrency", 4);
        var sample = JsonSerializer.Deserialize<List<SeededAuthorization>>(File.ReadAllText(SamplePath(options, storage)))!;
        var inquiry = JsonNode.Parse(File.ReadAllText(Template(options, version, "must_support_pa_inquire_request_payload-1.json")))!;
        var fhir = server + BasePath(version);
        string Q(string value) => Uri.EscapeDataString(value);
        Call Get(string path) => new(HttpMethod.Get, $"{fhir}/{path}", null);
        var kinds = new (string Name, Func<SeededAuthorization, Call> Call)[]
        {
            ("$inquire", a => new Call(HttpMethod.Post, $"{fhir}/Claim/$inquire", Inquiry(inquiry, a, npiOnly: false))),
            ("$inquire (provider by NPI only)", a => new Call(HttpMethod.Post, $"{fhir}/Claim/$inquire", Inquiry(inquiry, a, npiOnly: true))),
            ("Claim?identifier", a => Get($"Claim?identifier={Q(a.ClaimIdentifier)}")),
            ("ClaimResponse?identifier", a => Get($"ClaimResponse?identifier={Q(a.ClaimIdentifier)}")),
            ("Task?status=requested&owner:identifier", a => Get($"Task?status=requested&owner:identifier={Q(PasUrls.Npi + "|" + a.Npi)}")),
            ("ClaimResponse?_count=20 (newest)", _ => Get("ClaimResponse?_count=20")),
        };

        using var http = Http(concurrency);
        using var token = await AccessToken.CreateAsync(options, server);
        var random = new Random(Seed(options));
        Console.WriteLine($"query: {count} requests per kind, {concurrency} workers, picked from {sample.Count} stored authorizations, at {fhir}");
        Console.WriteLine($"{"kind",-40} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"max ms",8} {"errors",6}  results (mean; none)");
        int errors = 0;
        foreach (var (name, call) in kinds)
        {
            // The first requests of each kind warm it up and are not counted.
            var calls = new ConcurrentQueue<Call>(Enumerable.Range(0, count + concurrency).Select(_ => call(sample[random.Next(sample.Count)])));
            ValueTask<Call?> Next(int leave) => ValueTask.FromResult(calls.Count > leave && calls.TryDequeue(out var next) ? next : null);
            await DriveAsync(http, token, concurrency, new Stats(), _ => Next(count), CancellationToken.None);
            var stats = new Stats();
            await DriveAsync(http, token, concurrency, stats, _ => Next(0), CancellationToken.None, Results);
            Console.WriteLine($"{name,-40} {stats.Percentile(50),8:F1} {stats.Percentile(95),8:F1} {stats.Percentile(99),8:F1} {stats.Percentile(100),8:F1} {stats.Errors,6}  {stats.MeanResults:F1}; {stats.Empty}");
            stats.PrintErrors();
            errors += stats.Errors;
        }
        return errors == 0 ? 0 : 1;
    }

    /// <summary>
    /// The inquiry example moved to a stored authorization: its member, its provider's NPI and its Claim.identifier.
    /// The example also names the provider by identifiers every generated request shares (tax id, payer-assigned id,
    /// X12 sender), as a clearinghouse's requests do; <paramref name="npiOnly"/> leaves those out.
    /// </summary>
    private static byte[] Inquiry(JsonNode template, SeededAuthorization a, bool npiOnly)
    {
        var bundle = template.DeepClone();
        bundle["identifier"]!["value"] = Guid.NewGuid().ToString();
        foreach (var resource in bundle["entry"]!.AsArray().Select(e => e!["resource"]!))
        {
            switch (resource["resourceType"]!.GetValue<string>())
            {
                case "Patient" or "Coverage":
                    foreach (var identifier in resource["identifier"]?.AsArray() ?? []) identifier!["value"] = a.Member;
                    if (resource["subscriberId"] is not null) resource["subscriberId"] = a.Member;
                    break;
                case "Organization" when resource["id"]?.GetValue<string>() == "UMOExample":
                    resource["identifier"]![0]!["value"] = a.Npi;
                    if (npiOnly) resource["identifier"] = new JsonArray(resource["identifier"]![0]!.DeepClone());
                    break;
                case "Claim":
                    resource["identifier"]![0]!["value"] = a.ClaimIdentifier.Split('|')[1];
                    if (npiOnly) resource["extension"]!.AsArray().RemoveAll(e => e!["url"]!.GetValue<string>().EndsWith("extension-TransmissionIdentifiers", StringComparison.Ordinal));
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(bundle.ToJsonString());
    }

    /// <summary>How many results an answer carries: inquiry returns, a 2.0.1 inquiry's ClaimResponses, or search matches.</summary>
    private static int Results(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.TryGetProperty("parameter", out var parameters)) return parameters.GetArrayLength();
        if (!root.TryGetProperty("entry", out var entries)) return 0;
        var searchset = root.GetProperty("type").GetString() == "searchset";
        return entries.EnumerateArray().Select(e => e.GetProperty("resource").GetProperty("resourceType").GetString())
            .Count(type => searchset ? type != "OperationOutcome" : type == "ClaimResponse");
    }

    /// <summary>One request; a paced one carries the time it was due, from which its latency counts.</summary>
    private sealed record Call(HttpMethod Method, string Url, byte[]? Body, long? Due = null);

    /// <summary>Sends calls from <paramref name="next"/> on <paramref name="concurrency"/> workers until it gives none.</summary>
    private static async Task DriveAsync(HttpClient http, AccessToken token, int concurrency, Stats stats,
        Func<CancellationToken, ValueTask<Call?>> next, CancellationToken stop, Func<byte[], int>? results = null)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (await next(stop) is { } call)
            {
                using var request = new HttpRequestMessage(call.Method, call.Url);
                request.Headers.Authorization = token.Header;
                request.Headers.Accept.Add(new(FhirJsonMediaType));
                if (call.Body is not null) request.Content = new ByteArrayContent(call.Body) { Headers = { ContentType = new(FhirJsonMediaType) } };
                // A paced request counts from the earlier of when it was due and when it was sent: the timer wakes up to a
                // millisecond early, and such a request must not read shorter than it was.
                long start = Stopwatch.GetTimestamp();
                if (call.Due is { } due)
                {
                    stats.Sent(Math.Max(0, Stopwatch.GetElapsedTime(due, start).TotalMilliseconds));
                    start = Math.Min(start, due);
                }
                try
                {
                    // Not cancelled at the deadline: a request in flight finishes, so its latency is real.
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    var body = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                    var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (response.IsSuccessStatusCode) stats.Ok(ms, DateTime.UtcNow.AddMilliseconds(-ms), results?.Invoke(body));
                    else stats.Error(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetString(body));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    stats.Error(e.GetType().Name, e.Message);
                }
            }
        })));
        stats.Elapsed = clock.Elapsed;
    }

    /// <summary>Latencies of successful requests, and errors by status with a few distinct bodies.</summary>
    private sealed class Stats
    {
        private readonly ConcurrentQueue<double> _latencies = new();
        private readonly ConcurrentQueue<int> _results = new();
        private readonly ConcurrentQueue<double> _late = new(); // how long after it was due a paced request was sent
        private readonly ConcurrentDictionary<string, int> _errors = new();
        private readonly ConcurrentDictionary<string, byte> _samples = new();
        private double[]? _sorted;
        // The slowest requests and when they started (UTC), to set beside the server's log.
        private readonly List<(double Ms, DateTime Started)> _slowest = [];

        public TimeSpan Elapsed { get; set; }
        public int Completed => _latencies.Count + Errors;
        public int Errors => _errors.Values.Sum();
        public double MeanResults => _results.IsEmpty ? 0 : _results.Average();
        public int Empty => _results.Count(r => r == 0);

        public void Ok(double ms, DateTime started, int? results)
        {
            _latencies.Enqueue(ms);
            if (results is { } r) _results.Enqueue(r);
            lock (_slowest)
            {
                if (_slowest.Count < 3 || ms > _slowest[^1].Ms)
                {
                    _slowest.Add((ms, started));
                    _slowest.Sort((a, b) => b.Ms.CompareTo(a.Ms));
                    if (_slowest.Count > 3) _slowest.RemoveAt(3);
                }
            }
        }

        public void Sent(double lateMs) => _late.Enqueue(lateMs);

        public void Error(string status, string detail)
        {
            _errors.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (_samples.Count < 5) _samples.TryAdd($"{status}: {(detail.Length > 300 ? detail[..300] + "…" : detail)}", 0);
        }

        /// <summary>Nearest-rank percentile of the successful requests' latencies (100 is the maximum).</summary>
        public double Percentile(int p)
        {
            _sorted ??= _latencies.Order().ToArray();
            return NearestRank(_sorted, p);
        }

        private static double NearestRank(double[] sorted, int p) =>
            sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];

        public void Print()
        {
            Console.WriteLine($"requests       {Completed} ({_latencies.Count} 2xx, {Errors} errors)");
            Console.WriteLine($"duration       {Elapsed.TotalSeconds:F2} s");
            Console.WriteLine($"throughput     {Completed / Elapsed.TotalSeconds:F1} req/s");
            Console.WriteLine($"latency ms     p50 {Percentile(50):F1}  p95 {Percentile(95):F1}  p99 {Percentile(99):F1}  max {Percentile(100):F1}  (2xx only)");
            Console.WriteLine($"slowest        {string.Join(", ", _slowest.Select(x => $"{x.Ms:F0} ms at {x.Started:HH:mm:ss.fff}"))} (UTC)");
            if (!_late.IsEmpty)
            {
                // The load tool's own share of a paced latency: its timer and its wait for a core, on a shared machine.
                var late = _late.Order().ToArray();
                Console.WriteLine($"sent late ms   p50 {NearestRank(late, 50):F2}  p99 {NearestRank(late, 99):F2}  (counted in the latencies)");
            }
            PrintErrors();
        }

        public void PrintErrors()
        {
            if (_errors.IsEmpty) return;
            Console.WriteLine($"errors         {string.Join(", ", _errors.Select(e => $"{e.Key} ×{e.Value}"))}");
            foreach (var sample in _samples.Keys) Console.WriteLine($"  {sample.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>A bearer token: given (<c>--token</c>), or got with the client's key and renewed every 4 minutes (tokens live 5).</summary>
    private sealed class AccessToken(string value) : IDisposable
    {
        private string _value = value;
        private Timer? _renewal;

        public AuthenticationHeaderValue Header => new("Bearer", Volatile.Read(ref _value));

        public static async Task<AccessToken> CreateAsync(Dictionary<string, string> options, string server)
        {
            if (options.TryGetValue("token", out var given))
            {
                return new AccessToken(given);
            }
            if (!options.TryGetValue("client-id", out var clientId) || !options.TryGetValue("key", out var key))
            {
                throw new ArgumentException("Give --token T, or --client-id ID --key PEM (renewed every 4 minutes, for long runs).");
            }
            Task<string> Request() => Clients.RequestTokenAsync(server, clientId, key, options.GetValueOrDefault("scopes", "system/*.cruds"));
            var token = new AccessToken(await Request());
            token._renewal = new Timer(async _ =>
            {
                try
                {
                    Volatile.Write(ref token._value, await Request());
                    Console.Error.WriteLine($"Token renewed at {DateTime.UtcNow:HH:mm:ss.fff} UTC");
                }
                catch (Exception e) when (e is HttpRequestException or TokenRefusedException or IOException)
                {
                    Console.Error.WriteLine($"Token renewal failed; the current token is used until the next try: {e.Message}");
                }
            }, null, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(4));
            return token;
        }

        public void Dispose() => _renewal?.Dispose();
    }

    /// <summary>
    /// The server's resident memory from <c>/proc/PID/status</c>, sampled every 250 ms for the peak of a run, and its CPU
    /// time from <c>/proc/PID/stat</c>.
    /// </summary>
    private sealed class ServerProcess : IDisposable
    {
        private readonly int _pid;
        private readonly Timer _sampling;
        private double _peak;

        public ServerProcess(int pid)
        {
            _pid = pid;
            _ = Read() ?? throw new ArgumentException($"--pid {pid}: there is no such process.");
            _sampling = new Timer(_ =>
            {
                if (Read() is { } now && now.Rss > Peak) Volatile.Write(ref _peak, now.Rss);
            }, null, 250, 250);
        }

        /// <summary>The highest VmRSS sampled since <see cref="StartPeak"/>, MB.</summary>
        public double Peak => Volatile.Read(ref _peak);

        public void StartPeak() => Volatile.Write(ref _peak, Read()?.Rss ?? 0);

        /// <summary>VmRSS (now) and VmHWM (the peak since the process started) in MB; null once the process is gone.</summary>
        public (double Rss, double Hwm)? Read()
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines($"/proc/{_pid}/status");
            }
            catch (IOException)
            {
                return null;
            }
            double Field(string name) => double.Parse(lines.First(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
            return (Field("VmRSS:"), Field("VmHWM:"));
        }

        /// <summary>User and system CPU time so far (utime and stime, in clock ticks of 1/100 s).</summary>
        public double CpuSeconds()
        {
            var stat = File.ReadAllText($"/proc/{_pid}/stat");
            // Fields after the command name (which may hold spaces) start at the third field of the full line.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }

        public void Dispose() => _sampling.Dispose();
    }

    /// <summary>For long runs: a line every <paramref name="every"/> with the rate over the last interval and the server's memory.</summary>
    private static Timer Ticker(TimeSpan every, Stats stats, ServerProcess? memory)
    {
        var clock = Stopwatch.StartNew();
        int last = 0;
        return new Timer(_ =>
        {
            int done = stats.Completed;
            Console.WriteLine($"  {clock.Elapsed:hh\\:mm\\:ss}  {done,9} requests  {(done - last) / every.TotalSeconds,7:F1} req/s  {stats.Errors} errors" +
                (memory?.Read() is { } m ? $"  RSS {m.Rss:F0} MB (peak {memory.Peak:F0}, VmHWM {m.Hwm:F0})" : ""));
            last = done;
        }, null, every, every);
    }

    /// <summary>What <c>query</c> needs of a stored authorization to ask for it.</summary>
    private sealed record SeededAuthorization(string Number, string Member, string Npi, string ClaimIdentifier, string Status)
    {
        public static SeededAuthorization Of(SubmissionRecord submission)
        {
            var a = submission.Authorization;
            return new(a.Number, a.Members[0].Value, a.Providers.FirstOrDefault(p => p.System == PasUrls.Npi)?.Value ?? "", a.ClaimIdentifiers[0].ToString(), a.Status);
        }
    }

    /// <summary>The authorization store as <see cref="PriorAuthorizationService"/> sees it while seeding: every request is new, every save is queued.</summary>
    private sealed class CapturedSubmissions(ChannelWriter<SubmissionRecord> saved) : IAuthorizationStore
    {
        // Generated requests all carry new identifiers and are never updates, so there is nothing to find.
        public Task<byte[]?> FindResponseAsync(string idempotencyKey, CancellationToken ct) => Task.FromResult<byte[]?>(null);
        public Task<IReadOnlyList<AuthorizationRecord>> FindAsync(AuthorizationLookup lookup, int limit, CancellationToken ct) => Task.FromResult<IReadOnlyList<AuthorizationRecord>>([]);
        public Task<AuthorizationRecord?> ReadAsync(string number, CancellationToken ct) => Task.FromResult<AuthorizationRecord?>(null);
        public Task<IReadOnlyList<AuthorizationRecord>> FindByTrackingIdAsync(string trackingId, CancellationToken ct) => Task.FromResult<IReadOnlyList<AuthorizationRecord>>([]);
        public Task<IReadOnlyList<RecordedStep>> ReadStepsAsync(string number, CancellationToken ct) => Task.FromResult<IReadOnlyList<RecordedStep>>([]);
        public Task<byte[]?> LatestResponseAsync(string number, CancellationToken ct) => Task.FromResult<byte[]?>(null);

        public async Task<bool> SaveAsync(SubmissionRecord submission, CancellationToken ct)
        {
            await saved.WriteAsync(submission, ct);
            return true;
        }
    }

    /// <summary>Seeding stores what validated requests produce; the generator's requests are tested to validate.</summary>
    private sealed class NoValidation : IPasValidator
    {
        public PasValidationReport Validate(Bundle bundle, PasVersion version, PasOperation operation) => PasValidationReport.Clean;
    }

    private static HttpClient Http(int concurrency) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromMinutes(2) };

    private static string Server(Dictionary<string, string> options) => options.GetValueOrDefault("server", "http://localhost:5080").TrimEnd('/');

    private static PasVersion Version(Dictionary<string, string> options) => options.GetValueOrDefault("version", "2.2.1") switch
    {
        "2.2.1" => PasVersion.V2_2_1,
        "2.0.1" => PasVersion.V2_0_1,
        var other => throw new ArgumentException($"--version {other}: the server serves PAS 2.2.1 and 2.0.1."),
    };

    /// <summary>The FHIR base of a PAS version, as the server maps them (2.2.1 is also at /pas/2.2.1/fhir).</summary>
    private static string BasePath(PasVersion version) => version == PasVersion.V2_0_1 ? "/pas/2.0.1/fhir" : "/fhir";

    private static string Template(Dictionary<string, string> options, PasVersion version, string file) =>
        Path.Combine(options.GetValueOrDefault("template-dir", Path.Combine("examples", "inferno", version.Label())), file) is var path && File.Exists(path)
            ? path : throw new ArgumentException($"{path} is missing: run from the repository root, or give --template-dir DIR.");

    private static string SamplePath(Dictionary<string, string> options, StorageOptions storage) =>
        options.GetValueOrDefault("sample", Path.Combine(storage.ConnectionString is null ? storage.DataDirectory : ".", "seeded-authorizations.json"));

    private static int Seed(Dictionary<string, string> options) => Int(options, "seed", PayerDataGenerator.DefaultSeed);

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary><c>90s</c>, <c>5m</c>, <c>2h</c>, <c>500ms</c> or a TimeSpan (<c>00:05:00</c>).</summary>
    private static TimeSpan ParseDuration(string text)
    {
        double Number(int suffix) => double.Parse(text[..^suffix], CultureInfo.InvariantCulture);
        return text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(2))
            : text.EndsWith('s') ? TimeSpan.FromSeconds(Number(1))
            : text.EndsWith('m') ? TimeSpan.FromMinutes(Number(1))
            : text.EndsWith('h') ? TimeSpan.FromHours(Number(1))
            : TimeSpan.Parse(text, CultureInfo.InvariantCulture);
    }
}
