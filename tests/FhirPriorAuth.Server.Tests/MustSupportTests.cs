using System.Text.Json.Nodes;
using FhirPriorAuth.Tests;

namespace FhirPriorAuth.Server.Tests;

/// <summary>
/// Inferno's response must-support check, done here: the responses to the must-support pair of examples together
/// carry every mustSupport element of the PAS ClaimResponse, CommunicationRequest and Task profiles.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class MustSupportTests(ServerHost server)
{
    /// <summary>Elements a payer cannot show with honest data, and why.</summary>
    private static readonly Dictionary<string, string> NotShown = new()
    {
        ["ClaimResponse.request.extension:DataAbsentReason"] = "only for a Claim the payer never received (e.g. faxed); every request here is a FHIR Claim",
        ["CommunicationRequest.payload.extension:contentModifier"] = "the demo policy asks for whole documents, not LOINC-modified subsets",
        ["Task.input:AttachmentsNeeded.extension:contentModifier"] = "as for CommunicationRequest",
        ["Task.input:QuestionnaireContext.extension:paLineNumber"] = "the server does not ask for DTR questionnaires (questionnaire-context)",
    };

    [Theory]
    [InlineData("2.2.1")]
    [InlineData("2.0.1")]
    public async Task ThePairCarriesEveryMustSupportElement(string version)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new[] { "must_support_pa_submit_request_payload-1.json", "must_support_pa_submit_request_payload-2.json" })
        {
            var response = await server.Client.Submit(version, PasHttp.Fresh(PasHttp.Example(version, file)));
            var bundle = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            foreach (var entry in bundle["entry"]!.AsArray())
            {
                var resource = entry!["resource"]!;
                Collect(resource, resource["resourceType"]!.GetValue<string>(), present);
            }
        }
        var missing = new List<string>();
        foreach (var profile in new[] { "profile-claimresponse", "profile-communicationrequest", "profile-task" })
        {
            var definition = JsonNode.Parse(PasHttp.PackageFile(version, $"StructureDefinition-{profile}.json"))!;
            var elements = definition["snapshot"]!["element"]!.AsArray().Select(e => e!).ToDictionary(e => e["id"]!.GetValue<string>());
            foreach (var (id, element) in elements.Where(e => e.Value["mustSupport"]?.GetValue<bool>() == true))
            {
                if (!NotShown.ContainsKey(id) && !present.Any(p => p.StartsWith(Expected(id, elements), StringComparison.Ordinal)))
                {
                    missing.Add(id);
                }
            }
        }
        Assert.True(missing.Count == 0, "must-support elements never shown: " + string.Join(", ", missing));
    }

    /// <summary>The element id as a path over extension urls: <c>ClaimResponse.item.extension@http://…/extension-x.value</c>.</summary>
    private static string Expected(string id, Dictionary<string, JsonNode> elements)
    {
        var parts = new List<string>();
        var current = "";
        foreach (var segment in id.Split('.'))
        {
            current = current.Length == 0 ? segment : current + "." + segment;
            var name = segment.Split(':')[0].Replace("[x]", "", StringComparison.Ordinal);
            var slice = segment.Contains(':') ? segment.Split(':')[1] : null;
            if (name is "extension" or "modifierExtension" && slice is not null)
            {
                var url = elements.GetValueOrDefault(current)?["type"]?[0]?["profile"]?[0]?.GetValue<string>()?.Split('|')[0]
                    ?? elements.GetValueOrDefault(current + ".url")?["fixedUri"]?.GetValue<string>() ?? slice;
                parts.Add($"{name}@{url}");
            }
            else
            {
                parts.Add(name);
            }
        }
        return string.Join('.', parts);
    }

    private static void Collect(JsonNode node, string path, HashSet<string> present)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key is "extension" or "modifierExtension" && value is JsonArray extensions)
                    {
                        foreach (var extension in extensions)
                        {
                            var at = $"{path}.{key}@{extension!["url"]!.GetValue<string>()}";
                            present.Add(at);
                            Collect(extension, at, present);
                        }
                        continue;
                    }
                    present.Add($"{path}.{key}");
                    if (value is not null)
                    {
                        Collect(value, $"{path}.{key}", present);
                    }
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null) Collect(item, path, present);
                }
                break;
        }
    }
}
