using System.Text;
using Dapper;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>What the authorization store must do, on SQLite always and on SQL Server when configured.</summary>
public abstract class AuthorizationStoreContract
{
    protected abstract SqlResourceStore Store { get; }

    protected virtual void SkipUnlessAvailable() { }

    private SqlAuthorizationStore Authorizations => new(Store);

    private ResourceInteractions Fhir => new(Store, SearchParameterRegistry.Default, TimeProvider.System);

    private SubmissionRecord Submission(AuthorizationRecord authorization, string key, bool isNew, int claimResponseVersion, byte[]? responseBody = null,
        IReadOnlyList<string>? warnings = null)
    {
        var response = new ClaimResponse
        {
            Status = FinancialResourceStatusCodes.Active,
            Use = ClaimUseCode.Preauthorization,
            Patient = new ResourceReference("Patient/p"),
            Insurer = new ResourceReference("Organization/i"),
            Created = "2026-11-27",
            Outcome = ClaimProcessingCodes.Complete,
            PreAuthRef = authorization.Number,
        };
        var write = Fhir.PrepareWrite(response, authorization.ClaimResponseId, claimResponseVersion, claimResponseVersion - 1);
        var decision = new ItemDecision(1, ReviewAction.Approved, "Approved.", null, "p", "1", "r");
        return new SubmissionRecord(Guid.NewGuid().ToString("N"), key, new IdentifierKey("urn:test", key), DateTimeOffset.UtcNow,
            authorization, isNew, [decision], [write], Encoding.UTF8.GetBytes("{}"), responseBody ?? Encoding.UTF8.GetBytes($"{{\"v\":{claimResponseVersion}}}"), warnings ?? ["a warning"]);
    }

    private static AuthorizationRecord NewAuthorization(string member, string provider) => new()
    {
        Number = "PA-" + Guid.NewGuid().ToString("N")[..12],
        PasVersion = PasVersion.V2_2_1,
        Status = "approved",
        ClaimResponseId = Guid.NewGuid().ToString("N"),
        Members = [new IdentifierKey("urn:member", member)],
        Providers = [new IdentifierKey("http://hl7.org/fhir/sid/us-npi", provider)],
        ReceivedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
        Items = [new AuthorizationItem(1, ["http://www.ama-assn.org/go/cpt|99213"], "2026-12-01", "2026-12-01",
            new ItemDecision(1, ReviewAction.Approved, "Approved.", null, "p", "1", "r"), DateTimeOffset.UtcNow)],
    };

    [SkippableFact]
    public async Task ASubmission_IsFoundByKey_ByNumber_AndByMemberAndProvider()
    {
        SkipUnlessAvailable();
        var member = Guid.NewGuid().ToString("N");
        var authorization = NewAuthorization(member, "1234567893");
        var key = Guid.NewGuid().ToString("N");
        Assert.True(await Authorizations.SaveAsync(Submission(authorization, key, isNew: true, 1), default));

        Assert.Equal("{\"v\":1}", Encoding.UTF8.GetString((await Authorizations.FindResponseAsync(key, default))!));
        Assert.Equal("{\"v\":1}", Encoding.UTF8.GetString((await Authorizations.LatestResponseAsync(authorization.Number, default))!));
        var read = await Authorizations.ReadAsync(authorization.Number, default);
        Assert.Equal(ReviewAction.Approved, Assert.Single(read!.Items).Decision.Action);
        Assert.Equal(1, read.RowVersion);

        var found = await Authorizations.FindAsync(new AuthorizationLookup([new("urn:member", member)], [new("http://hl7.org/fhir/sid/us-npi", "1234567893")]), 10, default);
        Assert.Equal(authorization.Number, Assert.Single(found).Number);
        Assert.Empty(await Authorizations.FindAsync(new AuthorizationLookup([new("urn:member", member)], [new("http://hl7.org/fhir/sid/us-npi", "9876543213")]), 10, default));
        Assert.NotNull(await Store.ReadAsync("ClaimResponse", authorization.ClaimResponseId, null, default));
    }

