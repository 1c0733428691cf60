using System.Globalization;
using System.Security.Cryptography;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using FhirPriorAuth.Core.Validation;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>
/// <c>Claim/$submit</c> and <c>Claim/$inquire</c>: read and check the request, validate it, decide each item from
/// policy, and store everything it produces in one transaction before answering.
/// </summary>
public sealed class PriorAuthorizationService(
    PolicyEngine policy,
    IAuthorizationStore store,
    ResourceInteractions interactions,
    IPasValidator validator,
    FollowUpLedger followUps,
    SupportingDocuments documents,
    FollowUpSettings? settings = null,
    IDocumentSource? ehr = null,
    Crd.CoverageAssertionLink? assertions = null)
{
    private const int MaxSaveAttempts = 3;
    // Requests whose proof runs beside their decision now; one at a time, so that only a request alone gets two cores.
    private int _proving;
    private readonly FollowUpSettings _settings = settings ?? new FollowUpSettings();

    /// <summary>How many authorizations one inquiry returns at most.</summary>
    public const int MaxInquiryResults = 50;

    /// <summary>Processes a submission; returns the PAS Response Bundle as JSON.</summary>
    /// <param name="rawBody">The body as received (parsed here, stored, and hashed for replay detection).</param>
    /// <param name="version">The PAS version of the endpoint.</param>
    /// <param name="baseUrl">The endpoint's base URL, for the fullUrls of resources the server creates.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="access">The caller's scope: a restricted caller submits only as its own organization.</param>
    /// <param name="audit">The request's AuditEvent, to be committed with the submission.</param>
    public async Task<byte[]> SubmitAsync(byte[] rawBody, PasVersion version, string baseUrl, CancellationToken ct,
        AccessScope? access = null, SubmissionAudit? audit = null)
    {
        access ??= AccessScope.All;
        for (int attempt = 1; ; attempt++)
        {
            var (replay, submission) = await DecideSubmissionAsync(rawBody, version, baseUrl, access, audit, ct);
            if (replay is not null)
            {
                return replay;
            }
            try
            {
                if (await store.SaveAsync(submission!, ct))
                {
                    audit?.Saved = true;
                    return submission!.ResponseBundle;
                }
                // A concurrent duplicate won the unique key; its response is the answer to this one too.
            }
            catch (VersionConflictException) when (attempt < MaxSaveAttempts)
            {
                // An update of the same authorization committed first, or a new one took its number: decide again.
            }
            catch (VersionConflictException)
            {
                throw FhirException.Conflict("The authorization was changed by another request at the same time; resubmit.");
            }
        }
    }

    /// <summary>
    /// Reads, validates and decides a submission: the stored answer when it is a replay, else the record to save.
    /// </summary>
    /// <remarks>
    /// A method of its own so that the parsed request, a tree of small objects, is garbage by the time the save waits for
    /// its commit. Under load most of a request's time is that wait, and every collection meanwhile copied the trees of
    /// the requests in flight: about 3 MB, 10 ms a collection (docs/performance.md, "Seventh pass"). A retry after a
    /// conflict, which is rare, reads and validates the request again.
    /// </remarks>
    private async Task<(byte[]? Replay, SubmissionRecord? Submission)> DecideSubmissionAsync(byte[] rawBody, PasVersion version,
        string baseUrl, AccessScope access, SubmissionAudit? audit, CancellationToken ct)
    {
        var (request, report, first) = await ProveWhileDecidingAsync(rawBody, version, baseUrl, access, audit, ct)
            ?? await ValidateThenDecideAsync(rawBody, version, baseUrl, access, audit, ct);
        if (first.Replay is not null)
        {
            return (first.Replay, null);
        }
        var submission = await PullDocumentsAsync(first.Submission!,
            pulled => DecideAsync(request, first.Submission!.IdempotencyKey, rawBody, version, baseUrl, access, pulled, audit, ct), ct);
        return (null, submission with { Warnings = report.Warnings.Select(w => $"{w.Expression.FirstOrDefault()}: {w.Diagnostics}").ToList() });
    }

    /// <summary>A request's first decision: the stored answer when it is a replay, else the record to save.</summary>
    private sealed record FirstDecision(byte[]? Replay, SubmissionRecord? Submission);

    /// <summary>
    /// The fast way: the request parsed for the proof is decided while another thread proves it. Both only read the
    /// parsed request, so a request that finds no other request proving gets a second core for its two largest CPU
    /// shares, and for its parse before them; under load they run one after the other, as more threads would only
    /// contend. A decision counts only when the proof goes through: otherwise it is dropped, errors included, and the
    /// checked way starts over, so what a client sees is what it saw when the decision came after the proof
    /// (docs/performance.md, "Twelfth pass" and "Fourteenth pass"). Null when the request takes the checked way.
    /// </summary>
    private async Task<(PasRequest, PasValidationReport, FirstDecision)?> ProveWhileDecidingAsync(byte[] rawBody, PasVersion version,
        string baseUrl, AccessScope access, SubmissionAudit? audit, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _proving) > 1)
        {
            Interlocked.Decrement(ref _proving);
            return ReadForProof(rawBody, PasOperation.Submit) is { } alone
                && Prove(alone, version, PasOperation.Submit) is { } proven
                ? (alone, proven, await OwnThenDecideAsync(alone)) : null;
        }
        PasRequest? request;
        PasValidationReport? report;
        Task<FirstDecision> decision;
        try
        {
            if ((request = await ReadForProofAsync(rawBody, PasOperation.Submit, inTwo: true)) is null)
            {
                return null;
            }
            var proof = System.Threading.Tasks.Task.Run(() => Prove(request, version, PasOperation.Submit));
            decision = OwnThenDecideAsync(request);
            report = await proof;
        }
        finally
        {
            Interlocked.Decrement(ref _proving);
        }
        try
        {
            var first = await decision;
            return report is null ? null : (request, report, first);
        }
        catch (Exception e) when (report is null && e is not OutOfMemoryException)
        {
            return null;
        }

        async Task<FirstDecision> OwnThenDecideAsync(PasRequest parsed)
        {
            RequireOwnOrganization(parsed, access, "submit");
            return await DecideFirstAsync(parsed, rawBody, version, baseUrl, access, audit, ct);
        }
    }

    private async Task<(PasRequest, PasValidationReport, FirstDecision)> ValidateThenDecideAsync(byte[] rawBody, PasVersion version,
        string baseUrl, AccessScope access, SubmissionAudit? audit, CancellationToken ct)
    {
        var (request, report, _) = ReadChecked(rawBody, version, PasOperation.Submit, access, "submit");
        return (request, report, await DecideFirstAsync(request, rawBody, version, baseUrl, access, audit, ct));
    }

    /// <summary>
    /// The stored answer of a replay, else the decision, prepared for its save: on the fast way this runs while another
    /// thread proves the request, which takes longer, so what the save can do ahead is done in that wait.
    /// </summary>
    private async Task<FirstDecision> DecideFirstAsync(PasRequest request, byte[] rawBody, PasVersion version, string baseUrl,
        AccessScope access, SubmissionAudit? audit, CancellationToken ct)
    {
        var key = IdempotencyKey(version, request.Bundle, rawBody);
        if (await store.FindResponseAsync(key, ct) is { } replay)
        {
            return new FirstDecision(replay, null);
        }
        return new FirstDecision(null, store.Prepare(await DecideAsync(request, key, rawBody, version, baseUrl, access, null, audit, ct)));
    }

    /// <summary>
    /// Answers an inquiry with the current result of every matching authorization, as JSON: a Parameters with one
    /// <c>return</c> Bundle per authorization (2.2.1) or one Bundle with all of them (2.0.1).
    /// </summary>
    /// <remarks>
    /// The member identifier is always required, so an inquiry never lists. A caller bound to an organization also
    /// matches on its own provider identifiers only (PAS: a system that did not submit must match member and provider),
    /// and every caller gets only the authorizations its scope allows.
    /// </remarks>
    public async Task<byte[]> InquireAsync(byte[] rawBody, PasVersion version, CancellationToken ct, AccessScope? access = null)
    {
        access ??= AccessScope.All;
        var (request, _, providers) = ReadAndValidate(rawBody, version, PasOperation.Inquire, access, "inquire");
        var members = request.Members;
        if (members.Count == 0)
        {
            throw FhirException.BadRequest("The inquiry identifies no member: the Patient or Coverage needs a member identifier.",
                "Bundle.entry[0].resource.patient", OperationOutcome.IssueType.Required);
        }
        var candidates = await store.FindAsync(new AuthorizationLookup(members, providers), MaxInquiryResults, ct);
        var matches = InquiryMatch.Narrow(request, candidates.Where(access.Allows).ToList(), request.Insurers);

        var answers = new List<InquiryAnswer>();
        foreach (var authorization in matches)
        {
            if (await store.LatestResponseAsync(authorization.Number, ct) is { } latest)
            {
                answers.Add(new InquiryAnswer((await interactions.ReadAsync("ClaimResponse", authorization.ClaimResponseId, ct)).Json, latest));
            }
        }
        return InquiryResponse.Write(answers, version, interactions.Now());
    }

    /// <summary>
    /// Parses, reads and validates a request. The fast way parses without the SDK's value checks and proves the request
    /// against the profiles, which check the same and more. Anything that does not go through that way is parsed again
    /// with the checks and validated in full, so a rejected request gets exactly the errors, in the order, it always did.
    /// </summary>
    private (PasRequest Request, PasValidationReport Report, IReadOnlyList<IdentifierKey> Providers) ReadAndValidate(
        byte[] rawBody, PasVersion version, PasOperation operation, AccessScope access, string action)
    {
        if (Proven(rawBody, version, operation) is var (proven, proof))
        {
            return (proven, proof, RequireOwnOrganization(proven, access, action));
        }
        return ReadChecked(rawBody, version, operation, access, action);
    }

    /// <summary>The checked way: parse with the SDK's checks, check the caller's organization, validate in full.</summary>
    private (PasRequest Request, PasValidationReport Report, IReadOnlyList<IdentifierKey> Providers) ReadChecked(
        byte[] rawBody, PasVersion version, PasOperation operation, AccessScope access, string action)
    {
        var request = PasRequest.Read(FhirJson.ParseIgnoringUnknownElements(rawBody), operation);
        var providers = RequireOwnOrganization(request, access, action);
        return (request, Validate(request, version, operation), providers);
    }

    private (PasRequest, PasValidationReport)? Proven(byte[] rawBody, PasVersion version, PasOperation operation) =>
        ReadForProof(rawBody, operation) is { } request && Prove(request, version, operation) is { } report ? (request, report) : null;

    /// <summary>The request parsed without the SDK's checks, for the proof; null when even that fails.</summary>
    private static PasRequest? ReadForProof(byte[] rawBody, PasOperation operation) =>
        ReadForProofAsync(rawBody, operation, inTwo: false).GetAwaiter().GetResult(); // completes at once on one thread

    private static async Task<PasRequest?> ReadForProofAsync(byte[] rawBody, PasOperation operation, bool inTwo)
    {
        try
        {
            return PasRequest.Read(inTwo ? await FhirJson.ParseForProofInTwoAsync(rawBody) : FhirJson.ParseForProof(rawBody), operation);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever went wrong (values the checks would have refused included) is reported by the checked way.
            return null;
        }
    }

    private PasValidationReport? Prove(PasRequest request, PasVersion version, PasOperation operation)
    {
        try
        {
            return validator.TryProve(request.Bundle, version, operation);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>
    /// A caller bound to an organization acts only as it: the request's provider identifiers must include one of its
    /// own. Returns the provider identifiers to match on (the caller's own, when it is restricted).
    /// </summary>
    private static IReadOnlyList<IdentifierKey> RequireOwnOrganization(PasRequest request, AccessScope access, string action)
    {
        if (access.Unrestricted)
        {
            return request.Providers;
        }
        if (access.Organizations is null)
        {
            throw FhirException.Forbidden($"Only a client bound to a requesting organization can {action}; this token is not.");
        }
        var own = request.Providers.Intersect(access.Organization).ToList();
        return own.Count > 0 ? own : throw FhirException.Forbidden(
            $"The request names no provider identifier of the caller's organization ({string.Join(", ", access.Organization)}); a client can {action} only as its own organization.");
    }

    private PasValidationReport Validate(PasRequest request, PasVersion version, PasOperation operation)
    {
        var report = validator.Validate(request.Bundle, version, operation);
        if (report.Errors.Count > 0)
        {
            throw new FhirException(400, new OperationOutcome { Issue = report.Errors.Take(FhirJson.MaxIssues).ToList() });
        }
        return report;
    }

    /// <summary>Documents found in the provider's EHR during a submission, and the items that waited for them.</summary>
    private sealed record PulledDocuments(DocumentSearch Search, IReadOnlySet<int> Waiting);

    /// <summary>
    /// When items wait for documents and the requesting provider's EHR is known, the EHR is searched within the budget and
    /// the submission decided again with what it has. Whatever still waits is left to the worker: at once when the EHR
    /// failed or was too slow, after the pull interval when it had nothing. A failing EHR never fails a submission.
    /// </summary>
    private async Task<SubmissionRecord> PullDocumentsAsync(SubmissionRecord submission, Func<PulledDocuments, Task<SubmissionRecord>> decideWith,
        CancellationToken ct)
    {
        var now = submission.ReceivedAt;
        if (ehr is null || DocumentQuery.For(submission.Authorization, submission.Authorization.Items.Select(i => i.Decision), now) is not { } query
            || !ehr.Serves(query.Providers))
        {
            return submission;
        }
        var waiting = submission.Authorization.Items.Where(i => i.Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation })
            .Select(i => i.Sequence).ToHashSet();
        DocumentSearch? found = null;
        string outcome;
        using (var budget = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            budget.CancelAfter(_settings.Budget);
            try
            {
                found = await ehr.FindAsync(query, budget.Token);
                outcome = $"found {found.Documents.Count} document(s)";
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                outcome = budget.IsCancellationRequested ? "no answer within the budget; continued in the background" : $"failed: {e.Message}";
            }
        }
        if (found is { Documents.Count: > 0 })
        {
            submission = await decideWith(new PulledDocuments(found, waiting));
        }
        var authorization = submission.Authorization;
        var work = new List<WorkItem>(submission.Work ?? []);
        if (authorization.Items.Any(i => i.Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation }))
        {
            work.Add(WorkItem.New(WorkKinds.PullDocuments, authorization.Number, found is null ? now : now + _settings.Interval));
        }
        var audit = FollowUpAudit.Event("ehr-pull", $"EHR search for authorization {authorization.Number}: {outcome}.", found is not null,
            [new ResourceReference { Identifier = new Identifier(FollowUpAudit.AuthorizationSystem, authorization.Number) }], now);
        return submission with
        {
            Work = work,
            Resources = [.. submission.Resources, interactions.PrepareWrite(audit, audit.Id!, 1, 0)],
        };
    }

    private async Task<SubmissionRecord> DecideAsync(PasRequest request, string key, byte[] rawBody,
        PasVersion version, string baseUrl, AccessScope access, PulledDocuments? pulled, SubmissionAudit? audit, CancellationToken ct)
    {
        var now = interactions.Now();
        var claim = request.Claim;
        // An update can only change an authorization the caller could see; otherwise it opens a new one.
        var existing = await FindUpdatedAuthorizationAsync(request, ct) is { } found && access.Allows(found) ? found : null;
        var authorization = existing ?? new AuthorizationRecord
        {
            Number = NewAuthorizationNumber(now),
            PasVersion = version,
            ClaimResponseId = ResourceInteractions.NewId(),
            ReceivedAt = now,
        };
        var previousItems = authorization.Items.ToDictionary(i => i.Sequence);
        var cancelAll = CertificationType(claim) == "3";

        // Items that keep their decision: unchanged items of an update. Everything else is decided now.
        var toDecide = new HashSet<int>();
        var decisions = new List<ItemDecision>();
        foreach (var item in claim.Item.Where(i => i.Sequence is not null))
        {
            var sequence = item.Sequence!.Value;
            if (cancelAll || IsCancelled(item))
            {
                decisions.Add(new ItemDecision(sequence, ReviewAction.Cancelled,
                    cancelAll ? "Cancelled: the requester cancelled the whole authorization." : "Cancelled by the requester.",
                    null, null, null, "cancelled-by-requester", RequestedQuantity: item.Quantity?.Value));
            }
            // Items pended for documentation are decided again on any update: it may carry the document.
            else if (existing is null || !previousItems.TryGetValue(sequence, out var previous) || item.GetExtension(PasUrls.InfoChanged) is not null
                || previous.Decision is { Action: ReviewAction.Pended, Pend: PendReason.Documentation })
            {
                toDecide.Add(sequence);
            }
        }
        authorization.Members = Merge(authorization.Members, request.Members);
        authorization.Providers = Merge(authorization.Providers, request.Providers);
        authorization.Insurers = Merge(authorization.Insurers, request.Insurers);

        var claimId = ResourceInteractions.NewId();
        authorization.ClaimId = claimId;
        // Documents pulled from the EHR are read beside the request's own, and cited by the items they settle.
        var accepted = pulled is null ? null
            : documents.Accept(pulled.Search.Documents, new DocumentOrigin(StepKinds.Ehr, pulled.Search.Ehr, pulled.Search.Queries), authorization, baseUrl, now);
        var policyBundle = accepted is null ? request.Bundle : new Bundle { Type = request.Bundle.Type, Entry = [.. request.Bundle.Entry, .. accepted.Entries] };
        var policyRequest = new PolicyRequest(claim, policyBundle, request.Resolve, now);
        var decided = policy.Decide(policyRequest, toDecide);
        if (assertions is not null)
        {
            decided = await assertions.ApplyAsync(policyRequest, authorization.Members, decided, ct);
        }
        decisions.AddRange(decided.Select(d =>
            accepted is not null && pulled!.Waiting.Contains(d.Sequence) && d is not { Action: ReviewAction.Pended, Pend: PendReason.Documentation }
                ? d with { Reason = $"{d.Reason} Documentation found in the provider's EHR: {string.Join(", ", accepted.References)}." }
                : d));

        foreach (var decision in decisions)
        {
            var claimItem = claim.Item.First(i => i.Sequence == decision.Sequence);
            var (start, end) = ServiceDates(claimItem);
            previousItems[decision.Sequence] = new AuthorizationItem(decision.Sequence,
                PolicyEngine.ItemCodes(policyRequest, claimItem).Select(c => $"{c.System}|{c.Code}").ToList(), start, end, decision, now);
        }
        if (cancelAll)
        {
            foreach (var sequence in previousItems.Keys.ToList().Where(s => previousItems[s].Decision.Action != ReviewAction.Cancelled))
            {
                var old = previousItems[sequence];
                var cancelled = old.Decision with { Action = ReviewAction.Cancelled, Reason = "Cancelled: the requester cancelled the whole authorization.", RuleId = "cancelled-by-requester" };
                decisions.Add(cancelled);
                previousItems[sequence] = old with { Decision = cancelled, DecidedAt = now };
            }
        }

        authorization.Items = previousItems.Values.OrderBy(i => i.Sequence).ToList();
        authorization.Status = OverallStatus(authorization.Items);
        authorization.Expedited = IsExpedited(claim);
        authorization.UpdatedAt = now;
        authorization.ClaimUrls = authorization.ClaimUrls.Append(request.ClaimFullUrl).Distinct().ToList();
        authorization.ClaimIdentifiers = Merge(authorization.ClaimIdentifiers,
            claim.Identifier.Where(i => i.Value is not null).Select(i => new IdentifierKey(i.System, i.Value!)).ToList());

        var builder = new ClaimResponseBuilder(version, baseUrl, now);
        var built = builder.Build(request, authorization, authorization.ClaimResponseId, ResourceInteractions.NewId);

        var responseVersion = authorization.ClaimResponseVersion;
        authorization.ClaimResponseVersion = responseVersion + 1;
        // Everything written belongs to the requesting providers and the member: that is who may see it.
        var labels = Labels(authorization);
        // The stored Claim gets the server's id; the request's copy in the response keeps the submitter's. Its JSON is
        // the one sent when that can stand in, else a copy of the parsed Claim is serialized.
        var sent = EchoedResources.Read(rawBody, request.Bundle);
        // The response carries the stored versions of what the decision wrote, as $inquire and reads do.
        var answered = new List<(Resource Resource, ResourceWrite Write)>
        {
            (built.ClaimResponse, interactions.PrepareWrite(built.ClaimResponse, authorization.ClaimResponseId, responseVersion + 1, responseVersion, access: labels)),
        };
        answered.AddRange(built.FollowUps.Select(f => ((Resource)f.Resource, interactions.PrepareWrite(f.Resource, f.Resource.Id!, 1, 0, access: labels))));
        var writes = new List<ResourceWrite>
        {
            (sent is null ? null : interactions.PrepareWriteAsSent(claim, claimId, labels, (id, meta) => sent.AsStored(request.ClaimEntry, id, meta)))
                ?? interactions.PrepareWrite((Claim)claim.DeepCopy(), claimId, 1, 0, access: labels),
        };
        writes.AddRange(answered.Select(a => a.Write));
        if (accepted is not null)
        {
            writes.AddRange(accepted.Writes);
            authorization.Documents.AddRange(accepted.Ids);
        }

        // An update's response asks again for every document still missing: the earlier requests are replaced, and
        // those of items it decided are completed, citing the documents the update carried.
        if (existing is not null)
        {
            var carried = request.Bundle.Entry.Where(e => e.Resource is DocumentReference && e.FullUrl is not null).Select(e => e.FullUrl!).ToList();
            writes.AddRange(await followUps.CloseSettledAsync(authorization, now, "Settled by a Claim Update.",
                f => f.Kind == FollowUpKinds.Documentation, carried, ct));
        }
        authorization.FollowUps.AddRange(built.FollowUps.Select(f =>
            new FollowUpRecord(f.Sequence, FollowUpKinds.Documentation, $"{f.Resource.TypeName}/{f.Resource.Id}", now)));
        var (reviewWrites, work) = followUps.OpenReviews(authorization, claimId, decisions, now);
        writes.AddRange(reviewWrites);
        if (audit is not null)
        {
            writes.Add(interactions.PrepareCreate(audit.Build($"ClaimResponse/{authorization.ClaimResponseId}"), AccessScope.All));
        }
        // Every Task that waits gets escalated when its decision clock runs out, unless it is closed by then.
        work.AddRange(built.FollowUps.Select(f => f.Resource).OfType<Hl7.Fhir.Model.Task>()
            .Select(t => WorkItem.New(WorkKinds.EscalateTask, $"Task/{t.Id}", FollowUpTasks.Due(t) ?? now)));

        var echoes = new List<EchoedSpan>();
        var responseBundle = ResponseBundle(request, rawBody, sent, answered, builder, now, echoes);
        return new SubmissionRecord(ResourceInteractions.NewId(), key,
            request.Bundle.Identifier?.Value is { } v ? new IdentifierKey(request.Bundle.Identifier.System, v) : null,
            now, authorization, existing is null, decisions, writes, rawBody, responseBundle,
            [], work,
            existing is null ? StepKinds.Request : StepKinds.Update) { ResponseEchoes = echoes };
    }

    /// <summary>Whose records an authorization's resources are: its requesting providers' and its member's.</summary>
    public static List<string> Labels(AuthorizationRecord authorization) =>
        authorization.Providers.Select(AccessLabels.Organization).Concat(authorization.Members.Select(AccessLabels.Member)).ToList();

    /// <summary>The access label of the payer's clinical review queue: only unrestricted callers see its Tasks.</summary>
    public static readonly string ReviewQueueLabel = AccessLabels.Organization(new IdentifierKey(FollowUpTasks.WorkQueueSystem, FollowUpTasks.ClinicalReviewQueue));

    /// <summary>
    /// The response Bundle's JSON: the ClaimResponse and the follow-up resources as stored, then every request entry the
    /// Claim reaches, echoed with its fullUrl (the prior Claim's own prior is not reached, PAS spec-66), as sent when it
    /// can be. Nothing is serialized twice: the stored JSON and the sent JSON are copied in, and the sent copies are
    /// listed in <paramref name="echoes"/>.
    /// </summary>
    private static byte[] ResponseBundle(PasRequest request, byte[] rawBody, EchoedResources? sent, List<(Resource Resource, ResourceWrite Write)> answered,
        ClaimResponseBuilder builder, DateTimeOffset now, List<EchoedSpan> echoes)
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Collection,
            Identifier = new Identifier("urn:fhirpriorauth:response-bundle", answered[0].Resource.Id),
            Timestamp = now,
        };
        var asJson = new List<(Bundle.EntryComponent, ReadOnlyMemory<byte>)>();
        foreach (var (resource, write) in answered)
        {
            var entry = new Bundle.EntryComponent { FullUrl = builder.FullUrl(resource), Resource = resource };
            bundle.Entry.Add(entry);
            asJson.Add((entry, write.Json));
        }
        foreach (var reached in request.Closure(request.ClaimEntry))
        {
            var entry = new Bundle.EntryComponent { FullUrl = reached.FullUrl, Resource = reached.Resource };
            bundle.Entry.Add(entry);
            if (sent?.AsSent(reached) is { } json)
            {
                asJson.Add((entry, json));
            }
        }
        return EchoedResources.Write(bundle, asJson, rawBody, echoes);
    }

    /// <summary>Finds the authorization a Claim Update changes: by our authorization number, else by the prior Claim it names.</summary>
    private async Task<AuthorizationRecord?> FindUpdatedAuthorizationAsync(PasRequest request, CancellationToken ct)
    {
        var claim = request.Claim;
        var related = claim.Related.FirstOrDefault(r =>
            r.Relationship?.Coding.Any(c => c.Code is "prior" or "replaces") == true && r.Claim is not null);
        if (related is null)
        {
            return null;
        }
        var priorEntry = request.ResolveEntry(related.Claim!);
        var priorClaim = priorEntry?.Resource as Claim;
        foreach (var number in AuthorizationNumbers(claim).Concat(priorClaim is null ? [] : AuthorizationNumbers(priorClaim)).Distinct())
        {
            if (await store.ReadAsync(number, ct) is { } byNumber)
            {
                return byNumber;
            }
        }
        var members = request.Members;
        if (members.Count == 0)
        {
            return null;
        }
        var candidates = await store.FindAsync(new AuthorizationLookup(members, request.Providers), MaxInquiryResults, ct);
        var priorUrl = priorEntry?.FullUrl ?? related.Claim!.Reference;
        var priorIdentifiers = priorClaim?.Identifier.Where(i => i.Value is not null).Select(i => new IdentifierKey(i.System, i.Value!)).ToList() ?? [];
        return candidates.FirstOrDefault(a => priorUrl is not null && a.ClaimUrls.Contains(priorUrl))
            ?? candidates.FirstOrDefault(a => a.ClaimIdentifiers.Intersect(priorIdentifiers).Any() && priorIdentifiers.Count > 0 && related.Claim!.Identifier is not null);
    }

    /// <summary>Authorization numbers a Claim carries (REF-BB, REF-NT) at Claim and item level.</summary>
    internal static IEnumerable<string> AuthorizationNumbers(Claim claim) =>
        claim.Extension.Concat(claim.Item.SelectMany(i => i.Extension))
            .Where(e => e.Url == PasUrls.AuthorizationNumber || e.Url == PasUrls.AdministrationReferenceNumber)
            .Select(e => (e.Value as FhirString)?.Value)
            .OfType<string>();

    private static string? CertificationType(Claim claim) =>
        (claim.GetExtension(PasUrls.CertificationType)?.Value as CodeableConcept)?.Coding.FirstOrDefault()?.Code;

    private static bool IsCancelled(Claim.ItemComponent item) =>
        item.ModifierExtension.Any(e => e.Url == PasUrls.InfoCancelled && e.Value is FhirBoolean { Value: true }) ||
        (item.GetExtension(PasUrls.CertificationType)?.Value as CodeableConcept)?.Coding.Any(c => c.Code == "3") == true;

    /// <summary>Expedited when the Claim priority is stat/urgent or the level of service is urgent or emergency (X12 1338 U, 03).</summary>
    public static bool IsExpedited(Claim claim) =>
        claim.Priority?.Coding.Any(c => c.Code is "stat" or "urgent") == true ||
        (claim.GetExtension(PasUrls.LevelOfService)?.Value as CodeableConcept)?.Coding.Any(c => c.Code is "U" or "03") == true;

    /// <summary>The authorization's status from its items' decisions.</summary>
    public static string OverallStatus(IReadOnlyList<AuthorizationItem> items)
    {
        var actions = items.Select(i => i.Decision.Action).Distinct().ToList();
        var active = actions.Where(a => a != ReviewAction.Cancelled).ToList();
        return active.Count switch
        {
            0 => "cancelled",
            _ when active.Contains(ReviewAction.Pended) => "pended",
            1 => active[0] switch
            {
                ReviewAction.Approved => "approved",
                ReviewAction.Denied => "denied",
                _ => "modified",
            },
            _ => "partial",
        };
    }

    private static (string? Start, string? End) ServiceDates(Claim.ItemComponent item) => item.Serviced switch
    {
        Date d => (d.Value, d.Value),
        Period p => (p.Start?[..Math.Min(10, p.Start.Length)], p.End?[..Math.Min(10, p.End.Length)]),
        _ => (null, null),
    };

    private static List<IdentifierKey> Merge(List<IdentifierKey> existing, IReadOnlyList<IdentifierKey> added) =>
        existing.Concat(added).Distinct().ToList();

    /// <summary>Same version, same Bundle.identifier and same bytes is a replay; anything else is processed.</summary>
    private static string IdempotencyKey(PasVersion version, Bundle bundle, byte[] rawBody) =>
        $"{version.Label()}|{bundle.Identifier?.System}|{bundle.Identifier?.Value}|{Convert.ToHexString(SHA256.HashData(rawBody))}";

    /// <summary>
    /// A unique, readable authorization number: PA, the UTC date, the millisecond of the day and six random characters
    /// (<c>PA20261129-9KQ2XW7MHT4C</c>). Numbers sort by when they were made: the authorization's row and every index on
    /// its number then grow at one end instead of at random pages, which a store of many authorizations must otherwise
    /// read and write back page by page (docs/performance.md, "Seventeenth pass"). Two numbers made in the same millisecond
    /// are the same one time in 2^30; the store refuses the second, and the submission is decided again.
    /// </summary>
    internal static string NewAuthorizationNumber(DateTimeOffset now)
    {
        // Base 32 in ASCII order, so that a later millisecond is a larger string; no I, O, 0 or 1 to misread.
        const string alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        var utc = now.UtcDateTime;
        var millisecond = (long)(utc - utc.Date).TotalMilliseconds;
        var suffix = string.Create(12, millisecond, (span, ms) =>
        {
            for (int i = 5; i >= 0; i--, ms /= alphabet.Length) span[i] = alphabet[(int)(ms % alphabet.Length)];
            for (int i = 6; i < span.Length; i++) span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        });
        return $"PA{utc.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}-{suffix}";
    }
}
