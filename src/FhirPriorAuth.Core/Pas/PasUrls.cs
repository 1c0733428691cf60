namespace FhirPriorAuth.Core.Pas;

/// <summary>Canonical URLs and code systems PAS uses.</summary>
public static class PasUrls
{
    /// <summary>Prefix of PAS StructureDefinitions.</summary>
    public const string StructureDefinition = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/";
    /// <summary>The <c>$submit</c> OperationDefinition.</summary>
    public const string SubmitOperation = "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit";
    /// <summary>The <c>$inquire</c> OperationDefinition (its id is Claim-inquiry, its code inquire).</summary>
    public const string InquireOperation = "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry";
    /// <summary>The PAS temporary code system.</summary>
    public const string TempCodes = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes";
    /// <summary>X12 306 review action codes.</summary>
    public const string ReviewActionSystem = "https://codesystem.x12.org/005010/306";
    /// <summary>X12 886 review decision reason codes.</summary>
    public const string ReviewReasonSystem = "https://codesystem.x12.org/external/886";
    /// <summary>HL7 adjudication categories.</summary>
    public const string AdjudicationSystem = "http://terminology.hl7.org/CodeSystem/adjudication";
    /// <summary>US NPI.</summary>
    public const string Npi = "http://hl7.org/fhir/sid/us-npi";

    /// <summary>Extension URL of a PAS extension id.</summary>
    public static string Extension(string id) => StructureDefinition + id;

    /// <summary>Review action (complex).</summary>
    public static readonly string ReviewAction = Extension("extension-reviewAction");
    /// <summary>Review action code (its url inside reviewAction is the full URL).</summary>
    public static readonly string ReviewActionCode = Extension("extension-reviewActionCode");
    /// <summary>The modifier extension that cancels an item or supportingInfo in a Claim Update.</summary>
    public static readonly string InfoCancelled = Extension("modifierextension-infoCancelled");
    /// <summary>Marks an item or supportingInfo changed or added in a Claim Update.</summary>
    public static readonly string InfoChanged = Extension("extension-infoChanged");
    /// <summary>Certification type (UM02).</summary>
    public static readonly string CertificationType = Extension("extension-certificationType");
    /// <summary>Level of service (UM06).</summary>
    public static readonly string LevelOfService = Extension("extension-levelOfServiceCode");
    /// <summary>Authorization number (REF-BB).</summary>
    public static readonly string AuthorizationNumber = Extension("extension-authorizationNumber");
    /// <summary>Administration reference number (REF-NT).</summary>
    public static readonly string AdministrationReferenceNumber = Extension("extension-administrationReferenceNumber");
    /// <summary>Item trace number (TRN).</summary>
    public static readonly string ItemTraceNumber = Extension("extension-itemTraceNumber");
    /// <summary>Transmission identifiers (ISA/GS), 2.2.1.</summary>
    public static readonly string TransmissionIdentifiers = Extension("extension-TransmissionIdentifiers");
    /// <summary>The order an item asks for.</summary>
    public static readonly string RequestedService = Extension("extension-requestedService");
    /// <summary>Service line number on CommunicationRequest and Task inputs.</summary>
    public static readonly string ServiceLineNumber = Extension("extension-serviceLineNumber");

    /// <summary>The modifier extensions the server understands; any other is refused (PAS: receivers MAY reject unknown modifiers).</summary>
    public static readonly IReadOnlySet<string> UnderstoodModifierExtensions = new HashSet<string>(StringComparer.Ordinal) { InfoCancelled };
}
