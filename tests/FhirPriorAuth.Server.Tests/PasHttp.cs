// Firely annotates nearly every element as nullable; these tests read response shapes directly and fail loudly if one is missing.
#nullable disable warnings
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;

namespace FhirPriorAuth.Server.Tests;

/// <summary>PAS calls and the checks Inferno makes on their answers.</summary>
internal static class PasHttp
{
    public const string ReviewAction = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction";
    public const string ReviewActionCode = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode";

    public static string Base(string version) => version == "2.0.1" ? "pas/2.0.1/fhir" : "fhir";

    public static string Inferno(string version, string file) => File.ReadAllText(Path.Combine(RepoPaths.InfernoPas(version), file));

    public static string Example(string version, string file) => File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", version, file));

    public static Task<HttpResponseMessage> Submit(this HttpClient client, string version, string body) =>
        client.PostAsync(Base(version) + "/Claim/$submit", Fhir.Json(body));

    public static Task<HttpResponseMessage> Inquire(this HttpClient client, string version, string body) =>
        client.PostAsync(Base(version) + "/Claim/$inquire", Fhir.Json(body));

    /// <summary>Asserts a 200 PAS Response Bundle that Inferno's response checks accept, and returns it.</summary>
    public static async Task<Bundle> AssertResponseBundle(this HttpResponseMessage response, string requestJson)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"$submit answered {(int)response.StatusCode}: {text}");
        var bundle = FhirJson.Parse<Bundle>(Encoding.UTF8.GetBytes(text));
        var request = FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(requestJson)) as Bundle;
        Assert.Equal(Bundle.BundleType.Collection, bundle.Type);
        Assert.NotNull(bundle.Identifier?.Value);
        Assert.NotNull(bundle.Timestamp);
        var claimResponse = Assert.IsType<ClaimResponse>(bundle.Entry[0].Resource);
        var claim = (Claim)request!.Entry[0].Resource;
        Assert.Equal(request.Entry[0].FullUrl, claimResponse.Request.Reference);
        Assert.Equal(claim.Item.Select(i => i.Sequence).Order(), claimResponse.Item.Select(i => i.ItemSequence).Order());
        Assert.All(claimResponse.Item, i => Assert.NotNull(ReviewActionOf(i.Adjudication)));
        AssertReferencesResolve(bundle);
        // Echoed resources keep their fullUrls and identifiers.
        foreach (var entry in bundle.Entry.Skip(1).Where(e => request.Entry.Any(r => r.FullUrl == e.FullUrl)))
        {
            var original = request.Entry.Single(r => r.FullUrl == entry.FullUrl).Resource;
            Assert.True(original.IsExactly(entry.Resource), $"{entry.FullUrl} was not echoed unchanged");
        }
        return bundle;
    }

    /// <summary>Inferno's rule: every reference made by the ClaimResponse (except request), and transitively by what it references, resolves to exactly one entry.</summary>
    public static void AssertReferencesResolve(Bundle bundle)
    {
        var lastBase = BaseOf(bundle.Entry[^1].FullUrl!);
        var pending = new Queue<Bundle.EntryComponent>([bundle.Entry[0]]);
        var seen = new HashSet<string>();
        while (pending.TryDequeue(out var entry))
        {
            if (!seen.Add(entry.FullUrl!)) continue;
            foreach (var (node, path) in FhirTree.Walk(entry.Resource, entry.Resource.TypeName))
            {
                if (node is not ResourceReference { Reference: { Length: > 0 } target } || target.StartsWith('#') || path == "ClaimResponse.request")
                {
                    continue;
                }
                var absolute = target.Contains("://") || target.StartsWith("urn:") ? target : $"{lastBase}/{target}";
                var matches = bundle.Entry.Where(e => e.FullUrl == absolute || e.FullUrl == target).ToList();
                Assert.True(matches.Count == 1, $"{entry.FullUrl} {path} -> {target} resolves to {matches.Count} entries");
                pending.Enqueue(matches[0]);
            }
        }
    }

    private static string BaseOf(string fullUrl)
    {
        var parts = fullUrl.Split('/');
        return string.Join('/', parts.Take(parts.Length - 2));
    }

    /// <summary>Validates with the server's own Firely setup: no errors outside the suppressed classes.</summary>
    public static void AssertValid(this ServerHost server, Resource resource, FhirPriorAuth.Core.Pas.PasVersion version, string profile)
    {
        var report = server.Services.GetRequiredService<FhirPriorAuth.Core.Validation.FirelyPasValidator>().ValidateAgainst(resource, version, profile);
        Assert.True(report.Errors.Count == 0, string.Join(Environment.NewLine, report.Errors.Concat(report.Warnings.Where(w => w.Severity == Hl7.Fhir.Model.OperationOutcome.IssueSeverity.Error)).Select(e => $"{e.Severity} {e.Diagnostics} @ {string.Join(",", e.Expression)}")));
    }

    public static FhirPriorAuth.Core.Pas.PasVersion Version(string label) =>
        label == "2.0.1" ? FhirPriorAuth.Core.Pas.PasVersion.V2_0_1 : FhirPriorAuth.Core.Pas.PasVersion.V2_2_1;

    /// <summary>The IG's example Bundles whose first entry is a Claim, read from the package .tgz at test time.</summary>
    public static IReadOnlyList<(string Name, string Json)> IgRequestExamples(string version) =>
        PackageFiles(version, "package/example/Bundle-")
            .Where(f => JsonNode.Parse(f.Json)?["entry"]?[0]?["resource"]?["resourceType"]?.GetValue<string>() == "Claim")
            .ToList();

    /// <summary>One file of the PAS package, e.g. a StructureDefinition.</summary>
    public static string PackageFile(string version, string name) => PackageFiles(version, "package/" + name).Single().Json;

    private static IEnumerable<(string Name, string Json)> PackageFiles(string version, string prefix)
    {
        using var file = File.OpenRead(Path.Combine(RepoPaths.FhirPackages, $"hl7.fhir.us.davinci-pas-{version}.tgz"));
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
        using var tar = new System.Formats.Tar.TarReader(gzip);
        var files = new List<(string, string)>();
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is not null && entry.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                files.Add((Path.GetFileName(entry.Name), new StreamReader(entry.DataStream).ReadToEnd()));
            }
        }
        return files;
    }

    public static string? ReviewActionOf(IEnumerable<ClaimResponse.AdjudicationComponent> adjudication) =>
        adjudication.Select(a => a.GetExtension(ReviewAction)?.GetExtension(ReviewActionCode)?.Value as CodeableConcept)
            .SelectMany(c => c?.Coding ?? [])
            .FirstOrDefault(c => c.System == "https://codesystem.x12.org/005010/306")?.Code;

    public static IReadOnlyList<string?> ReviewActions(this Bundle bundle) =>
        ((ClaimResponse)bundle.Entry[0].Resource).Item.OrderBy(i => i.ItemSequence).Select(i => ReviewActionOf(i.Adjudication)).ToList();

    /// <summary>The request moved to another member: every Patient and Coverage identifier and the subscriber id.</summary>
    public static string WithMember(string json, string member)
    {
        var node = JsonNode.Parse(json)!;
        foreach (var entry in node["entry"]!.AsArray())
        {
            var resource = entry!["resource"]!;
            if (resource["resourceType"]!.GetValue<string>() is "Patient" or "Coverage")
            {
                foreach (var identifier in resource["identifier"]?.AsArray() ?? [])
                {
                    identifier!["value"] = member;
                }
                if (resource["subscriberId"] is not null)
                {
                    resource["subscriberId"] = member;
                }
            }
        }
        return node.ToJsonString();
    }

    /// <summary>A copy of a request with a new Bundle.identifier (and optionally Claim.identifier), so it is a new request.</summary>
    public static string Fresh(string json, string? claimIdentifier = null)
    {
        var node = JsonNode.Parse(json)!;
        node["identifier"]!["value"] = "T-" + Guid.NewGuid().ToString("N");
        if (claimIdentifier is not null)
        {
            node["entry"]![0]!["resource"]!["identifier"]![0]!["value"] = claimIdentifier;
        }
        return node.ToJsonString();
    }
}
