using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Validation;

/// <summary>
/// Native answers to the invariants a PAS request evaluates most, for their common case: true or false where the
/// answer is certain, null where only FHIRPath can say (then the compiled expression decides, as for every other
/// invariant). An invariant is answered natively only when its expression is exactly the text below, so a profile that
/// redefines a key is evaluated as written. <c>NativeInvariantTests</c> compares every answer with FHIRPath's.
/// </summary>
internal static class NativeInvariants
{
    /// <summary>
    /// The invariants with a native answer: key and the exact expression it stands for. A key can come with more than one
    /// expression (US Core's us-core-6 is one rule on HumanName and another on Attachment); the answer then goes by the
    /// type of the element.
    /// </summary>
    public static readonly IReadOnlyList<(string Key, string Expression)> Expressions = new (string, string)[]
    {
        ("bdl-1", "total.empty() or (type = 'searchset') or (type = 'history')"),
        ("bdl-2", "entry.search.empty() or (type = 'searchset')"),
        ("bdl-3", "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))"),
        ("bdl-4", "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))"),
        ("bdl-7", "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"),
        ("bdl-9", "type = 'document' implies (identifier.system.exists() and identifier.value.exists())"),
        ("bdl-10", "type = 'document' implies (timestamp.hasValue())"),
        ("bdl-11", "type = 'document' implies entry.first().resource.is(Composition)"),
        ("bdl-12", "type = 'message' implies entry.first().resource.is(MessageHeader)"),
        ("bdl-3a", "type in ('document' | 'message' | 'searchset' | 'collection') implies entry.all(resource.exists() and request.empty() and response.empty())"),
        ("bdl-3b", "type = 'history' implies entry.all(request.exists() and response.exists() and ((request.method in ('POST' | 'PATCH' | 'PUT')) = resource.exists()))"),
        ("bdl-3c", "type in ('transaction' | 'batch') implies entry.all(request.method.exists() and ((request.method in ('POST' | 'PATCH' | 'PUT')) = resource.exists()))"),
        ("bdl-3d", "type in ('transaction-response' | 'batch-response') implies entry.all(response.exists())"),
        ("bdl-15", "type='transaction' or type='transaction-response' or type='batch' or type='batch-response' or entry.all(fullUrl.exists() or request.method='POST')"),
        ("ClaimFirst", "entry.first().resource is Claim"),
        ("per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)"),
        ("qty-3", "code.empty() or system.exists()"),
        ("sqty-1", "comparator.empty()"),
        ("org-1", "(identifier.count() + name.count()) > 0"),
        ("org-2", "where(use = 'home').empty()"),
        ("org-3", "where(use = 'home').empty()"),
        ("FullDateRule", "$this.toString().length() = 10"),
        ("ImmediateLevelOfCare", "extension.where(url='http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType' and value.code='1').exists() " +
            "implies extension.where(url='http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-levelOfServiceCode').exists()"),
        ("us-core-16", "value.matches('^[0-9]{10}$')"),
        ("us-core-17", "(((select(value.substring(0,1).toInteger()).select(iif($this<5, $this*2, (($this*2)-9))))+(value.substring(1,1).toInteger())" +
            "+(select(value.substring(2,1).toInteger()).select(iif($this<5, $this*2, (($this*2)-9))))+(value.substring(3,1).toInteger())" +
            "+(select(value.substring(4,1).toInteger()).select(iif($this<5, $this*2, (($this*2)-9))))+(value.substring(5,1).toInteger())" +
            "+(select(value.substring(6,1).toInteger()).select(iif($this<5, $this*2, (($this*2)-9))))+(value.substring(7,1).toInteger())" +
            "+(select(value.substring(8,1).toInteger()).select(iif($this<5, $this*2, (($this*2)-9))))+(value.substring(9,1).toInteger()) + 24)mod 10=0)"),
        ("tim-1", "duration.empty() or durationUnit.exists()"),
        ("tim-2", "period.empty() or periodUnit.exists()"),
        ("tim-4", "duration.exists() implies duration >= 0"),
        ("tim-5", "period.exists() implies period >= 0"),
        ("tim-6", "periodMax.empty() or period.exists()"),
        ("tim-7", "durationMax.empty() or duration.exists()"),
        ("tim-8", "countMax.empty() or count.exists()"),
        ("tim-9", "offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not()))"),
        ("tim-10", "timeOfDay.empty() or when.empty()"),
        ("att-1", "data.empty() or contentType.exists()"),
        ("prr-1", "orderDetail.empty() or code.exists()"),
        ("pd-1", "telecom.exists() or endpoint.exists()"),
        ("us-core-13", "practitioner.exists() or organization.exists() or healthcareService.exists() or location.exists()"),
        ("us-core-15", "identifier.type.coding.where(system='http://terminology.hl7.org/CodeSystem/v2-0203' and code='MB').exists() or subscriberId.exists()"),
        ("us-core-6", "(family.exists() or given.exists()) xor extension.where(url='http://hl7.org/fhir/StructureDefinition/data-absent-reason').exists()"),
        ("us-core-6", "url.exists() or data.exists()"),
        ("self-beneficiary", "$this.relationship.coding.where(code='18').count() = 0 implies $this.subscriber.exists()"),
        ("us-core-23", "extension.where(url = 'ombCategory').value.where(code in 'ASKU'|'UNK').exists() implies extension.where(url = 'ombCategory').count() = 1"),
        ("crd-ci-q1", "extension.where(url='questionnaire' or url='response').exists() implies (extension.where(url = 'doc-needed').exists() and extension.where(url = 'doc-needed').all(value != 'no-doc'))"),
        ("crd-ci-q3", "extension.where(url = 'info-needed').exists() implies extension.where((url = 'covered' or url = 'pa-needed' or url = 'doc-needed') and value = 'conditional').count() >= 1"),
        ("crd-ci-q4", "extension.where(url = 'pa-needed' and value = 'satisfied') and extension.where(url = 'doc-purpose').exists() implies extension.where(url = 'doc-purpose').all(value != 'PA')"),
        ("crd-ci-q5", "extension.where(url = 'pa-needed' and value = 'satisfied').exists() = extension.where(url = 'satisfied-pa-id').exists()"),
    };

