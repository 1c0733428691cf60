using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Core.Tests.Fhir;

public class ResourceInteractionsTests
{
    /// <summary>A store whose resource is always changed by someone else between read and commit.</summary>
    private sealed class ContestedStore : IResourceStore
    {
        public int Commits { get; private set; }

        public Task<StoredResource?> ReadAsync(string resourceType, string id, int? version, CancellationToken ct) =>
            Task.FromResult<StoredResource?>(new StoredResource(resourceType, id, 4, DateTimeOffset.UtcNow, false, "{}"u8.ToArray()));

        public Task<IReadOnlyList<WriteResult>> CommitAsync(IReadOnlyList<ResourceWrite> changes, CancellationToken ct)
        {
            Commits++;
            throw new VersionConflictException(changes[0].ResourceType, changes[0].Id, changes[0].ExpectedCurrentVersion, 5);
        }

        public Task<SearchPage> SearchAsync(SearchQuery query, CancellationToken ct) => throw new NotSupportedException();

        public Task<SearchPage> HistoryAsync(HistoryQuery query, CancellationToken ct) => throw new NotSupportedException();
    }

    private static (ResourceInteractions, ContestedStore) Contested()
    {
        var store = new ContestedStore();
        return (new ResourceInteractions(store, SearchParameterRegistry.Default, TimeProvider.System), store);
    }

    [Fact]
    public async Task GivenAnUpdateWithoutIfMatch_WhenEveryAttemptCollides_ThenItRetriesThen409()
    {
        var (fhir, store) = Contested();
        var e = await Assert.ThrowsAsync<FhirException>(() => fhir.UpdateAsync("Patient", "p1", new Patient { Id = "p1" }, null, default));
        Assert.Equal(409, e.Status);
        Assert.Equal(3, store.Commits);
    }

    [Fact]
    public async Task GivenAnUpdateWithIfMatch_WhenItCollides_Then412WithoutRetry()
    {
        var (fhir, store) = Contested();
        var e = await Assert.ThrowsAsync<FhirException>(() => fhir.UpdateAsync("Patient", "p1", new Patient { Id = "p1" }, 4, default));
        Assert.Equal(412, e.Status);
        Assert.Equal(1, store.Commits);
    }

    [Fact]
    public async Task GivenADeleteThatKeepsColliding_WhenRetriesRunOut_Then409()
    {
        var (fhir, _) = Contested();
        var e = await Assert.ThrowsAsync<FhirException>(() => fhir.DeleteAsync("Patient", "p1", default));
        Assert.Equal(409, e.Status);
    }

    [Fact]
    public async Task GivenAnUnownedType_WhenRead_Then404()
    {
        var (fhir, _) = Contested();
        var e = await Assert.ThrowsAsync<FhirException>(() => fhir.ReadAsync("Observation", "o1", default));
        Assert.Equal(404, e.Status);
    }
}
