using System.Globalization;
using System.Security.Cryptography;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.FollowUp;

/// <summary>One attachment of a <c>$submit-attachment</c>: the document and the items it is for.</summary>
/// <param name="LineItems">The Claim item sequences it supports (all when empty).</param>
/// <param name="Code">The attachment type (LOINC), if given.</param>
/// <param name="Document">The document.</param>
public sealed record SubmittedAttachment(IReadOnlyList<int> LineItems, CodeableConcept? Code, DocumentReference Document);

/// <summary>A CDex <c>$submit-attachment</c> request, read from its Parameters.</summary>
/// <param name="TrackingId">What names the prior authorization: our ACN, Task or authorization number, or the Claim identifier.</param>
/// <param name="MemberId">The member the documents are about.</param>
/// <param name="Providers">The submitting organization's and provider's identifiers.</param>
/// <param name="Attachments">The documents.</param>
public sealed record AttachmentSubmission(Identifier TrackingId, Identifier MemberId, IReadOnlyList<Identifier> Providers,
    IReadOnlyList<SubmittedAttachment> Attachments)
{
    private const string Parameter = "Parameters.parameter";

    /// <summary>Reads and checks the Parameters (CDex 2.x names); bad input is a 400 or 422 with an OperationOutcome.</summary>
    public static AttachmentSubmission Read(Parameters parameters)
    {
        var trackingId = parameters.GetSingleValue<Identifier>("TrackingId") is { Value: not null } t ? t
            : throw Missing("TrackingId", "the tracking id of the prior authorization (the control number the payer sent, or the request's identifier)");
        var attachTo = parameters.GetSingleValue<Code>("AttachTo")?.Value ?? throw Missing("AttachTo", "preauthorization");
        if (attachTo == "claim")
        {
            throw new FhirException(422, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                "This server holds prior authorizations: attachments for claims go to the payer's claims system.", $"{Parameter}[AttachTo]"));
        }
        if (attachTo != "preauthorization")
        {
            throw FhirException.BadRequest($"AttachTo '{attachTo}' is not claim or preauthorization.", $"{Parameter}[AttachTo]", OperationOutcome.IssueType.CodeInvalid);
        }
        var member = parameters.GetSingleValue<Identifier>("MemberId") is { Value: not null } m ? m : throw Missing("MemberId", "the payer's member id");
        var providers = new[] { "OrganizationId", "ProviderId" }.Select(n => parameters.GetSingleValue<Identifier>(n)).OfType<Identifier>()
            .Where(i => i.Value is not null).ToList();
        if (providers.Count == 0)
        {
            throw Missing("OrganizationId", "the submitting organization's or provider's identifier (OrganizationId or ProviderId)");
        }
        var attachments = new List<SubmittedAttachment>();
        foreach (var (part, index) in parameters.Parameter.Where(p => p.Name == "Attachment").Select((p, i) => (p, i)))
        {
            attachments.Add(ReadAttachment(part, $"{Parameter}[Attachment][{index}]"));
        }
        return attachments.Count > 0
            ? new AttachmentSubmission(trackingId, member, providers, attachments)
            : throw Missing("Attachment", "at least one attachment");
    }

    private static SubmittedAttachment ReadAttachment(Parameters.ParameterComponent part, string path)
    {
        var lines = new List<int>();
        foreach (var line in part.Part.Where(p => p.Name == "LineItem"))
        {
            var text = (line.Value as FhirString)?.Value ?? (line.Value as PositiveInt)?.Value?.ToString(CultureInfo.InvariantCulture);
            lines.Add(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                : throw FhirException.BadRequest($"LineItem '{text}' is not a Claim item sequence.", $"{path}.part[LineItem]", OperationOutcome.IssueType.Value));
        }
        var code = part.Part.FirstOrDefault(p => p.Name == "Code")?.Value as CodeableConcept;
        var content = part.Part.FirstOrDefault(p => p.Name == "Content")?.Resource ?? throw Missing("Content", "the document", $"{path}.part[Content]");
        if (content is not DocumentReference document)
        {
            throw new FhirException(422, Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                $"Attachment content must be a DocumentReference; {content.TypeName} is not accepted.", $"{path}.part[Content]"));
        }
        if (document.Status is null)
        {
            throw FhirException.BadRequest("DocumentReference.status is required (R4 1..1).", $"{path}.part[Content].status", OperationOutcome.IssueType.Required);
        }
        if (document.Content.Count == 0 || document.Content.Any(c => c.Attachment?.Data is null && c.Attachment?.Url is null))
        {
            throw FhirException.BadRequest("Each DocumentReference.content needs an attachment with data or a url.", $"{path}.part[Content].content",
                OperationOutcome.IssueType.Required);
        }
        if (document.Type is null && code is not null)
        {
            // The document is of the type it was sent as.
            document.Type = (CodeableConcept)code.DeepCopy();
        }
        return new SubmittedAttachment(lines, code, document);
    }

    private static FhirException Missing(string name, string what, string? path = null) =>
        FhirException.BadRequest($"{name} is missing: {what}.", path ?? $"{Parameter}[{name}]", OperationOutcome.IssueType.Required);
}