    private static readonly HashSet<(string, string)> Answered = [.. Expressions];

    /// <summary>Whether the invariant <paramref name="key"/> written as <paramref name="expression"/> has a native answer.</summary>
    public static bool Answers(string key, string expression) => Answered.Contains((key, expression));

    private const string CertificationType = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType";
    private const string LevelOfService = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-levelOfServiceCode";
    private const string DataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
    private const string MemberIdentifierSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";

    /// <summary>Whether the invariant <paramref name="key"/> holds for <paramref name="item"/>, or null when FHIRPath must say.</summary>
    public static bool? Evaluate(string key, Base item) => (key, item) switch
    {
        ("us-core-16", Identifier { Value: { } npi }) when IsTenDigits(npi) => true,
        ("us-core-17", Identifier { Value: { } npi }) when IsTenDigits(npi) => LuhnWithPrefix(npi),
        ("FullDateRule", PrimitiveType { } date) when date.ToString() is { Length: 10 } text && IsFullDate(text) => true,
        ("ImmediateLevelOfCare", IExtendable holder) => ImmediateLevelOfCare(holder),
        ("per-1", Period period) => InOrder(period),
        // An element present without a value (only extensions) exists for FHIRPath; those cases are left to it.
        ("qty-3", Quantity { CodeElement: null } or Quantity { SystemElement: not null }) => true,
        ("qty-3", Quantity { CodeElement.Value: not null, SystemElement: null }) => false,
        ("sqty-1", Quantity { ComparatorElement: null }) => true,
        ("sqty-1", Quantity { ComparatorElement.Value: not null }) => false,
        ("org-1", Organization organization) when organization.Identifier.Count > 0 || organization.NameElement?.Value is not null => true,
        ("org-1", Organization { Identifier.Count: 0, NameElement: null }) => false,
        ("org-2", Address { UseElement: null }) or ("org-3", ContactPoint { UseElement: null }) => true,
        ("org-2", Address { Use: { } use }) => use != Address.AddressUse.Home,
        ("org-3", ContactPoint { Use: { } use }) => use != ContactPoint.ContactPointUse.Home,
        ("ClaimFirst", Bundle { Entry: [{ Resource: Claim }, ..] }) => true,
        // "a.empty() or b.exists()": an element present with only extensions exists too, so presence is what counts.
        ("tim-1", Timing.RepeatComponent r) => r.DurationElement is null || r.DurationUnitElement is not null,
        ("tim-2", Timing.RepeatComponent r) => r.PeriodElement is null || r.PeriodUnitElement is not null,
        ("tim-4", Timing.RepeatComponent { DurationElement: null }) or ("tim-5", Timing.RepeatComponent { PeriodElement: null }) => true,
        ("tim-4", Timing.RepeatComponent { Duration: { } duration }) => duration >= 0,
        ("tim-5", Timing.RepeatComponent { Period: { } period }) => period >= 0,
        ("tim-6", Timing.RepeatComponent r) => r.PeriodMaxElement is null || r.PeriodElement is not null,
        ("tim-7", Timing.RepeatComponent r) => r.DurationMaxElement is null || r.DurationElement is not null,
        ("tim-8", Timing.RepeatComponent r) => r.CountMaxElement is null || r.CountElement is not null,
        ("tim-9", Timing.RepeatComponent { OffsetElement: null }) => true,
        ("tim-10", Timing.RepeatComponent r) => r.TimeOfDayElement.Count == 0 || r.WhenElement.Count == 0,
        ("att-1", Attachment a) => a.DataElement is null || a.ContentTypeElement is not null,
        ("us-core-6", Attachment a) => a.UrlElement is not null || a.DataElement is not null,
        ("us-core-6", HumanName n) => (n.FamilyElement is not null || n.GivenElement.Count > 0) != n.Extension.Exists(e => e.Url == DataAbsentReason),
        ("prr-1", ServiceRequest r) => r.OrderDetail.Count == 0 || r.Code is not null,
        ("pd-1", PractitionerRole r) => r.Telecom.Count > 0 || r.Endpoint.Count > 0,
        ("us-core-13", PractitionerRole r) => r.Practitioner is not null || r.Organization is not null || r.HealthcareService.Count > 0 || r.Location.Count > 0,
        ("us-core-15", Coverage c) => c.SubscriberIdElement is not null
            || c.Identifier.Exists(i => i.Type?.Coding.Exists(t => t.System == MemberIdentifierSystem && t.Code == "MB") == true),
        ("self-beneficiary", Coverage c) => c.Relationship?.Coding.Exists(r => r.Code == "18") == true || c.Subscriber is not null,
        // The extensions' rules that only bite when a sub-extension is present: certain only when it is absent.
        ("us-core-23", Extension e) when !e.Extension.Exists(o => o.Url == "ombCategory" && o.Value is Coding { Code: "ASKU" or "UNK" }) => true,
        ("crd-ci-q1", Extension e) when !e.Extension.Exists(o => o.Url is "questionnaire" or "response") => true,
        ("crd-ci-q3", Extension e) when !e.Extension.Exists(o => o.Url == "info-needed") => true,
        ("crd-ci-q4", Extension e) when !e.Extension.Exists(o => o.Url == "doc-purpose") && e.Extension.Count(o => o.Url == "pa-needed") <= 1 => true,
        ("crd-ci-q5", Extension e) when e.Extension.TrueForAll(o => o.Url != "pa-needed" || o.Value is null or Code) =>
            e.Extension.Exists(o => o.Url == "pa-needed" && o.Value is Code { Value: "satisfied" }) == e.Extension.Exists(o => o.Url == "satisfied-pa-id"),
        (_, Bundle bundle) when key.StartsWith("bdl-", StringComparison.Ordinal) => Bundle(key, bundle),
        _ => null,
    };

