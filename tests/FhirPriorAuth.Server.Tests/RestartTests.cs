using System.Net;
using Hl7.Fhir.Model;
using static FhirPriorAuth.Server.Tests.Fhir;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Tests;

public class RestartTests
{
    [Fact]
    public async Task GivenAcknowledgedWrites_WhenTheServerRestarts_ThenTheDataIsStillThere()
    {
        var first = new ServerHost();
        await first.InitializeAsync();
        string patientId, claimId;
        try
        {
            var patient = await (await first.Client.PostAsync("fhir/Patient", Json(Member(NewId())))).ReadAs<Patient>();
            patientId = patient.Id!;
            var claim = await first.Client.PostAsync("fhir/Claim", Json(PriorAuthClaim(patientId)));
            Assert.Equal(HttpStatusCode.Created, claim.StatusCode);
            claimId = (await claim.ReadAs<Claim>()).Id!;
        }
        finally
        {
            await first.StopAsync();
        }

        var second = new ServerHost { DataDirectory = first.DataDirectory };
        await second.InitializeAsync();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await second.Client.GetAsync($"fhir/Patient/{patientId}")).StatusCode);
            var search = await (await second.Client.GetAsync($"fhir/Claim?patient={patientId}")).ReadAs<Bundle>();
            Assert.Equal(claimId, search.Entry.Single().Resource!.Id);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }
}