/// <summary>
/// CDex <c>$submit-attachment</c> for prior authorizations: finds the authorization by its tracking id, checks that the
/// member and provider are its own, and hands the documents to <see cref="SupportingDocuments"/>.
/// </summary>
public sealed class Attachments(IAuthorizationStore store, SupportingDocuments documents)
{
    /// <summary>Receives the attachments; returns an informational OperationOutcome saying what they changed.</summary>
    /// <param name="submission">The request.</param>
    /// <param name="raw">The body as received (kept, and hashed so a resend is stored once).</param>
    /// <param name="access">The caller's scope: it attaches only to authorizations it may see.</param>
    /// <param name="who">The caller, for the record.</param>
    /// <param name="baseUrl">The base URL, for fullUrls.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<OperationOutcome> SubmitAsync(AttachmentSubmission submission, byte[] raw, AccessScope access, string who, string baseUrl,
        CancellationToken ct)
    {
        var tracking = submission.TrackingId.Value!;
        // An authorization the caller may not see is not there for it.
        var tracked = (await store.FindByTrackingIdAsync(tracking, ct)).Where(access.Allows).ToList();
        if (tracked.Count == 0)
        {
            throw FhirException.NotFound($"No prior authorization has the tracking id '{tracking}'.");
        }
        var authorization = tracked.FirstOrDefault(a => Matches(a.Members, submission.MemberId)) ?? throw new FhirException(422,
            Outcomes.Error(OperationOutcome.IssueType.BusinessRule,
                $"Member '{submission.MemberId.Value}' is not the member of the prior authorization tracked by '{tracking}'.", "Parameters.parameter[MemberId]"));
        if (!submission.Providers.Any(p => Matches(authorization.Providers, p)))
        {
            throw new FhirException(422, Outcomes.Error(OperationOutcome.IssueType.BusinessRule,
                $"The submitting provider ({string.Join(", ", submission.Providers.Select(p => p.Value))}) did not request the prior authorization tracked by '{tracking}'.",
                "Parameters.parameter[OrganizationId]"));
        }
        var unknown = submission.Attachments.SelectMany(a => a.LineItems).Where(l => authorization.Items.All(i => i.Sequence != l)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new FhirException(422, Outcomes.Error(OperationOutcome.IssueType.BusinessRule,
                $"Prior authorization {authorization.Number} has no item {string.Join(", ", unknown)}.", "Parameters.parameter[Attachment].part[LineItem]"));
        }

        var received = await documents.ReceiveAsync(authorization, submission.Attachments.Select(a => a.Document).ToList(),
            new DocumentOrigin(StepKinds.Attachment, who), raw, $"attachment:{Convert.ToHexString(SHA256.HashData(raw))}", baseUrl, ct);
        var current = received.Authorization;
        var waiting = current.Items.Where(i => i.Decision.Action == ReviewAction.Pended).Select(i => i.Sequence).ToList();
        var text = received.Documents.Count == 0
            ? $"These attachments were received before for prior authorization {current.Number}; nothing new was stored."
            : $"Received {received.Documents.Count} document(s) for prior authorization {current.Number} ({string.Join(", ", received.Documents)})." +
              (received.Decided.Count > 0 ? " Decided: " + string.Join("; ", received.Decided.Select(d => $"item {d.Sequence} {d.X12Display.ToLowerInvariant()}")) + "." : "") +
              (waiting.Count > 0 ? $" Still pended: item(s) {string.Join(", ", waiting)}." : "") +
              $" The authorization is {current.Status}.";
        return Outcomes.Information(text);
    }

    /// <summary>Same value, and the same system when both name one.</summary>
    private static bool Matches(IEnumerable<IdentifierKey> keys, Identifier identifier) =>
        keys.Any(k => k.Value == identifier.Value && (k.System is null || identifier.System is null || k.System == identifier.System));
}
