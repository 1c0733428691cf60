using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Tests;

namespace FhirPriorAuth.Core.Tests.Pas;

/// <summary>The references a request must resolve inside its Bundle.</summary>
public sealed class PasRequestTests
{
    private const string PriorUrl = "http://davinci-pas.org/fhir/Claim/PriorClaim";

    /// <summary>A Claim update: the request's Claim is related to the prior Claim it replaces, included as an entry.</summary>
    private static JsonObject Update(Action<JsonObject> changePrior)
    {
        var bundle = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.InfernoPas("2.2.1"), "approval_pa_submit_request_payload.json")))!.AsObject();
        var entries = bundle["entry"]!.AsArray();
        var claim = entries[0]!["resource"]!.AsObject();
        var prior = claim.DeepClone().AsObject();
        prior["id"] = "PriorClaim";
        // The prior Claim was itself an update of one that is deliberately not included (PAS spec-66).
        prior["related"] = new JsonArray(new JsonObject { ["claim"] = new JsonObject { ["reference"] = "Claim/GrandparentClaim" } });
        changePrior(prior);
        entries.Add(new JsonObject { ["fullUrl"] = PriorUrl, ["resource"] = prior });
        claim["related"] = new JsonArray(new JsonObject { ["claim"] = new JsonObject { ["reference"] = PriorUrl } });
        return bundle;
    }

    private static PasRequest Read(JsonObject bundle) =>
        PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(bundle.ToJsonString())), PasOperation.Submit);

    [Fact]
    public void The_prior_Claims_own_related_Claim_need_not_be_included()
    {
        var request = Read(Update(_ => { }));

        Assert.Contains(request.Closure(request.ClaimEntry), e => e.FullUrl == PriorUrl);
    }

    [Fact]
    public void Any_other_reference_of_the_prior_Claim_must_resolve_and_is_reported_where_it_is()
    {
        var bundle = Update(prior => prior["patient"] = new JsonObject { ["reference"] = "Patient/Missing" });

        var refused = Assert.Throws<FhirException>(() => Read(bundle));

        var issue = Assert.Single(refused.Outcome.Issue);
        Assert.Equal($"Bundle.entry[{bundle["entry"]!.AsArray().Count - 1}].resource.patient", Assert.Single(issue.Expression));
        Assert.Contains("Patient/Missing", issue.Diagnostics ?? issue.Details?.Text, StringComparison.Ordinal);
    }
}
