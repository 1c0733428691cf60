using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>Where documents came from.</summary>
/// <param name="Kind"><see cref="StepKinds.Attachment"/> (pushed by the provider) or <see cref="StepKinds.Ehr"/> (pulled from its EHR).</param>
/// <param name="Who">The client that pushed them, or the EHR's base URL.</param>
/// <param name="Queries">For pulled documents, the EHR searches that found them.</param>
public sealed record DocumentOrigin(string Kind, string Who, IReadOnlyList<string>? Queries = null);

/// <summary>Documents accepted for an authorization: as the policy sees them, and as they are stored.</summary>
/// <param name="Entries">Bundle entries the policy reads alongside the request.</param>
/// <param name="Writes">The DocumentReferences and, for pulled ones, their Provenance.</param>
/// <param name="References">The stored documents, <c>DocumentReference/id</c>.</param>
public sealed record AcceptedDocuments(IReadOnlyList<Bundle.EntryComponent> Entries, IReadOnlyList<ResourceWrite> Writes, IReadOnlyList<string> References)
{
    /// <summary>The stored documents' ids.</summary>
    public IEnumerable<string> Ids => References.Select(r => r["DocumentReference/".Length..]);
}

/// <summary>What receiving documents did.</summary>
/// <param name="Authorization">The authorization as it is now.</param>
/// <param name="Decided">Items the documents let the policy decide (no longer waiting for documentation).</param>
/// <param name="Documents">The stored documents, <c>DocumentReference/id</c>.</param>
public sealed record DocumentsReceived(AuthorizationRecord Authorization, IReadOnlyList<ItemDecision> Decided, IReadOnlyList<string> Documents);

