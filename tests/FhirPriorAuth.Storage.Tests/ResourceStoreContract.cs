using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Storage;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>
/// What every store must do. Runs against SQLite always and against SQL Server when FHIRPA_TEST_SQLSERVER is set.
/// Every test uses fresh ids, so the SQL Server variant can share one database between runs.
/// </summary>
public abstract class ResourceStoreContract
{
    protected abstract SqlResourceStore Store { get; }

    /// <summary>Throws xunit's skip exception where the store is not available.</summary>
    protected virtual void SkipUnlessAvailable() { }

    private ResourceInteractions Fhir => new(Store, SearchParameterRegistry.Default, TimeProvider.System);

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static Patient Member(string memberId, string family = "Rivera") => new()
    {
        Identifier = [new Identifier("https://payer.example/member-id", memberId)],
        Name = [new HumanName { Family = family, Given = ["Ana"] }],
        BirthDate = "1975-03-14",
    };

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenACreate_WhenRead_ThenTheSameResourceComesBack()
    {
        SkipUnlessAvailable();
        var memberId = Unique("M");
        var created = await Fhir.CreateAsync("Patient", Member(memberId), null, default);

        var read = await Store.ReadAsync("Patient", created.Resource.Id, null, default);
        Assert.NotNull(read);
        Assert.Equal(1, read.Version);
        var patient = FhirJson.Parse<Patient>(read.Json.Span);
        Assert.Equal(memberId, patient.Identifier[0].Value);
        Assert.Equal("1", patient.Meta!.VersionId);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenUpdatesAndADelete_WhenHistoryIsRead_ThenEveryVersionIsKept()
    {
        SkipUnlessAvailable();
        var created = await Fhir.CreateAsync("Patient", Member(Unique("M")), null, default);
        var id = created.Resource.Id;
        var v2 = Member(Unique("M"), "Lopez");
        v2.Id = id;
        await Fhir.UpdateAsync("Patient", id, v2, 1, default);
        await Fhir.DeleteAsync("Patient", id, default);

        var history = await Store.HistoryAsync(new HistoryQuery("Patient", id, null, 10, null), default);
        Assert.Equal([3, 2, 1], history.Resources.Select(r => r.Version));
        Assert.True(history.Resources[0].IsDeleted);
        Assert.Equal("Lopez", FhirJson.Parse<Patient>((await Store.ReadAsync("Patient", id, 2, default))!.Json.Span).Name[0].Family);
        Assert.True((await Store.ReadAsync("Patient", id, null, default))!.IsDeleted);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenAStaleExpectedVersion_WhenCommitted_ThenNothingIsWritten()
    {
        SkipUnlessAvailable();
        var created = await Fhir.CreateAsync("Patient", Member(Unique("M")), null, default);
        var stale = new ResourceWrite("Patient", created.Resource.Id, 2, DateTimeOffset.UtcNow, created.Resource.Json.ToArray(), [], ExpectedCurrentVersion: 5);

        var e = await Assert.ThrowsAsync<VersionConflictException>(() => Store.CommitAsync([stale], default));
        Assert.Equal(1, e.ActualVersion);
        Assert.Equal(1, (await Store.ReadAsync("Patient", created.Resource.Id, null, default))!.Version);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenAChangeSetWhoseLastWriteFails_WhenCommitted_ThenTheFirstIsRolledBack()
    {
        SkipUnlessAvailable();
        var first = Unique("p");
        var body = Encoding.UTF8.GetBytes($$"""{"resourceType":"Patient","id":"{{first}}"}""");
        ResourceWrite[] changes =
        [
            new("Patient", first, 1, DateTimeOffset.UtcNow, body, [], 0),
            new("Patient", Unique("p"), 1, DateTimeOffset.UtcNow, body, [], ExpectedCurrentVersion: 3),
        ];
        await Assert.ThrowsAsync<VersionConflictException>(() => Store.CommitAsync(changes, default));
        Assert.Null(await Store.ReadAsync("Patient", first, null, default));
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenConcurrentConditionalCreates_WhenTheyRace_ThenExactlyOneResourceExists()
    {
        SkipUnlessAvailable();
        var memberId = Unique("M");
        var results = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 8).Select(_ => System.Threading.Tasks.Task.Run(() =>
            Fhir.CreateAsync("Patient", Member(memberId), $"identifier=https://payer.example/member-id|{memberId}", default))));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Resource.Id).Distinct());
        var (page, _, _) = await Fhir.SearchAsync("Patient", [KeyValuePair.Create("identifier", memberId)], false, default);
        Assert.Single(page.Resources);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenIndexedResources_WhenSearched_ThenEachParameterTypeMatches()
    {
        SkipUnlessAvailable();
        var patient = (await Fhir.CreateAsync("Patient", Member(Unique("M"), Unique("Zed")), null, default)).Resource;
        var claimId = (await Fhir.CreateAsync("Claim", new Claim
        {
            Status = FinancialResourceStatusCodes.Active,
            Use = ClaimUseCode.Preauthorization,
            Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
            Patient = new ResourceReference($"Patient/{patient.Id}"),
            Created = "2025-06-15",
            Provider = new ResourceReference("Organization/org-1"),
            Priority = new CodeableConcept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
            Insurance = [new Claim.InsuranceComponent { Sequence = 1, Focal = true, Coverage = new ResourceReference("Coverage/c1") }],
        }, null, default)).Resource.Id;

        async Task<IReadOnlyList<string>> Ids(string type, string query) =>
            (await Fhir.SearchAsync(type, ResourceInteractions.ParseQueryString(query), true, default)).Page.Resources.Select(r => r.Id).ToList();

        Assert.Equal([claimId], await Ids("Claim", $"patient=Patient/{patient.Id}&use=preauthorization"));
        Assert.Equal([claimId], await Ids("Claim", $"patient={patient.Id}&created=ge2025-06-01&created=lt2025-07"));
        Assert.Empty(await Ids("Claim", $"patient={patient.Id}&created=gt2025-06-15"));
        Assert.Empty(await Ids("Claim", $"patient={patient.Id}&use=claim"));
        Assert.Equal([patient.Id], await Ids("Patient", $"_id={patient.Id}&birthdate=1975-03"));
        var family = FhirJson.Parse<Patient>(patient.Json.Span).Name[0].Family!;
        Assert.Equal([patient.Id], await Ids("Patient", $"family={family[..6].ToLowerInvariant()}"));
        Assert.Equal([patient.Id], await Ids("Patient", $"family:exact={family}"));
        Assert.Empty(await Ids("Patient", $"family:exact={family.ToLowerInvariant()}"));
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenManyMatches_WhenPaged_ThenEveryResourceIsSeenOnceInOrder()
    {
        SkipUnlessAvailable();
        var family = Unique("Page");
        var ids = new List<string>();
        for (int i = 0; i < 7; i++)
        {
            ids.Add((await Fhir.CreateAsync("Patient", Member(Unique("M"), family), null, default)).Resource.Id);
        }
        var seen = new List<string>();
        SearchCursor? after = null;
        var registry = SearchParameterRegistry.Default;
        do
        {
            var query = new SearchQuery("Patient",
                [new SearchCriterion(registry.Find("Patient", "family")!, "exact", [new StringSearchValue(family)])], 3, After: after);
            var page = await Store.SearchAsync(query, default);
            seen.AddRange(page.Resources.Select(r => r.Id));
            after = page.Next;
        } while (after is not null);
        Assert.Equal(ids, seen);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenOneOwnersTasks_WhenPagedByTime_ThenEachComesOnceInOrder_AndAnUpdatedOneMovesLast()
    {
        SkipUnlessAvailable();
        var owner = Unique("O");
        Hl7.Fhir.Model.Task NewTask(string status) => new()
        {
            Status = status == "requested" ? Hl7.Fhir.Model.Task.TaskStatus.Requested : Hl7.Fhir.Model.Task.TaskStatus.Completed,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Owner = new ResourceReference { Identifier = new Identifier("urn:test:owners", owner) },
        };
        var ids = new List<string>();
        for (int i = 0; i < 7; i++)
        {
            ids.Add((await Fhir.CreateAsync("Task", NewTask(i == 3 ? "completed" : "requested"), null, default)).Resource.Id);
        }
        var changed = NewTask("requested");
        changed.Id = ids[1];
        await Fhir.UpdateAsync("Task", ids[1], changed, 1, default);
        var registry = SearchParameterRegistry.Default;
        async Task<List<string>> All(bool descending)
        {
            var seen = new List<string>();
            SearchCursor? after = null;
            do
            {
                var query = new SearchQuery("Task",
                [
                    new SearchCriterion(registry.Find("Task", "status")!, null, [new TokenSearchValue(null, "requested", false)]),
                    new SearchCriterion(registry.Find("Task", "owner")!, "identifier", [new TokenSearchValue("urn:test:owners", owner, true)]),
                ], 2, descending, after);
                var page = await Store.SearchAsync(query, default);
                seen.AddRange(page.Resources.Select(r => r.Id));
                after = page.Next;
            } while (after is not null);
            return seen;
        }

        var expected = new[] { ids[0], ids[2], ids[4], ids[5], ids[6], ids[1] };
        Assert.Equal(expected, await All(descending: false));
        Assert.Equal(expected.Reverse(), await All(descending: true));
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenTasksWithDueDates_WhenSortedByDueAndPaged_ThenTheyComeSoonestFirst_AndThoseWithoutOneLast()
    {
        SkipUnlessAvailable();
        var group = Unique("G");
        var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = new Dictionary<int, string>();
        // Created out of due order, so neither creation nor update order explains the result.
        foreach (var hours in new[] { 48, -1, 5, 72, 24 })
        {
            var task = new Hl7.Fhir.Model.Task
            {
                Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
                Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
                GroupIdentifier = new Identifier("urn:test:group", group),
                Restriction = hours < 0 ? null : new Hl7.Fhir.Model.Task.RestrictionComponent { Period = new Period { Start = start.ToString("o"), End = start.AddHours(hours).ToString("o") } },
            };
            ids[hours] = (await Fhir.CreateAsync("Task", task, null, default)).Resource.Id;
        }
        async Task<List<string>> All(bool descending)
        {
            var registry = SearchParameterRegistry.Default;
            var seen = new List<string>();
            SearchCursor? after = null;
            do
            {
                var query = new SearchQuery("Task",
                    [new SearchCriterion(registry.Find("Task", "group-identifier")!, null, [new TokenSearchValue("urn:test:group", group, true)])], 2,
                    descending, after, registry.Find("Task", "due"));
                var page = await Store.SearchAsync(query, default);
                seen.AddRange(page.Resources.Select(r => r.Id));
                after = page.Next;
            } while (after is not null);
            return seen;
        }

        Assert.Equal([ids[5], ids[24], ids[48], ids[72], ids[-1]], await All(descending: false));
        Assert.Equal([ids[72], ids[48], ids[24], ids[5], ids[-1]], await All(descending: true));
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenALargeResource_WhenStored_ThenItRoundTripsThroughCompression()
    {
        SkipUnlessAvailable();
        var created = await CreateLargePatientAsync();
        var read = await Store.ReadAsync("Patient", created.Resource.Id, null, default);
        Assert.Equal(created.Resource.Json.ToArray(), read!.Json.ToArray());
    }

    private Task<WriteResult> CreateLargePatientAsync()
    {
        var patient = Member(Unique("M"));
        patient.Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">" + string.Concat(Enumerable.Repeat("<p>repeated text</p>", 500)) + "</div>" };
        return Fhir.CreateAsync("Patient", patient, null, default);
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenABodyStoredBrotliCompressed_WhenRead_ThenItStillComesBack()
    {
        SkipUnlessAvailable();
        var created = await CreateLargePatientAsync();
        var json = created.Resource.Json.ToArray();
        await using (var connection = await Store.Dialect.OpenAsync(default))
        {
            var stored = await Dapper.SqlMapper.QuerySingleAsync<byte[]>(connection,
                "SELECT body FROM Resource WHERE resource_type = 'Patient' AND resource_id = @Id", new { created.Resource.Id });
            Assert.True(stored.Length < json.Length / 4, $"{stored.Length} of {json.Length} bytes stored");

            // Rows written before bodies were deflated hold Brotli (compression 1).
            var brotli = new byte[System.IO.Compression.BrotliEncoder.GetMaxCompressedLength(json.Length)];
            Assert.True(System.IO.Compression.BrotliEncoder.TryCompress(json, brotli, out var written, quality: 1, window: 22));
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "UPDATE Resource SET compression = 1, body = @Body WHERE resource_type = 'Patient' AND resource_id = @Id",
                new { Body = brotli[..written], created.Resource.Id });
        }

        var read = await Store.ReadAsync("Patient", created.Resource.Id, null, default);
        Assert.Equal(json, read!.Json.ToArray());
    }

    [SkippableFact]
    public async System.Threading.Tasks.Task GivenAMigratedDatabase_WhenMigratedAgain_ThenNothingIsApplied()
    {
        SkipUnlessAvailable();
        Assert.Empty(await new MigrationRunner(Store.Dialect).MigrateAsync(default));
    }
}