    [SkippableFact]
    public async Task AResponseThatEchoesItsRequest_IsStoredWithoutTheEcho_AndReadBackUnchanged()
    {
        SkipUnlessAvailable();
        // A request as a client might send it, spaces between tokens; the response echoes both its resources compacted.
        var identifiers = Enumerable.Range(0, 200).Select(i => $"urn:member|m{i}").ToList();
        var patient = "{ \"resourceType\": \"Patient\", \"identifier\": [ " + string.Join(", ", identifiers.Select(i => $"{{ \"value\": \"{i}\" }}")) + " ] }";
        var patientCompact = "{\"resourceType\":\"Patient\",\"identifier\":[" + string.Join(",", identifiers.Select(i => $"{{\"value\":\"{i}\"}}")) + "]}";
        const string organization = "{ \"resourceType\": \"Organization\", \"name\": \"A \\\" quoted \\\" name\" }";
        const string organizationCompact = "{\"resourceType\":\"Organization\",\"name\":\"A \\\" quoted \\\" name\"}";
        const string before = "{ \"entry\": [ { \"resource\": ", between = " }, { \"resource\": ", after = " } ] }";
        var request = Encoding.UTF8.GetBytes(before + patient + between + organization + after);
        const string head = "{\"entry\":[{\"resource\":{\"resourceType\":\"ClaimResponse\",\"id\":\"cr\"}},{\"resource\":", next = "},{\"resource\":";
        var response = Encoding.UTF8.GetBytes(head + patientCompact + next + organizationCompact + "}]}");
        EchoedSpan[] echoes =
        [
            new(head.Length, patientCompact.Length, before.Length, patient.Length),
            new(head.Length + patientCompact.Length + next.Length, organizationCompact.Length, before.Length + patient.Length + between.Length, organization.Length),
        ];
        var authorization = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        var submission = Submission(authorization, Guid.NewGuid().ToString("N"), isNew: true, 1, response) with { RequestBundle = request, ResponseEchoes = echoes };

        Assert.True(await Authorizations.SaveAsync(submission, default));

        Assert.Equal(response, await Authorizations.FindResponseAsync(submission.IdempotencyKey, default));
        Assert.Equal(response, await Authorizations.LatestResponseAsync(authorization.Number, default));
        await using var connection = await Store.Dialect.OpenAsync(default);
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT response_body FROM Submission WHERE submission_id = @Id", new { submission.Id });
        var whole = Deflated.Pack(response).Length;
        Assert.True(stored.Length < whole / 2, $"{stored.Length} bytes stored, {whole} with the echo");
    }

    [SkippableFact]
    public async Task ALargeResponse_IsStoredCompressed_AndReadBackUnchanged()
    {
        SkipUnlessAvailable();
        var json = Encoding.UTF8.GetBytes("{\"entry\":[" + string.Join(",", Enumerable.Range(0, 400).Select(i => $"{{\"fullUrl\":\"urn:uuid:{i}\"}}")) + "]}");
        var authorization = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        var submission = Submission(authorization, Guid.NewGuid().ToString("N"), isNew: true, 1, json);
        Assert.True(await Authorizations.SaveAsync(submission, default));

        Assert.Equal(json, await Authorizations.FindResponseAsync(submission.IdempotencyKey, default));
        Assert.Equal(json, await Authorizations.LatestResponseAsync(authorization.Number, default));
        await using var connection = await Store.Dialect.OpenAsync(default);
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT response_body FROM Submission WHERE submission_id = @Id", new { submission.Id });
        Assert.True(stored.Length < json.Length / 4, $"{stored.Length} bytes stored for {json.Length}");
    }

