using System.Net;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

[Collection(ServerCollection.Name)]
public class MetadataAndHealthTests(ServerHost server)
{
    [Fact]
    public async Task GivenTheServer_WhenMetadataIsRead_ThenItListsWhatIsImplemented()
    {
        var statement = await (await server.Client.GetAsync("fhir/metadata")).ReadAs<CapabilityStatement>();

        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        Assert.Equal(["application/fhir+json", "json"], statement.Format);
        Assert.Equal(new Uri(server.BaseAddress, "fhir").ToString(), statement.Implementation!.Url);
        var resources = statement.Rest.Single().Resource.ToDictionary(r => r.Type!);
        Assert.Equal(["AuditEvent", "Claim", "ClaimResponse", "CommunicationRequest", "Coverage", "DocumentReference", "Organization", "Patient",
            "Practitioner", "PractitionerRole", "Provenance", "Subscription", "Task"], resources.Keys.Order());
        Assert.Subset(resources["Claim"].SearchParam.Select(p => p.Name).ToHashSet(),
            new HashSet<string?> { "_id", "_lastUpdated", "identifier", "patient", "status", "use", "created", "provider", "insurer" });
        Assert.Subset(resources["Task"].SearchParam.Select(p => p.Name).ToHashSet(),
            new HashSet<string?> { "focus", "owner", "status", "code", "for", "patient" });
        Assert.Contains(resources["Patient"].Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Vread);
        Assert.True(resources["Patient"].ConditionalCreate);
        Assert.Contains(statement.Rest.Single().Operation, o => o.Name == "submit-attachment"
            && o.Definition == "http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment");
    }

    [Fact]
    public async Task GivenTheServer_WhenHealthIsAsked_ThenLiveAndReadyAreOk()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("health/ready")).StatusCode);
    }
}
