using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>
/// An authorization changed outside a submission (a reviewer's decision, documents received): the request as its
/// latest response holds it, and the new ClaimResponse version and response Bundle once its items are decided again.
/// </summary>
internal sealed class AuthorizationRevision
{
    private AuthorizationRevision(AuthorizationRecord authorization, Bundle previous)
    {
        Authorization = authorization;
        Previous = previous;
        // The previous response holds the request's resources (the Claim and all it refers to) after the ClaimResponse
        // and the follow-ups it sent.
        Request = PasRequest.Read(new Bundle
        {
            Type = Bundle.BundleType.Collection,
            Identifier = previous.Identifier,
            Timestamp = previous.Timestamp,
            Entry = previous.Entry.SkipWhile(e => e.Resource is not Claim).ToList(),
        }, PasOperation.Submit);
    }

    /// <summary>The authorization; the caller changes its items.</summary>
    public AuthorizationRecord Authorization { get; }

    /// <summary>The latest response Bundle.</summary>
    public Bundle Previous { get; }

    /// <summary>The request as the latest response holds it.</summary>
    public PasRequest Request { get; }

    /// <summary>Loads the latest response of <paramref name="authorization"/>.</summary>
    public static async Task<AuthorizationRevision> LoadAsync(IAuthorizationStore store, AuthorizationRecord authorization, CancellationToken ct) =>
        await store.LatestResponseAsync(authorization.Number, ct) is { } latest
            ? new AuthorizationRevision(authorization, (Bundle)FhirJson.Parse(latest, "Bundle"))
            : throw FhirException.NotFound($"Authorization {authorization.Number} has no response to update.");

    /// <summary>
    /// The next ClaimResponse version from the authorization's current items, its write, and the response Bundle that
    /// carries it with the previous response's other entries. It refers to the follow-ups already sent; it creates none.
    /// </summary>
    public (ClaimResponse Response, ResourceWrite Write, Bundle Bundle) NextResponse(ResourceInteractions fhir, string baseUrl, DateTimeOffset now)
    {
        var authorization = Authorization;
        authorization.Status = PriorAuthorizationService.OverallStatus(authorization.Items);
        authorization.UpdatedAt = now;
        var response = new ClaimResponseBuilder(authorization.PasVersion, baseUrl, now)
            .Build(Request, authorization, authorization.ClaimResponseId, ResourceInteractions.NewId).ClaimResponse;
        response.CommunicationRequest = ((ClaimResponse)Previous.Entry[0].Resource!).CommunicationRequest;
        var version = authorization.ClaimResponseVersion;
        authorization.ClaimResponseVersion = version + 1;
        var write = fhir.PrepareWrite(response, authorization.ClaimResponseId, version + 1, version, access: PriorAuthorizationService.Labels(authorization));
        var bundle = new Bundle
        {
            Type = Previous.Type,
            Identifier = new Identifier("urn:fhirpriorauth:response-bundle", ResourceInteractions.NewId()),
            Timestamp = now,
            Entry = [new Bundle.EntryComponent { FullUrl = Previous.Entry[0].FullUrl, Resource = response }, .. Previous.Entry.Skip(1)],
        };
        return (response, write, bundle);
    }
}
