using System.Text.Json;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Security;

/// <summary>
/// Whose records a stored resource is, kept as FHIR security labels (<c>meta.security</c>) in the server's own
/// system: <c>organization:system|value</c> for the requesting organization, <c>member:system|value</c> for the
/// member, <c>patient:id</c> for a Patient on this server. The server sets them on every write (clients cannot), and
/// reads and searches compare them with the caller's <see cref="AccessScope"/>, so a search filters in SQL via the
/// <c>_security</c> index rather than after the fact.
/// </summary>
public static class AccessLabels
{
    /// <summary>The code system of access labels.</summary>
    public const string System = "urn:fhirpriorauth:access";

    /// <summary>The label of an organization identifier.</summary>
    public static string Organization(IdentifierKey id) => $"organization:{id}";

    /// <summary>The label of a member identifier.</summary>
    public static string Member(IdentifierKey id) => $"member:{id}";

    /// <summary>The label of a Patient resource on this server.</summary>
    public static string Patient(string id) => $"patient:{id}";

    /// <summary>
    /// The labels a resource earns from its own content: a Patient is its own patient and its identifiers are
    /// member identifiers; anything else belongs to every Patient of this server it references (<c>Patient/id</c>;
    /// absolute references name another server's patients and earn nothing).
    /// </summary>
    public static IEnumerable<string> FromContent(Resource resource)
    {
        if (resource is Hl7.Fhir.Model.Patient patient)
        {
            if (patient.Id is not null)
            {
                yield return Patient(patient.Id);
            }
            foreach (var identifier in patient.Identifier.Where(i => i.Value is not null))
            {
                yield return Member(new IdentifierKey(identifier.System, identifier.Value!));
            }
            yield break;
        }
        foreach (var node in FhirTree.Nodes(resource))
        {
            if (node is ResourceReference { Reference: { } reference } && reference.StartsWith("Patient/", StringComparison.Ordinal)
                && reference.IndexOf('/', 8) < 0 && reference.Length > 8)
            {
                yield return Patient(reference[8..]);
            }
        }
    }

    /// <summary>Removes every access label from the resource (clients never set them) and returns the ones removed.</summary>
    public static IReadOnlyList<string> Strip(Resource resource)
    {
        if (resource.Meta is not { } meta)
        {
            return [];
        }
        var removed = meta.Security.Where(c => c.System == System && c.Code is not null).Select(c => c.Code!).ToList();
        meta.Security.RemoveAll(c => c.System == System);
        return removed;
    }

    /// <summary>Adds the labels to the resource's <c>meta.security</c>.</summary>
    public static void Apply(Resource resource, IEnumerable<string> labels) => Apply(resource.Meta ??= new Meta(), labels);

    /// <summary>Adds the labels to <c>meta.security</c>.</summary>
    public static void Apply(Meta meta, IEnumerable<string> labels) => meta.Security.AddRange(labels.Select(l => new Coding(System, l)));

    /// <summary>The access labels of a stored resource, read from its JSON without building the model.</summary>
    public static IReadOnlyList<string> Read(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return [];
        }
        var labels = new List<string>();
        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        if (document.RootElement.TryGetProperty("meta", out var meta) && meta.TryGetProperty("security", out var security)
            && security.ValueKind == JsonValueKind.Array)
        {
            foreach (var coding in security.EnumerateArray())
            {
                if (coding.TryGetProperty("system", out var system) && system.GetString() == System
                    && coding.TryGetProperty("code", out var code) && code.GetString() is { } value)
                {
                    labels.Add(value);
                }
            }
        }
        return labels;
    }
}
