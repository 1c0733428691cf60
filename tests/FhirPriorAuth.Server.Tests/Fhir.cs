using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Tests;

/// <summary>Small helpers for raw FHIR HTTP in tests.</summary>
internal static class Fhir
{
    public static StringContent Json(string json, string mediaType = "application/fhir+json") =>
        new(json, Encoding.UTF8, mediaType);

    public static StringContent Json(Resource resource) => Json(FhirJson.ToJson(resource));

    public static async Task<T> ReadAs<T>(this HttpResponseMessage response) where T : Resource
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var type = JsonNode.Parse(body)?["resourceType"]?.GetValue<string>();
        Assert.True(type == ModelInfo.GetFhirTypeNameForType(typeof(T)),
            $"expected a {typeof(T).Name}, got HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return FhirJson.Parse<T>(body);
    }

    /// <summary>Asserts the status and that the body is an OperationOutcome; returns it.</summary>
    public static async Task<OperationOutcome> AssertOutcome(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("OperationOutcome", JsonNode.Parse(body)?["resourceType"]?.GetValue<string>());
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        return FhirJson.Parse<OperationOutcome>(Encoding.UTF8.GetBytes(body));
    }

    public static HttpRequestMessage Request(HttpMethod method, string url, HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content!.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return request;
    }

    public static Patient Member(string memberId, string family = "Okafor") => new()
    {
        Identifier = [new Identifier("https://payer.example/member-id", memberId)],
        Name = [new HumanName { Family = family, Given = ["Chidi"] }],
        Gender = AdministrativeGender.Male,
        BirthDate = "1968-11-02",
    };

    public static Claim PriorAuthClaim(string patientId, string providerId = "org-1", string created = "2026-03-01") => new()
    {
        Status = FinancialResourceStatusCodes.Active,
        Use = ClaimUseCode.Preauthorization,
        Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        Patient = new ResourceReference($"Patient/{patientId}"),
        Created = created,
        Provider = new ResourceReference($"Organization/{providerId}"),
        Insurer = new ResourceReference("Organization/payer-01"),
        Priority = new CodeableConcept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        Insurance = [new Claim.InsuranceComponent { Sequence = 1, Focal = true, Coverage = new ResourceReference("Coverage/cov-1") }],
    };

    public static string NewId() => Guid.NewGuid().ToString("N");

    public static MediaTypeWithQualityHeaderValue Accept(string mediaType) => new(mediaType);
}
