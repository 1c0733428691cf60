namespace FhirPriorAuth.Core.Pas;

/// <summary>The PAS IG versions the server serves, each at its own base URL.</summary>
public enum PasVersion
{
    /// <summary>PAS 2.0.1 (STU2).</summary>
    V2_0_1,
    /// <summary>PAS 2.2.1.</summary>
    V2_2_1,
}

/// <summary>What differs between the PAS versions on the wire (pas-notes §1.12).</summary>
public static class PasVersions
{
    /// <summary>The version label, e.g. <c>2.2.1</c>.</summary>
    public static string Label(this PasVersion version) => version == PasVersion.V2_0_1 ? "2.0.1" : "2.2.1";

    /// <summary>A PAS profile canonical of this version (unversioned URL, as the IG examples declare them).</summary>
    public static string Profile(this PasVersion version, string id) => PasUrls.StructureDefinition + id;

    /// <summary>2.0.1 reports a pended authorization as <c>queued</c>; 2.2.1 removed <c>queued</c> (FHIR-51436).</summary>
    public static bool UsesQueuedForPended(this PasVersion version) => version == PasVersion.V2_0_1;

    /// <summary>2.2.1 wraps inquiry results in Parameters with one <c>return</c> per authorization (FHIR-55394).</summary>
    public static bool WrapsInquiryInParameters(this PasVersion version) => version == PasVersion.V2_2_1;
}