    /// <summary>
    /// PAS's rule that an immediate certification (code 1) names a level of service. It reads <c>value.code</c>, which only a
    /// Coding has: the CodeableConcept PAS uses never matches, so the rule holds for it.
    /// </summary>
    private static bool? ImmediateLevelOfCare(IExtendable holder)
    {
        var immediate = false;
        foreach (var extension in holder.Extension)
        {
            if (extension.Url != CertificationType)
            {
                continue;
            }
            switch (extension.Value)
            {
                case null or CodeableConcept:
                    break;
                case Coding coding:
                    immediate |= coding.Code == "1";
                    break;
                default:
                    return null;
            }
        }
        return !immediate || holder.Extension.Exists(e => e.Url == LevelOfService);
    }

    private static bool? Bundle(string key, Bundle bundle)
    {
        // With no type every comparison is empty, which only FHIRPath can carry through.
        if (bundle.Type is not { } type)
        {
            return null;
        }
        var entries = bundle.Entry;
        return key switch
        {
            "bdl-1" => bundle.TotalElement is null || type is Hl7.Fhir.Model.Bundle.BundleType.Searchset or Hl7.Fhir.Model.Bundle.BundleType.History ? true : null,
            "bdl-2" => entries.TrueForAll(e => e.Search is null) || type == Hl7.Fhir.Model.Bundle.BundleType.Searchset ? true : null,
            "bdl-3" => type is Hl7.Fhir.Model.Bundle.BundleType.Batch or Hl7.Fhir.Model.Bundle.BundleType.Transaction or Hl7.Fhir.Model.Bundle.BundleType.History
                ? null : entries.TrueForAll(e => e.Request is null),
            "bdl-4" => type is Hl7.Fhir.Model.Bundle.BundleType.BatchResponse or Hl7.Fhir.Model.Bundle.BundleType.TransactionResponse or Hl7.Fhir.Model.Bundle.BundleType.History
                ? null : entries.TrueForAll(e => e.Response is null),
            "bdl-7" => type == Hl7.Fhir.Model.Bundle.BundleType.History || DistinctFullUrlsWithoutVersions(entries) ? true : null,
            "bdl-9" or "bdl-10" or "bdl-11" => type == Hl7.Fhir.Model.Bundle.BundleType.Document ? null : true,
            "bdl-12" => type == Hl7.Fhir.Model.Bundle.BundleType.Message ? null : true,
            "bdl-3a" => type is Hl7.Fhir.Model.Bundle.BundleType.Document or Hl7.Fhir.Model.Bundle.BundleType.Message
                    or Hl7.Fhir.Model.Bundle.BundleType.Searchset or Hl7.Fhir.Model.Bundle.BundleType.Collection
                ? entries.TrueForAll(e => e.Resource is not null && e.Request is null && e.Response is null)
                : true,
            "bdl-3b" => type == Hl7.Fhir.Model.Bundle.BundleType.History ? null : true,
            "bdl-3c" => type is Hl7.Fhir.Model.Bundle.BundleType.Transaction or Hl7.Fhir.Model.Bundle.BundleType.Batch ? null : true,
            "bdl-3d" => type is Hl7.Fhir.Model.Bundle.BundleType.TransactionResponse or Hl7.Fhir.Model.Bundle.BundleType.BatchResponse ? null : true,
            "bdl-15" => type is Hl7.Fhir.Model.Bundle.BundleType.Transaction or Hl7.Fhir.Model.Bundle.BundleType.TransactionResponse
                    or Hl7.Fhir.Model.Bundle.BundleType.Batch or Hl7.Fhir.Model.Bundle.BundleType.BatchResponse
                    || entries.TrueForAll(e => e.FullUrl is not null) ? true : null,
            _ => null,
        };
    }