    [SkippableFact]
    public async Task WarningsLikeAnEarlierSubmissions_AreStoredOnce_AndFoundByTheirHash()
    {
        SkipUnlessAvailable();
        var marker = Guid.NewGuid().ToString("N");
        string[] warnings = [$"Organization.type: value set {marker} is not available; codes not checked", "Encounter.type: codes not checked"];
        var first = Submission(NewAuthorization(marker, "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1, warnings: warnings);
        var second = Submission(NewAuthorization(marker, "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1, warnings: warnings);
        var other = Submission(NewAuthorization(marker, "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1, warnings: [warnings[0]]);
        var none = Submission(NewAuthorization(marker, "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1, warnings: []);
        foreach (var submission in new[] { first, second, other, none })
        {
            Assert.True(await Authorizations.SaveAsync(submission, default));
        }

        await using var connection = await Store.Dialect.OpenAsync(default);
        var stored = (await connection.QueryAsync<(string Id, string? Warnings)>(
            "SELECT s.submission_id, w.warnings FROM Submission s LEFT JOIN WarningSet w ON w.warnings_hash = s.warnings_hash " +
            "WHERE s.submission_id IN @Ids", new { Ids = new[] { first.Id, second.Id, other.Id, none.Id } })).ToDictionary(r => r.Id, r => r.Warnings);
        Assert.Equal(string.Join("\n", warnings), stored[first.Id]);
        Assert.Equal(string.Join("\n", warnings), stored[second.Id]);
        Assert.Equal(warnings[0], stored[other.Id]);
        Assert.Null(stored[none.Id]);
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM WarningSet WHERE warnings LIKE @Pattern", new { Pattern = $"%{marker}%" }));
    }

    [SkippableFact]
    public async Task APreparedSubmission_IsSavedAsItIsWhenSaved_NotAsItWasWhenPrepared()
    {
        SkipUnlessAvailable();
        var authorization = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        var prepared = Authorizations.Prepare(Submission(authorization, Guid.NewGuid().ToString("N"), isNew: true, 1, warnings: []));
        Assert.NotNull(prepared.Prepared);
        // The service adds the proof's warnings after preparing; a pull of documents replaces resources and response.
        var changed = prepared with
        {
            Warnings = ["found after preparing"],
            ResponseBundle = Encoding.UTF8.GetBytes("{\"v\":\"changed\"}"),
            Resources = [.. prepared.Resources, Fhir.PrepareCreate(new Basic { Code = new CodeableConcept("urn:test", "added") }, AccessScope.All)],
        };
        Assert.True(await Authorizations.SaveAsync(changed, default));

        Assert.Equal("{\"v\":\"changed\"}", Encoding.UTF8.GetString((await Authorizations.FindResponseAsync(changed.IdempotencyKey, default))!));
        Assert.NotNull(await Store.ReadAsync("Basic", changed.Resources[^1].Id, null, default));
        await using var connection = await Store.Dialect.OpenAsync(default);
        Assert.Equal("found after preparing", await connection.QuerySingleAsync<string?>(
            "SELECT w.warnings FROM Submission s JOIN WarningSet w ON w.warnings_hash = s.warnings_hash WHERE s.submission_id = @Id", new { changed.Id }));
    }

    [SkippableFact]
    public async Task AReplayedKey_WritesNothing()
    {
        SkipUnlessAvailable();
        var authorization = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        var key = Guid.NewGuid().ToString("N");
        Assert.True(await Authorizations.SaveAsync(Submission(authorization, key, isNew: true, 1), default));
        var replay = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        Assert.False(await Authorizations.SaveAsync(Submission(replay, key, isNew: true, 1), default));
        Assert.Null(await Authorizations.ReadAsync(replay.Number, default));
        Assert.Null(await Store.ReadAsync("ClaimResponse", replay.ClaimResponseId, null, default));
    }

    [SkippableFact]
    public async Task AnUpdateFromAStaleRead_IsRefused_AndLeavesNoTrace()
    {
        SkipUnlessAvailable();
        var authorization = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        Assert.True(await Authorizations.SaveAsync(Submission(authorization, Guid.NewGuid().ToString("N"), isNew: true, 1), default));
        var first = (await Authorizations.ReadAsync(authorization.Number, default))!;
        var second = (await Authorizations.ReadAsync(authorization.Number, default))!;
        Assert.True(await Authorizations.SaveAsync(Submission(first, Guid.NewGuid().ToString("N"), isNew: false, 2), default));
        var staleKey = Guid.NewGuid().ToString("N");
        await Assert.ThrowsAsync<VersionConflictException>(() => Authorizations.SaveAsync(Submission(second, staleKey, isNew: false, 2), default));
        Assert.Null(await Authorizations.FindResponseAsync(staleKey, default));
        Assert.Equal(2, (await Authorizations.ReadAsync(authorization.Number, default))!.RowVersion);
    }

    [SkippableFact]
    public async Task ANewAuthorization_WhoseNumberIsTaken_IsRefusedAsAConflict_AndLeavesNoTrace()
    {
        SkipUnlessAvailable();
        var first = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        Assert.True(await Authorizations.SaveAsync(Submission(first, Guid.NewGuid().ToString("N"), isNew: true, 1), default));
        var second = NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893");
        second.Number = first.Number;
        var key = Guid.NewGuid().ToString("N");

        // A conflict, which the service answers by deciding again (with a new number), not a unique-key error.
        await Assert.ThrowsAsync<VersionConflictException>(() => Authorizations.SaveAsync(Submission(second, key, isNew: true, 1), default));
        Assert.Null(await Authorizations.FindResponseAsync(key, default));
        Assert.Null(await Store.ReadAsync("ClaimResponse", second.ClaimResponseId, null, default));
        Assert.Equal(first.ClaimResponseId, (await Authorizations.ReadAsync(first.Number, default))!.ClaimResponseId);
    }

    [SkippableFact]
    public async Task ManyNewAuthorizations_AreSavedInOneGo_OrNotAtAll()
    {
        SkipUnlessAvailable();
        var members = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        var batch = members.Select(m => Submission(NewAuthorization(m, "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1)).ToList();
        await Authorizations.SaveManyAsync(batch, default);
        foreach (var (member, submission) in members.Zip(batch))
        {
            var found = await Authorizations.FindAsync(new AuthorizationLookup([new("urn:member", member)], [new("http://hl7.org/fhir/sid/us-npi", "1234567893")]), 10, default);
            Assert.Equal(submission.Authorization.Number, Assert.Single(found).Number);
            Assert.Equal(1, submission.Authorization.RowVersion);
        }

        // One submission already saved spoils the batch: nothing of it is written.
        var fresh = Submission(NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893"), Guid.NewGuid().ToString("N"), isNew: true, 1);
        var replayed = Submission(NewAuthorization(Guid.NewGuid().ToString("N"), "1234567893"), batch[0].IdempotencyKey, isNew: true, 1);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Authorizations.SaveManyAsync([fresh, replayed], default));
        Assert.Null(await Authorizations.ReadAsync(fresh.Authorization.Number, default));
    }
}

public sealed class SqliteAuthorizationStoreTests(SqliteDatabase database) : AuthorizationStoreContract, IClassFixture<SqliteDatabase>
{
    protected override SqlResourceStore Store => database.Store;
}
