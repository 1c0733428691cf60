using System.Globalization;
using FhirPriorAuth.Core.Policy;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Pas;

/// <summary>The resources a decision produces, with the fullUrls they get in the response Bundle.</summary>
/// <param name="ClaimResponse">The ClaimResponse (first entry).</param>
/// <param name="FollowUps">CommunicationRequests and Tasks for items pended for documentation.</param>
public sealed record DecisionResources(ClaimResponse ClaimResponse, IReadOnlyList<FollowUpResource> FollowUps);

/// <summary>A follow-up resource and the item it is about.</summary>
/// <param name="Sequence">The Claim item sequence.</param>
/// <param name="Resource">The CommunicationRequest or Task.</param>
public sealed record FollowUpResource(int Sequence, DomainResource Resource);

/// <summary>
/// Builds the PAS ClaimResponse for an authorization's current item decisions, and the CommunicationRequest and Task
/// that ask for missing documentation. References point at the request's own fullUrls so they resolve in the response.
/// </summary>
public sealed class ClaimResponseBuilder(PasVersion version, string baseUrl, DateTimeOffset now)
{
    /// <summary>The CMS-0057-F time to decide: 72 hours when expedited, 7 calendar days when standard.</summary>
    public static TimeSpan DecisionClock(bool expedited) => expedited ? TimeSpan.FromHours(72) : TimeSpan.FromDays(7);

    /// <summary>How long an approval is valid when the request names no service dates.</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(180);

    private string Today => now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The fullUrl of a resource the server stores.</summary>
    public string FullUrl(Resource resource) => $"{baseUrl}/{resource.TypeName}/{resource.Id}";

    /// <summary>Builds the ClaimResponse (id and version stamped by the caller) and its follow-up resources.</summary>
    public DecisionResources Build(PasRequest request, AuthorizationRecord authorization, string claimResponseId,
        Func<string> newId)
    {
        var claim = request.Claim;
        var response = new ClaimResponse
        {
            Id = claimResponseId,
            Meta = new Meta { Profile = [version.Profile("profile-claimresponse")] },
            // The Claim's trace number, echoed whole (jurisdiction and sub-department extensions included).
            Identifier = claim.Identifier.Take(1).Select(i => (Identifier)i.DeepCopy()).ToList(),
            Status = FinancialResourceStatusCodes.Active,
            Type = claim.Type,
            Use = ClaimUseCode.Preauthorization,
            Patient = Ref(request, claim.Patient)!,
            Created = now.ToString("o", CultureInfo.InvariantCulture),
            Insurer = Ref(request, claim.Insurer)!,
            Requestor = Ref(request, claim.Provider),
            Request = new ResourceReference(request.ClaimFullUrl),
            PreAuthRef = authorization.Number,
        };
        var items = authorization.Items.OrderBy(i => i.Sequence).ToList();
        var pended = items.Any(i => i.Decision.Action == ReviewAction.Pended);
        var rejected = items.Count(i => i.Decision.RejectReason is not null);
        response.Outcome = rejected == items.Count && rejected > 0 ? ClaimProcessingCodes.Error
            : rejected > 0 ? ClaimProcessingCodes.Partial
            : pended && version.UsesQueuedForPended() ? ClaimProcessingCodes.Queued
            : ClaimProcessingCodes.Complete;
        response.Disposition = Disposition(authorization.Status, items);
        if (version == PasVersion.V2_2_1)
        {
            // A clinical reviewer's decision (FollowUp/ReviewDecisions) makes the response human-reviewed.
            var reviewed = items.Where(i => i.Decision.RuleId.StartsWith(FollowUp.ReviewDecisions.ReviewerRule, StringComparison.Ordinal)).ToList();
            var reviewer = new Extension
            {
                Url = PasUrls.Extension("extension-claimResponseReviewer"),
                Extension = [new Extension("wasHumanReviewedFlag", new FhirBoolean(reviewed.Count > 0))],
            };
            if (reviewed.Select(i => i.Decision.ReviewerNpi).LastOrDefault(n => n is not null) is { } npi)
            {
                reviewer.Extension.Add(new Extension("reviewerNPI", new Identifier(PasUrls.Npi, npi)));
            }
            response.Extension.Add(reviewer);
        }
        if (items.Any(i => i.Decision.Action is ReviewAction.Approved or ReviewAction.Modified))
        {
            response.PreAuthPeriod = ValidityPeriod(items.Where(i => i.Decision.Action is ReviewAction.Approved or ReviewAction.Modified));
            if (version == PasVersion.V2_2_1)
            {
                response.Extension.Add(AuthorizedProvider(request));
            }
        }
        if (version == PasVersion.V2_2_1)
        {
            if (claim.GetExtension(PasUrls.TransmissionIdentifiers) is { } transmission)
            {
                response.Extension.Add(ReplyTransmission(transmission));
            }
            // The decision on the whole request, besides the per-item ones.
            response.Adjudication.Add(Adjudication(authorization, OverallDecision(authorization)));
        }

        var followUps = new List<FollowUpResource>();
        foreach (var item in items)
        {
            var claimItem = claim.Item.FirstOrDefault(i => i.Sequence == item.Sequence);
            response.Item.Add(ResponseItem(request, response, authorization, item, claimItem));
            if (item.Decision.RejectReason is { } reject)
            {
                response.Error.Add(BusinessError(request, item, reject));
            }
            if (item.Decision.Action == ReviewAction.Modified && claimItem is not null)
            {
                response.AddItem.Add(AuthorizedVersion(request, authorization, item, claimItem));
            }
            if (item.Decision.Pend == PendReason.Documentation && item.Decision.DocumentsNeeded is { Count: > 0 } needed)
            {
                var communication = DocumentationRequest(request, item, needed, newId());
                var task = DocumentationTask(request, item, needed, newId());
                followUps.Add(new FollowUpResource(item.Sequence, communication));
                followUps.Add(new FollowUpResource(item.Sequence, task));
                response.CommunicationRequest.Add(new ResourceReference(FullUrl(communication)));
            }
        }
        return new DecisionResources(response, followUps);
    }