    /// <summary>Distinct fullUrls and no versions: then fullUrl &amp; versionId is distinct too.</summary>
    private static bool DistinctFullUrlsWithoutVersions(List<Bundle.EntryComponent> entries)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.FullUrlElement is null)
            {
                continue;
            }
            if (entry.FullUrl is not { } url || entry.Resource?.Meta?.VersionIdElement is not null || !seen.Add(url))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>per-1: true when a bound has no value; otherwise FHIRPath's comparison, unless the precisions make it empty.</summary>
    private static bool? InOrder(Period period)
    {
        if (period.Start is null || period.End is null)
        {
            return true;
        }
        return Hl7.Fhir.ElementModel.Types.DateTime.TryParse(period.Start, out var start)
            && Hl7.Fhir.ElementModel.Types.DateTime.TryParse(period.End, out var end)
            && start.TryCompareTo(end, out var order) && order is { } comparison ? comparison <= 0 : null;
    }

    private static bool IsTenDigits(string value) => value.Length == 10 && value.All(char.IsAsciiDigit);

    private static bool IsFullDate(string text) =>
        text[4] == '-' && text[7] == '-' && text.Where((c, i) => i is not (4 or 7)).All(char.IsAsciiDigit);

    /// <summary>The NPI check: Luhn over the ten digits with the 80840 prefix (the expression's constant 24).</summary>
    private static bool LuhnWithPrefix(string npi)
    {
        int sum = 24;
        for (int i = 0; i < 10; i++)
        {
            int digit = npi[i] - '0';
            sum += i % 2 == 0 ? (digit < 5 ? digit * 2 : digit * 2 - 9) : digit;
        }
        return sum % 10 == 0;
    }
}