/// <summary>
/// Documents that arrive after a request was pended (pushed by the provider or pulled from its EHR): stored with where
/// they came from, then the items waiting for documentation are decided again by the policy, with every document
/// received so far. Items the documents settle get their decision, citing them, in a new ClaimResponse version; their
/// documentation requests and Tasks are completed. All of it is one transaction, recorded like a submission.
/// </summary>
public sealed class SupportingDocuments(IAuthorizationStore store, IResourceStore resources, ResourceInteractions fhir, PolicyEngine policy,
    FollowUpLedger followUps)
{
    private const int MaxSaveAttempts = 3;

    /// <summary>Stores <paramref name="documents"/> for <paramref name="authorization"/> and decides again what waited for them.</summary>
    /// <param name="authorization">The authorization (read again if it changes meanwhile).</param>
    /// <param name="documents">The documents as received; they get the server's ids.</param>
    /// <param name="origin">Where they came from.</param>
    /// <param name="record">What is kept as the request of this step (the Parameters as received, or the EHR's answer).</param>
    /// <param name="key">Idempotency key: the same documents received twice are stored once.</param>
    /// <param name="baseUrl">The base URL, for fullUrls.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<DocumentsReceived> ReceiveAsync(AuthorizationRecord authorization, IReadOnlyList<DocumentReference> documents,
        DocumentOrigin origin, byte[] record, string key, string baseUrl, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            if (await store.FindResponseAsync(key, ct) is not null)
            {
                return new DocumentsReceived(authorization, [], []);
            }
            var revision = await AuthorizationRevision.LoadAsync(store, authorization, ct);
            var now = fhir.Now();
            var accepted = Accept(documents, origin, authorization, baseUrl, now);
            var earlier = new List<Bundle.EntryComponent>();
            foreach (var reference in authorization.Documents)
            {
                if (await resources.ReadAsync("DocumentReference", reference, null, ct) is { IsDeleted: false } stored)
                {
                    earlier.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl}/DocumentReference/{reference}", Resource = FhirJson.Parse<DocumentReference>(stored.Json.Span) });
                }
            }
            var decided = Decide(revision.Request, authorization, [.. accepted.Entries, .. earlier], accepted.References, now);
            authorization.Documents.AddRange(accepted.Ids);

            var writes = new List<ResourceWrite>(accepted.Writes);
            var work = new List<WorkItem>();
            var responseBundle = revision.Previous;
            if (decided.Count > 0)
            {
                var (_, responseWrite, bundle) = revision.NextResponse(fhir, baseUrl, now);
                (responseBundle, writes) = (bundle, [responseWrite, .. writes]);
                writes.AddRange(await followUps.CloseSettledAsync(authorization, now,
                    $"Documentation received ({origin.Kind}): {string.Join(", ", accepted.References)}.", null, accepted.References, ct));
                var (reviews, reviewWork) = followUps.OpenReviews(authorization, authorization.ClaimId, decided, now);
                writes.AddRange(reviews);
                work.AddRange(reviewWork);
            }
            authorization.UpdatedAt = now;
            var submission = new SubmissionRecord(ResourceInteractions.NewId(), key, null, now, authorization, IsNewAuthorization: false,
                decided, writes, record, FhirJson.ToBytes(responseBundle), [], work,
                origin.Kind);
            try
            {
                await store.SaveAsync(submission, ct);
                return new DocumentsReceived(authorization, decided, accepted.References);
            }
            catch (VersionConflictException) when (attempt < MaxSaveAttempts)
            {
                authorization = await store.ReadAsync(authorization.Number, ct) ?? throw FhirException.NotFound($"There is no authorization {authorization.Number}.");
            }
        }
    }

    /// <summary>
    /// The documents with the server's ids and the authorization's access labels, ready to store; pulled documents
    /// get a Provenance naming the EHR, the time and the searches.
    /// </summary>
    public AcceptedDocuments Accept(IReadOnlyList<DocumentReference> documents, DocumentOrigin origin, AuthorizationRecord authorization,
        string baseUrl, DateTimeOffset now)
    {
        var (entries, writes, references) = (new List<Bundle.EntryComponent>(), new List<ResourceWrite>(), new List<string>());
        var labels = PriorAuthorizationService.Labels(authorization);
        foreach (var original in documents)
        {
            var document = (DocumentReference)original.DeepCopy();
            document.Id = ResourceInteractions.NewId();
            document.Meta = new Meta
            {
                Source = origin.Kind == StepKinds.Ehr && original.Id is { } ehrId ? $"{origin.Who.TrimEnd('/')}/DocumentReference/{ehrId}" : null,
            };
            // Linked to the request it supports (searchable as DocumentReference?related=Claim/id).
            document.Context ??= new DocumentReference.ContextComponent();
            document.Context.Related.Add(new ResourceReference($"Claim/{authorization.ClaimId}"));
            entries.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl}/DocumentReference/{document.Id}", Resource = document });
            writes.Add(fhir.PrepareWrite(document, document.Id, 1, 0, access: labels));
            references.Add($"DocumentReference/{document.Id}");
        }
        if (origin.Kind == StepKinds.Ehr && references.Count > 0)
        {
            var provenance = new Provenance
            {
                Id = ResourceInteractions.NewId(),
                Target = references.Select(r => new ResourceReference(r)).ToList(),
                Recorded = now,
                Activity = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"),
                Agent =
                [
                    new Provenance.AgentComponent
                    {
                        Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "assembler", "Assembler"),
                        Who = new ResourceReference { Identifier = new Identifier(FollowUpAudit.ClientSystem, FollowUpWork.WorkerAgent), Display = "FhirPriorAuth" },
                    },
                ],
                Entity = documents.Where(d => d.Id is not null).Select(d => new Provenance.EntityComponent
                {
                    Role = Provenance.ProvenanceEntityRole.Source,
                    What = new ResourceReference($"{origin.Who.TrimEnd('/')}/DocumentReference/{d.Id}"),
                }).ToList(),
                Reason = (origin.Queries ?? []).Select(q => new CodeableConcept { Text = $"CDex direct query: GET {q}" }).ToList(),
            };
            writes.Add(fhir.PrepareWrite(provenance, provenance.Id, 1, 0, access: labels));
        }
        return new AcceptedDocuments(entries, writes, references);
    }

    /// <summary>
    /// Decides again the items waiting for documentation, with <paramref name="documents"/> beside the request; applies
    /// and returns the decisions of those it settles, citing <paramref name="cited"/>. Items still missing a document
    /// keep their pend (and the requests already sent).
    /// </summary>
    public IReadOnlyList<ItemDecision> Decide(PasRequest request, AuthorizationRecord authorization, IReadOnlyList<Bundle.EntryComponent> documents,
        IReadOnlyList<string> cited, DateTimeOffset now)
    {
        var waiting = authorization.Items.Where(i => i.Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation })
            .Select(i => i.Sequence).ToHashSet();
        if (waiting.Count == 0 || documents.Count == 0)
        {
            return [];
        }
        var bundle = new Bundle { Type = request.Bundle.Type, Entry = [.. request.Bundle.Entry, .. documents] };
        var decided = policy.Decide(new PolicyRequest(request.Claim, bundle, request.Resolve, now), waiting)
            .Where(d => d is not { Action: ReviewAction.Pended, Pend: PendReason.Documentation })
            .Select(d => cited.Count == 0 ? d : d with { Reason = $"{d.Reason} Documentation received: {string.Join(", ", cited)}." })
            .ToList();
        var bySequence = decided.ToDictionary(d => d.Sequence);
        authorization.Items = authorization.Items
            .Select(i => bySequence.TryGetValue(i.Sequence, out var d) ? i with { Decision = d, DecidedAt = now } : i).ToList();
        return decided;
    }
}
