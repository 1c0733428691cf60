using System.Diagnostics;
using System.Globalization;
using System.Text;
using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Storage;
using FhirPriorAuth.Synthetic;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

// Usage: dotnet run -c Release --project src/FhirPriorAuth.Benchmarks -- [--count 200] [--seed N] [--packages DIR]
// Every stage runs over the same generated PAS 2.2.1 request Bundles (each one different), one at a time.
var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal) && p.i + 1 < args.Length)
    .ToDictionary(p => p.a[2..], p => args[p.i + 1]);
int count = int.Parse(options.GetValueOrDefault("count", "200"), CultureInfo.InvariantCulture);
int seed = int.Parse(options.GetValueOrDefault("seed", PayerDataGenerator.DefaultSeed.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
var root = FindRoot();
var packages = options.GetValueOrDefault("packages", Path.GetFullPath(Path.Combine(root, "..", "shared", "fhir-packages")));

var generator = new PasRequestGenerator(File.ReadAllText(Path.Combine(root, "examples", "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed);
var bodies = Enumerable.Range(0, count).Select(_ => Encoding.UTF8.GetBytes(generator.Next())).ToList();
Console.WriteLine($"{count} PAS 2.2.1 request Bundles, {bodies.Average(b => b.Length) / 1024:F1} KB on average, seed {seed}, {Environment.ProcessorCount} cores");
// The server's gen0 budget (ADR 0012), which the launch profile sets as the server's does: with the runtime's default,
// collections under the proof took its p99 to about four times its median on a slow machine (docs/performance.md).
Console.WriteLine($"gen0 budget {Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "the runtime's default (DOTNET_GCgen0size is not set)"}");

// (c) The server parses without the SDK's value checks (the proof covers them); a request that is not proven is
// parsed again with them, as every request was before.
var parse = Measure(bodies, body => FhirJson.ParseForProof(body));
var checkedParse = Measure(bodies, body => FhirJson.ParseIgnoringUnknownElements(body));
var requests = bodies.Select(b => PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(b), PasOperation.Submit)).ToList();
// Each validator warms up on requests of its own, not on those it is then timed on, and on as many as the JIT's second
// tier needs (30 calls): with 10, (b)'s median read twice its steady state in a run of 200 on a slow machine.
const int WarmUps = 30;
var warmUps = Enumerable.Range(0, WarmUps)
    .Select(_ => PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(generator.Next())), PasOperation.Submit)).ToList();

// (a) Firely as anyone would use it: one Validator over the packages; the first call compiles the schemas.
var clock = Stopwatch.StartNew();
var stock = new FirelyPasValidator(new FhirPackageLocator([packages]));
stock.Validate(requests[0].Bundle, PasVersion.V2_2_1, PasOperation.Submit);
var stockFirst = clock.Elapsed;
foreach (var r in warmUps)
{
    stock.Validate(r.Bundle, PasVersion.V2_2_1, PasOperation.Submit);
}
var stockTimes = Measure(requests, r => stock.Validate(r.Bundle, PasVersion.V2_2_1, PasOperation.Submit));

// (b) The server's pipeline: a conformance proof over compiled profiles, with Firely deciding what cannot be proven.
// It gets its own package load, so nothing (a) compiled helps it.
clock.Restart();
var pipeline = new PasValidator(new FirelyPasValidator(new FhirPackageLocator([packages])));
pipeline.WarmUp(PasVersion.V2_2_1);
var pipelineWarm = clock.Elapsed;
// Steady state is measured, for (a) as for (b): the warm-up requests first, so what the examples did not touch is compiled.
foreach (var r in warmUps)
{
    pipeline.Validate(r.Bundle, PasVersion.V2_2_1, PasOperation.Submit);
}
var pipelineTimes = Measure(requests, r =>
{
    if (pipeline.Validate(r.Bundle, PasVersion.V2_2_1, PasOperation.Submit).Errors.Count > 0)
    {
        throw new InvalidOperationException("A generated request failed validation; the benchmark needs valid ones.");
    }
});

var policy = new PolicyEngine(PolicyLoader.LoadDirectory(Path.Combine(root, "examples", "policies")));
var now = DateTimeOffset.UtcNow;
var decide = Measure(requests, r => policy.Decide(new PolicyRequest(r.Claim, r.Bundle, r.Resolve, now)));

// (e) A durable SQLite commit (WAL) of the Claim, Patient and Coverage of each request, and the move of their index rows
// that follows it (ADR 0015): a caller waits for the first only, but the two are the store's work.
var data = Path.Combine(Path.GetTempPath(), "fhirpa-bench-" + Guid.NewGuid().ToString("N"));
var dialect = new StorageOptions { DataDirectory = data }.CreateDialect();
await new MigrationRunner(dialect).MigrateAsync(CancellationToken.None);
var store = new SqlResourceStore(dialect);
var interactions = new ResourceInteractions(store, SearchParameterRegistry.Default, TimeProvider.System);
var write = await MeasureAsync(requests, async r =>
{
    var resources = r.Bundle.Entry.Select(e => e.Resource).OfType<DomainResource>().Where(x => x is Claim or Patient or Coverage)
        .Select(x => (Resource)x.DeepCopy());
    await store.CommitAsync(resources.Select(x => interactions.PrepareWrite(x, ResourceInteractions.NewId(), 1, 0)).ToList(), CancellationToken.None);
    await dialect.IndexedAsync();
});

// (f) A CRD order-sign call with complete prefetch: read the call, decide each order under each coverage, answer, and
// store the coverage assertions durably. The orders are each request's Claim items, as an EHR would hold them.
var crd = new CoverageRequirements(policy, new SqlCoverageAssertionStore(store), TimeProvider.System);
var service = CrdHooks.Find("crd-order-sign")!;
var hooks = requests.Select(OrderSign).ToList();
foreach (var hook in hooks.Take(10))
{
    await crd.AnswerAsync(HookRequest.Read(hook, service), CancellationToken.None);
}
var hookTimes = await MeasureAsync(hooks, async hook => await crd.AnswerAsync(HookRequest.Read(hook, service), CancellationToken.None));

// (g) What the server does for a $submit but HTTP and the token: read, prove, decide, build the response, and save the
// authorization, its resources and its audit steps durably; one at a time, so each waits for its own commit.
var ledger = new FollowUpLedger(store, interactions);
var authorizations = new SqlAuthorizationStore(store);
var pas = new PriorAuthorizationService(policy, authorizations, interactions, pipeline, ledger,
    new SupportingDocuments(authorizations, store, interactions, policy, ledger));
const string SubmitBase = "http://localhost/fhir";
// Its warm-up is longer: the JIT's second tier compiles the whole request path, and would otherwise be counted.
for (var i = 0; i < 100; i++)
{
    await pas.SubmitAsync(Encoding.UTF8.GetBytes(generator.Next()), PasVersion.V2_2_1, SubmitBase, CancellationToken.None);
}
var submitTimes = await MeasureAsync(bodies, async body => await pas.SubmitAsync(body, PasVersion.V2_2_1, SubmitBase, CancellationToken.None));
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
Directory.Delete(data, recursive: true);

Console.WriteLine();
Console.WriteLine($"{"stage",-34} {"median ms",10} {"p99 ms",10} {"KB allocated",14}");
Print("(a) stock Firely validation", stockTimes);
Print("(b) FhirPriorAuth validation", pipelineTimes);
Print("(c) parse (JSON to POCO)", parse);
Print("    with the SDK's checks", checkedParse);
Print("(d) policy decision", decide);
Print("(e) durable write + index (3 res.)", write);
Print("(f) CRD order-sign, full prefetch", hookTimes);
Print("(g) $submit without HTTP", submitTimes);
Console.WriteLine($"(a) first call, schema compilation: {stockFirst.TotalMilliseconds:F0} ms");
Console.WriteLine($"(b) warm-up (packages, compiled profiles): {pipelineWarm.TotalMilliseconds:F0} ms; proven on the fast path: {pipeline.Proven} of {pipeline.Proven + pipeline.FullValidations}");
Console.WriteLine($"(a)/(b) median ratio: {Percentile(stockTimes.Times, 50) / Percentile(pipelineTimes.Times, 50):F1}x, p99 ratio: {Percentile(stockTimes.Times, 99) / Percentile(pipelineTimes.Times, 99):F1}x");
return 0;

static byte[] OrderSign(PasRequest request)
{
    var orders = request.Claim.Item.Select(item => new ServiceRequest
    {
        Id = $"order-{item.Sequence}",
        Status = RequestStatus.Draft,
        Intent = RequestIntent.Order,
        Code = item.ProductOrService,
        Subject = new ResourceReference($"Patient/{(request.Bundle.Entry.Select(e => e.Resource).OfType<Patient>().FirstOrDefault()?.Id ?? "p")}"),
        Quantity = item.Quantity,
    });
    var draft = new Bundle { Type = Bundle.BundleType.Collection, Entry = orders.Select(o => new Bundle.EntryComponent { Resource = o }).ToList() };
    var patient = request.Bundle.Entry.Select(e => e.Resource).OfType<Patient>().First();
    var coverage = request.Bundle.Entry.Select(e => e.Resource).OfType<Coverage>().First();
    return Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
    {
        ["hook"] = "order-sign",
        ["hookInstance"] = Guid.NewGuid().ToString(),
        ["context"] = new System.Text.Json.Nodes.JsonObject
        {
            ["userId"] = "Practitioner/p",
            ["patientId"] = patient.Id,
            ["draftOrders"] = System.Text.Json.Nodes.JsonNode.Parse(FhirJson.ToJson(draft)),
        },
        ["prefetch"] = new System.Text.Json.Nodes.JsonObject
        {
            ["patient"] = System.Text.Json.Nodes.JsonNode.Parse(FhirJson.ToJson(patient)),
            ["coverage"] = System.Text.Json.Nodes.JsonNode.Parse(FhirJson.ToJson(coverage)),
        },
    }.ToJsonString());
}

static Timings Measure<T>(IEnumerable<T> inputs, Action<T> action) =>
    MeasureAsync(inputs, input => { action(input); return Task.CompletedTask; }).GetAwaiter().GetResult();

// Allocation is counted too: under load, garbage collection is the largest single cost, and unlike time it does not
// move with what else the machine is doing.
static async Task<Timings> MeasureAsync<T>(IEnumerable<T> inputs, Func<T, Task> action)
{
    var times = new List<double>();
    var clock = new Stopwatch();
    // The stage before leaves garbage (stock Firely 64 MB a request): collected now, not while this stage is timed.
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    foreach (var input in inputs)
    {
        clock.Restart();
        await action(input);
        times.Add(clock.Elapsed.TotalMilliseconds);
    }
    return new Timings(times, (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / Math.Max(1, times.Count));
}

static double Percentile(List<double> values, int p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];
}

static void Print(string stage, Timings timings) =>
    Console.WriteLine($"{stage,-34} {Percentile(timings.Times, 50),10:F2} {Percentile(timings.Times, 99),10:F2} {timings.AllocatedPerCall / 1024,14:N0}");

static string FindRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FhirPriorAuth.sln")))
    {
        directory = directory.Parent;
    }
    return directory?.FullName ?? throw new InvalidOperationException("Run the benchmark from inside the repository.");
}

/// <summary>The time of each call, and the bytes allocated per call on average.</summary>
internal sealed record Timings(List<double> Times, long AllocatedPerCall);
