using System.Diagnostics;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Storage;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tools;
using Hl7.Fhir.Rest;

// Usage:
//   migrate [--provider Sqlite|SqlServer] [--connection-string CS] [--data-dir DIR]
//   seed --members N [--seed S] (--server http://host:port/fhir --token T | [--provider ...] [--connection-string CS] [--data-dir DIR])
//   register-client --client-id ID (--jwks FILE | --jwks-url URL | --public-key PEM) [--scopes S] [--organization sys|val,...] [--roles admin,reviewer] [--rate-limit N]
//   dev-client [--client-id local-dev] [--out .fhirpa]
//   token --client-id ID --key PEM [--server http://localhost:5080] [--scopes S]
//   load [--server URL] (--token T | --client-id ID --key PEM) [--concurrency 16] [--rate R] [--duration 60s | --count N] [--warmup N] [--version V] [--seed S] [--pid PID] [--rss-every 60s]
//   seed-authorizations --count N [--seed S] [--batch 500] [--version V] [--provider ...] [--connection-string CS] [--data-dir DIR]
//   query [--server URL] (--token T | --client-id ID --key PEM) [--count 200] [--concurrency 4] [--sample FILE | --data-dir DIR] [--version V]
var options = ParseOptions(args.Skip(1));
try
{
    return await Run();
}
catch (Exception e) when (e is ArgumentException or IOException or FormatException or HttpRequestException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

async Task<int> Run()
{
    switch (args.FirstOrDefault())
    {
        case "migrate":
            var applied = await new MigrationRunner(Storage(options).CreateDialect()).MigrateAsync(CancellationToken.None);
            Console.WriteLine(applied.Count == 0 ? "Schema is up to date." : $"Applied migrations: {string.Join(", ", applied)}");
            return 0;
        case "seed":
            return await Seed(options);
        case "register-client":
            return await Clients.RegisterAsync(options, Storage(options).CreateDialect());
        case "dev-client":
            return await Clients.DevClientAsync(options, Storage(options).CreateDialect());
        case "token":
            return await Clients.TokenAsync(options);
        case "load":
            return await Load.SubmitAsync(options);
        case "seed-authorizations":
            return await Load.SeedAsync(options, Storage(options));
        case "query":
            return await Load.QueryAsync(options, Storage(options));
        default:
            Console.Error.WriteLine("""
                FhirPriorAuth tools
                  migrate          [--provider Sqlite|SqlServer] [--connection-string CS] [--data-dir DIR]
                  seed             --members N [--seed S] [--server BASE_URL --token T | --provider ... --connection-string CS --data-dir DIR]
                  register-client  --client-id ID (--jwks FILE | --jwks-url URL | --public-key PEM) [--scopes S]
                                   [--organization system|value,...] [--roles admin,reviewer] [--rate-limit PER_MINUTE] [storage options]
                  dev-client       [--client-id local-dev] [--out .fhirpa] [storage options]   (a local admin client and its key)
                  token            --client-id ID --key PEM [--server http://localhost:5080] [--scopes S]
                  load             [--server http://localhost:5080] (--token T | --client-id ID --key PEM) [--concurrency 16]
                                   [--duration 60s | --count N] [--warmup N] [--version 2.2.1|2.0.1] [--seed S]
                                   [--pid SERVER_PID] [--rss-every 60s]          ($submit of generated requests, every one different)
                  seed-authorizations --count N [--seed S] [--batch 500] [--version 2.2.1] [storage options]
                                   (what $submit stores, in-process without validation; writes a sample for query)
                  query            [--server URL] (--token T | --client-id ID --key PEM) [--count 200] [--concurrency 4]
                                   [--sample FILE | --data-dir DIR] [--version 2.2.1]   ($inquire and searches, per kind)
                """);
            return 2;
    }
}

static async Task<int> Seed(Dictionary<string, string> options)
{
    var members = int.Parse(options.GetValueOrDefault("members", "100"));
    var seed = int.Parse(options.GetValueOrDefault("seed", PayerDataGenerator.DefaultSeed.ToString()));
    var population = new PayerDataGenerator(seed).Generate(members, Math.Max(5, members / 50), Math.Max(10, members / 20));
    var resources = population.All.ToList();
    var clock = Stopwatch.StartNew();

    if (options.TryGetValue("server", out var server))
    {
        // Through the public API, as an EHR would: PUT with the generated ids (update-as-create), so re-seeding is idempotent.
        using var client = new FhirClient(server, new FhirClientSettings { PreferredFormat = ResourceFormat.Json });
        if (options.TryGetValue("token", out var token))
        {
            client.RequestHeaders!.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        foreach (var resource in resources)
        {
            await client.UpdateAsync(resource);
        }
    }
    else
    {
        var dialect = Storage(options).CreateDialect();
        await new MigrationRunner(dialect).MigrateAsync(CancellationToken.None);
        var fhir = new ResourceInteractions(new SqlResourceStore(dialect), SearchParameterRegistry.Default, TimeProvider.System);
        foreach (var resource in resources)
        {
            await fhir.UpdateAsync(resource.TypeName, resource.Id!, resource, null, CancellationToken.None);
        }
    }
    Console.WriteLine($"Seeded {resources.Count} resources ({members} members with coverage) in {clock.Elapsed.TotalSeconds:F1} s.");
    return 0;
}

static StorageOptions Storage(Dictionary<string, string> options) => new()
{
    Provider = options.GetValueOrDefault("provider", StorageOptions.Sqlite),
    ConnectionString = options.GetValueOrDefault("connection-string"),
    DataDirectory = options.GetValueOrDefault("data-dir", Path.Combine("src", "FhirPriorAuth.Server", "data")),
};

static Dictionary<string, string> ParseOptions(IEnumerable<string> args)
{
    var result = new Dictionary<string, string>();
    string? key = null;
    foreach (var arg in args)
    {
        if (arg.StartsWith("--", StringComparison.Ordinal))
        {
            key = arg[2..];
            result[key] = "true";
        }
        else if (key is not null)
        {
            result[key] = arg;
            key = null;
        }
    }
    return result;
}