    private ClaimResponse.ItemComponent ResponseItem(PasRequest request, ClaimResponse response, AuthorizationRecord authorization,
        AuthorizationItem item, Claim.ItemComponent? claimItem)
    {
        var decision = item.Decision;
        var noteNumber = response.ProcessNote.Count + 1;
        response.ProcessNote.Add(new ClaimResponse.NoteComponent
        {
            Number = noteNumber,
            Type = NoteType.Display,
            Text = $"Item {item.Sequence}: {decision.Reason}",
        });
        var result = new ClaimResponse.ItemComponent
        {
            ItemSequence = item.Sequence,
            NoteNumber = [noteNumber],
            Adjudication = [Adjudication(authorization, decision)],
        };
        if (claimItem?.GetExtension(PasUrls.ItemTraceNumber) is { } trace)
        {
            result.Extension.Add(new Extension(PasUrls.ItemTraceNumber, (DataType)trace.Value!.DeepCopy()));
        }
        if (claimItem?.Serviced is { } serviced)
        {
            result.Extension.Add(new Extension(PasUrls.Extension("extension-itemRequestedServiceDate"), serviced is Date d ? new FhirDateTime(d.Value) : serviced));
        }
        if (decision.Action is ReviewAction.Approved or ReviewAction.Modified)
        {
            result.Extension.Add(new Extension(PasUrls.AuthorizationNumber, new FhirString(authorization.Number)));
            result.Extension.Add(new Extension(PasUrls.Extension("extension-itemPreAuthIssueDate"), new Date(item.DecidedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))));
            result.Extension.Add(new Extension(PasUrls.Extension("extension-itemPreAuthPeriod"), ValidityPeriod([item])));
            result.Extension.Add(AuthorizedProvider(request));
            if (claimItem is not null)
            {
                result.Extension.Add(AuthorizedDetail(claimItem, decision.AuthorizedQuantity ?? claimItem.Quantity?.Value ?? 1));
            }
        }
        else if (claimItem?.GetExtension(PasUrls.AuthorizationNumber) is { } previous)
        {
            result.Extension.Add((Extension)previous.DeepCopy());
        }
        if (claimItem?.GetExtension(PasUrls.AdministrationReferenceNumber) is { } administration)
        {
            result.Extension.Add((Extension)administration.DeepCopy());
        }
        if (decision.Pend == PendReason.Documentation && PrincipalDiagnosis(request.Claim) is { } diagnosis)
        {
            // Tells the provider which diagnosis the requested documentation must support.
            result.Extension.Add(new Extension(PasUrls.Extension("extension-communicatedDiagnosis"), diagnosis));
        }
        if (version == PasVersion.V2_2_1)
        {
            AddAdmissionDates(request.Claim, result.Extension);
        }
        return result;
    }

    /// <summary>Item details that hold for the authorized version as requested, echoed on <c>addItem</c>.</summary>
    private static readonly HashSet<string> EchoedOnAuthorizedItem =
    [
        PasUrls.AdministrationReferenceNumber, PasUrls.ItemTraceNumber, PasUrls.CertificationType, PasUrls.RequestedService,
        PasUrls.Extension("extension-serviceItemRequestType"), PasUrls.Extension("extension-epsdtIndicator"),
        PasUrls.Extension("extension-nursingHomeResidentialStatus"), PasUrls.Extension("extension-nursingHomeLevelOfCare"),
        PasUrls.Extension("extension-productOrServiceCodeEnd"), PasUrls.Extension("extension-revenueUnitRateLimit"),
    ];

    private ClaimResponse.AddedItemComponent AuthorizedVersion(PasRequest request, AuthorizationRecord authorization, AuthorizationItem item, Claim.ItemComponent claimItem)
    {
        var approved = item.Decision with { Action = ReviewAction.Approved, Reason = $"Authorized as modified: {item.Decision.Reason}" };
        var added = new ClaimResponse.AddedItemComponent
        {
            ItemSequence = [item.Sequence],
            ProductOrService = claimItem.ProductOrService,
            Quantity = new Quantity { Value = item.Decision.AuthorizedQuantity, Unit = claimItem.Quantity?.Unit },
            Serviced = claimItem.Serviced,
            Adjudication = [Adjudication(authorization, approved)],
        };
        added.Extension.Add(new Extension(PasUrls.AuthorizationNumber, new FhirString(authorization.Number)));
        if (version == PasVersion.V2_2_1)
        {
            // 2.0.1 allows these on ClaimResponse.item only.
            added.Extension.Add(new Extension(PasUrls.Extension("extension-itemPreAuthIssueDate"), new Date(item.DecidedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))));
            added.Extension.Add(new Extension(PasUrls.Extension("extension-itemPreAuthPeriod"), ValidityPeriod([item])));
            added.Extension.AddRange(claimItem.Extension.Where(e => EchoedOnAuthorizedItem.Contains(e.Url ?? "")).Select(e => (Extension)e.DeepCopy()));
            if (claimItem.Revenue is { } revenue)
            {
                added.Extension.Add(new Extension(PasUrls.Extension("extension-revenueCode"), (CodeableConcept)revenue.DeepCopy()));
            }
            AddAdmissionDates(request.Claim, added.Extension);
            if (Ref(request, request.Claim.Provider) is { } provider)
            {
                if (ProviderType(request) is { } type)
                {
                    provider.Extension.Add(new Extension(PasUrls.Extension("extension-authorizedProviderType"), type));
                }
                added.Provider = [provider];
            }
            added.Modifier = claimItem.Modifier.Select(m => (CodeableConcept)m.DeepCopy()).ToList();
            added.Location = (DataType?)claimItem.Location?.DeepCopy();
            added.UnitPrice = (Money?)claimItem.UnitPrice?.DeepCopy();
        }
        return added;
    }

    /// <summary>An X12 AAA business error on one item: reject reason, the element and path at fault, and what to do.</summary>
    private ClaimResponse.ErrorComponent BusinessError(PasRequest request, AuthorizationItem item, string reject)
    {
        var index = request.Claim.Item.FindIndex(i => i.Sequence == item.Sequence);
        var error = new ClaimResponse.ErrorComponent
        {
            ItemSequence = item.Sequence,
            Code = new CodeableConcept("https://codesystem.x12.org/005010/901", reject),
        };
        var element = version == PasVersion.V2_2_1
            ? new Extension
            {
                Url = PasUrls.Extension("extension-errorElement"),
                Extension = [new Extension("error", new FhirString("2000F-DTP03"))],
            }
            : new Extension(PasUrls.Extension("extension-errorElement"), new FhirString("2000F-DTP03"));
        error.Extension.Add(element);
        error.Extension.Add(new Extension(PasUrls.Extension("extension-errorPath"), new FhirString($"Bundle.entry[0].resource.item[{index}]")));
        // X12 889 follow-up action C: please correct and resubmit.
        error.Extension.Add(new Extension(PasUrls.Extension("extension-errorFollowupAction"), new CodeableConcept("https://codesystem.x12.org/005010/889", "C")));
        return error;
    }

    private static Extension AuthorizedProvider(PasRequest request) => new()
    {
        Url = PasUrls.Extension("extension-itemAuthorizedProvider"),
        Extension = Ref(request, request.Claim.Provider) is { } provider ? [new Extension("provider", provider)] : [],
    };

    /// <summary>The Claim's TransmissionIdentifiers for the reply: the payer now sends, the submitter receives.</summary>
    private static Extension ReplyTransmission(Extension received)
    {
        string? Part(string url) => (received.GetExtension(url)?.Value as FhirString)?.Value;
        var reply = new Extension { Url = PasUrls.TransmissionIdentifiers };
        foreach (var (url, value) in new[]
        {
            ("applicationSenderCode", Part("applicationReceiverCode")),
            ("applicationReceiverCode", Part("applicationSenderCode")),
            ("interchangeSenderID", Part("interchangeReceiverID")),
            ("interchangeReceiverID", Part("interchangeSenderID")),
        })
        {
            if (value is not null)
            {
                reply.Extension.Add(new Extension(url, new FhirString(value)));
            }
        }
        return reply;
    }

    private static ItemDecision OverallDecision(AuthorizationRecord authorization)
    {
        var action = authorization.Status switch
        {
            "approved" => ReviewAction.Approved,
            "denied" => ReviewAction.Denied,
            "pended" => ReviewAction.Pended,
            "cancelled" => ReviewAction.Cancelled,
            _ => ReviewAction.Modified,
        };
        return new ItemDecision(0, action, $"Overall: {authorization.Status}.", null, null, null, "overall");
    }

    /// <summary>What kind of provider the requester is: the role's code or the organization's type, as sent.</summary>
    private static CodeableConcept? ProviderType(PasRequest request) => request.Claim.Provider is { } reference
        ? request.Resolve(reference) switch
        {
            PractitionerRole role => role.Code.FirstOrDefault()?.DeepCopy() as CodeableConcept,
            Organization organization => organization.Type.FirstOrDefault()?.DeepCopy() as CodeableConcept,
            _ => null,
        }
        : null;

    private static CodeableConcept? PrincipalDiagnosis(Claim claim) =>
        claim.Diagnosis.OrderBy(d => d.Sequence).Select(d => d.Diagnosis).OfType<CodeableConcept>().FirstOrDefault() is { } code
            ? (CodeableConcept)code.DeepCopy()
            : null;

    /// <summary>Admission and discharge dates the Claim gives in supportingInfo, repeated on the decided line (2.2.1).</summary>
    private static void AddAdmissionDates(Claim claim, List<Extension> extensions)
    {
        foreach (var info in claim.SupportingInfo)
        {
            var category = info.Category?.Coding.FirstOrDefault()?.Code;
            var timing = info.Timing;
            if (category == "admissionDates" && timing is Date or Period)
            {
                extensions.Add(new Extension(PasUrls.Extension("extension-admissionDates"), (DataType)timing.DeepCopy()));
            }
            else if (category == "dischargeDates" && DischargeDay(timing) is { } discharge)
            {
                extensions.Add(new Extension(PasUrls.Extension("extension-dischargeDate"), new Date(discharge)));
            }
        }
    }

    private static string? DischargeDay(DataType? timing) => timing switch
    {
        Date d => d.Value,
        Period { End: { Length: >= 10 } end } => end[..10],
        FhirDateTime { Value: { Length: >= 10 } value } => value[..10],
        _ => null,
    };

    private static Extension AuthorizedDetail(Claim.ItemComponent claimItem, decimal? quantity)
    {
        var detail = new Extension { Url = PasUrls.Extension("extension-itemAuthorizedDetail") };
        if (claimItem.ProductOrService is { } code)
        {
            detail.Extension.Add(new Extension("productOrServiceCode", code));
        }
        detail.Extension.Add(new Extension("quantity", new Quantity { Value = quantity, Unit = claimItem.Quantity?.Unit }));
        return detail;
    }

    private static ClaimResponse.AdjudicationComponent Adjudication(AuthorizationRecord authorization, ItemDecision decision)
    {
        var reviewAction = new Extension { Url = PasUrls.ReviewAction };
        reviewAction.Extension.Add(new Extension(PasUrls.ReviewActionCode,
            new CodeableConcept(PasUrls.ReviewActionSystem, decision.X12Code, decision.X12Display, null)));
        reviewAction.Extension.Add(new Extension("number", new FhirString($"{authorization.Number}-{decision.Sequence}")));
        // The reason code is bound (required) to X12 886, a licensed list: it is sent when the policy names a code.
        // The reason in plain words is always in processNote.
        if (decision.ReasonCode is { } code && decision.Action is ReviewAction.Denied or ReviewAction.Modified or ReviewAction.Pended)
        {
            reviewAction.Extension.Add(new Extension("reasonCode",
                new CodeableConcept(PasUrls.ReviewReasonSystem, code) { Text = decision.Reason }));
        }
        return new ClaimResponse.AdjudicationComponent
        {
            Extension = [reviewAction],
            Category = new CodeableConcept(PasUrls.AdjudicationSystem, "submitted"),
        };
    }

    private CommunicationRequest DocumentationRequest(PasRequest request, AuthorizationItem item, IReadOnlyList<string> loinc, string id)
    {
        var communication = new CommunicationRequest
        {
            Id = id,
            Meta = new Meta { Profile = [version.Profile("profile-communicationrequest")] },
            Identifier = [new Identifier("urn:fhirpriorauth:communication-request", id)],
            Status = RequestStatus.Active,
            Subject = Ref(request, request.Claim.Patient),
            About = [new ResourceReference(request.ClaimFullUrl)],
            AuthoredOn = now.ToString("o", CultureInfo.InvariantCulture),
            Requester = Ref(request, request.Claim.Insurer),
            Recipient = Ref(request, request.Claim.Provider) is { } provider ? [provider] : [],
            Sender = Ref(request, request.Claim.Provider),
            // X12 755 report type 09 (progress report); documents come back through CDex ($submit-attachment).
            Category = [new CodeableConcept("https://codesystem.x12.org/005010/755", "09", "Progress Report", null)],
            Medium = [new CodeableConcept(PasUrls.TempCodes, "CDEX")],
            // PAS allows one payload: the preferred document type; the note names every acceptable alternative.
            Payload = [new CommunicationRequest.PayloadComponent { Content = new FhirString(loinc[0]) }],
            Note = [new Annotation { Text = $"Item {item.Sequence}: send one of LOINC {string.Join(", ", loinc)}. {item.Decision.Reason}" }],
        };
        if (PrincipalDiagnosis(request.Claim) is { } diagnosis)
        {
            communication.Payload[0].Extension.Add(new Extension(PasUrls.Extension("extension-communicatedDiagnosis"), diagnosis));
        }
        var lineNumber = new Extension(PasUrls.ServiceLineNumber, new PositiveInt(item.Sequence));
        if (version == PasVersion.V2_2_1)
        {
            communication.Extension.Add(lineNumber);
        }
        else
        {
            communication.Payload.ForEach(p => p.Extension.Add((Extension)lineNumber.DeepCopy()));
        }
        return communication;
    }

    private Hl7.Fhir.Model.Task DocumentationTask(PasRequest request, AuthorizationItem item, IReadOnlyList<string> loinc, string id)
    {
        var task = new Hl7.Fhir.Model.Task
        {
            Id = id,
            Meta = new Meta { Profile = [version.Profile("profile-task")] },
            Identifier = [new Identifier("urn:fhirpriorauth:task", id)],
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Code = new CodeableConcept(PasUrls.TempCodes, "attachment-request-code"),
            For = Ref(request, request.Claim.Patient),
            AuthoredOn = now.ToString("o", CultureInfo.InvariantCulture),
            Requester = new ResourceReference { Identifier = PasParties.PreferredIdentifier(request.Insurers) ?? new Identifier("urn:fhirpriorauth:payer", "payer") },
            Owner = new ResourceReference { Identifier = PasParties.PreferredIdentifier(request.Providers) ?? new Identifier("urn:fhirpriorauth:provider", "unknown") },
            ReasonCode = new CodeableConcept(PasUrls.TempCodes, "priorAuthorization"),
            ReasonReference = new ResourceReference(request.ClaimFullUrl),
            StatusReason = new CodeableConcept { Text = "Waiting for the provider's documentation." },
            // The CMS-0057-F decision clock: 72 hours for expedited requests, 7 calendar days otherwise.
            Restriction = new Hl7.Fhir.Model.Task.RestrictionComponent
            {
                Period = new Period(new FhirDateTime(now), new FhirDateTime(now.Add(DecisionClock(PriorAuthorizationService.IsExpedited(request.Claim))))),
            },
        };
        task.Input.Add(new Hl7.Fhir.Model.Task.ParameterComponent
        {
            Type = new CodeableConcept(PasUrls.TempCodes, "payer-url"),
            Value = new FhirUrl(baseUrl),
        });
        foreach (var code in loinc)
        {
            task.Input.Add(new Hl7.Fhir.Model.Task.ParameterComponent
            {
                // 2.0.1 names the line with its own extension; 2.2.1 reuses serviceLineNumber.
                Extension = [new Extension(version == PasVersion.V2_2_1 ? PasUrls.ServiceLineNumber : PasUrls.Extension("extension-paLineNumber"),
                    version == PasVersion.V2_2_1 ? new PositiveInt(item.Sequence) : new Integer(item.Sequence))],
                Type = new CodeableConcept(PasUrls.TempCodes, "attachments-needed"),
                Value = new CodeableConcept("http://loinc.org", code),
            });
        }
        return task;
    }

    private Period ValidityPeriod(IEnumerable<AuthorizationItem> items)
    {
        var list = items.ToList();
        var start = list.Select(i => i.ServiceStart).Where(s => s is not null).Order(StringComparer.Ordinal).FirstOrDefault();
        var end = list.Select(i => i.ServiceEnd ?? i.ServiceStart).Where(s => s is not null).Order(StringComparer.Ordinal).LastOrDefault();
        return start is null || end is null
            ? new Period { Start = Today, End = now.Add(DefaultValidity).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }
            : new Period { Start = start, End = end };
    }

    private static string Disposition(string status, IReadOnlyList<AuthorizationItem> items) => status switch
    {
        "cancelled" => "The authorization is cancelled.",
        "approved" => "Certified in total.",
        "denied" => "Not certified.",
        "pended" => $"Pended: {items.Count(i => i.Decision.Action == ReviewAction.Pended)} item(s) await documentation or clinical review.",
        "modified" => "Certified with modifications.",
        _ => "Partially certified; see each item.",
    };

    /// <summary>A reference to the entry the Claim's reference resolves to, by its exact fullUrl (so it resolves in the response).</summary>
    private static ResourceReference? Ref(PasRequest request, ResourceReference? reference) =>
        reference is null ? null
        : request.ResolveEntry(reference) is { } entry ? new ResourceReference(entry.FullUrl)
        : new ResourceReference { Reference = reference.Reference, Identifier = reference.Identifier };
}
