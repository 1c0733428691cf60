using System.Text.Json;
using System.Text.Json.Nodes;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Crd;

/// <summary>
/// CDS Hooks feedback (which cards a clinician accepted or overrode, and why), kept for audit: one AuditEvent per
/// feedback item, naming the card and carrying the item as sent.
/// </summary>
public sealed class CrdFeedback(ResourceInteractions fhir, IResourceStore store)
{
    /// <summary>Records a feedback body for <paramref name="service"/>: 400 when it is not JSON, 422 when it is not CDS Hooks feedback.</summary>
    public async Task RecordAsync(CdsService service, byte[] body, CancellationToken ct)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The body is not JSON: {e.Message}", type: OperationOutcome.IssueType.Structure);
        }
        if (root is not JsonObject feedback || feedback["feedback"] is not JsonArray items || items.Count == 0)
        {
            throw FhirException.Unprocessable("'feedback' must be a non-empty array.", "feedback");
        }
        var now = fhir.Now();
        var writes = new List<ResourceWrite>();
        foreach (var (item, index) in items.Select((item, i) => (item, i)))
        {
            if (item?["card"] is not JsonValue c || !c.TryGetValue<string>(out var card)
                || item["outcome"] is not JsonValue o || !o.TryGetValue<string>(out var outcome) || outcome is not ("accepted" or "overridden"))
            {
                throw FhirException.Unprocessable("Each feedback item needs 'card' and an 'outcome' of accepted or overridden.", $"feedback[{index}]");
            }
            var audit = FollowUpAudit.Event("cds-feedback", $"{service.Id}: card {card} {outcome}", true, [new ResourceReference { Display = $"card {card}" }], now);
            audit.Entity[0].Detail.Add(new AuditEvent.DetailComponent { Type = "feedback", Value = new FhirString(item.ToJsonString()) });
            audit.Agent[0].Who = new ResourceReference { Display = "CDS Hooks client" };
            writes.Add(fhir.PrepareWrite(audit, audit.Id!, 1, 0));
        }
        await store.CommitAsync(writes, ct);
    }
}
