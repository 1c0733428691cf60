using FhirPriorAuth.Core.Crd;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>CRD coverage assertions come back as they were saved, decision included; an unknown id is null.</summary>
public abstract class CoverageAssertionStoreContract
{
    protected abstract SqlResourceStore Store { get; }

    protected virtual void SkipUnlessAvailable() { }

    [SkippableFact]
    public async Task ASavedAssertion_ReadsBackWhole()
    {
        SkipUnlessAvailable();
        var store = new SqlCoverageAssertionStore(Store);
        var decision = new ItemDecision(1, ReviewAction.Modified, "Approved for 10 units.", null, "demo", "2026.1", "home-health-aide", AuthorizedQuantity: 10, RequestedQuantity: 12);
        var assertion = new CoverageAssertion("CA-" + Guid.NewGuid().ToString("N")[..12], "order-sign", Guid.NewGuid().ToString(), "ServiceRequest/sr-1",
            ["https://bluebutton.cms.gov/resources/codesystem/hcpcs|G0154"], ["http://hl7.org/fhir/sid/icd-10-cm|G89.4"], 12m,
            [new IdentifierKey("http://davinci-pas.org/MIN", "M-1"), new IdentifierKey(null, "M-1")], "Coverage/cov-1", decision,
            new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        await store.SaveAsync([assertion], default);

        var read = await store.ReadAsync(assertion.Id, default);
        Assert.NotNull(read);
        Assert.Equal(assertion with { Codes = [], Diagnoses = [], Members = [] }, read! with { Codes = [], Diagnoses = [], Members = [] });
        Assert.Equal(assertion.Codes, read.Codes);
        Assert.Equal(assertion.Diagnoses, read.Diagnoses);
        Assert.Equal(assertion.Members, read.Members);
        Assert.Null(await store.ReadAsync("CA-none", default));
    }
}

public sealed class SqliteCoverageAssertionStoreTests(SqliteDatabase database) : CoverageAssertionStoreContract, IClassFixture<SqliteDatabase>
{
    protected override SqlResourceStore Store => database.Store;
}

public class SqlServerCoverageAssertionStoreTests(SqlServerDatabase database) : CoverageAssertionStoreContract, IClassFixture<SqlServerDatabase>
{
    protected override SqlResourceStore Store => database.Store!;

    protected override void SkipUnlessAvailable() =>
        Skip.If(database.Store is null, $"Set {SqlServerDatabase.Variable} to a SQL Server connection string to run these tests.");
}
