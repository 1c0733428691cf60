using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Storage;

namespace FhirPriorAuth.Storage;

/// <summary>Authorizations and submissions over Dapper; a submission and its resources share one transaction.</summary>
public sealed class SqlAuthorizationStore(SqlResourceStore resources) : IAuthorizationStore
{
    /// <summary>How detail columns hold records as JSON: enums by name, nulls left out.</summary>
    internal static readonly JsonSerializerOptions DetailOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private SqlDialect Dialect => resources.Dialect;

    /// <inheritdoc />
    public async Task<byte[]?> FindResponseAsync(string idempotencyKey, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<BodyRow>(new CommandDefinition(Dialect.ReadSubmissionResponse,
            new { Hash = Hash(idempotencyKey) }, cancellationToken: ct));
        return row?.Decode();
    }

    /// <inheritdoc />
    public async Task<byte[]?> LatestResponseAsync(string number, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<BodyRow>(new CommandDefinition(Dialect.ReadLatestResponse, new { Number = number }, cancellationToken: ct));
        return row?.Decode();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecordedStep>> ReadStepsAsync(string number, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var steps = await connection.QueryAsync<StepRow>(new CommandDefinition(Dialect.ReadSteps, new { Number = number }, cancellationToken: ct));
        var decisions = (await connection.QueryAsync<DecisionRow>(new CommandDefinition(Dialect.ReadStepDecisions, new { Number = number }, cancellationToken: ct)))
            .ToLookup(d => d.SubmissionId);
        return steps.Select(s => new RecordedStep(s.Id, s.Kind, new DateTimeOffset(s.ReceivedAt, TimeSpan.Zero),
            decisions[s.Id].OrderBy(d => d.Sequence).Select(d => new RecordedDecision(d.Sequence, d.ReviewAction, d.PolicyId, d.PolicyVersion, d.RuleId, d.Reason)).ToList())).ToList();
    }

    /// <inheritdoc />
    public async Task<AuthorizationRecord?> ReadAsync(string number, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<DetailRow>(new CommandDefinition(Dialect.ReadAuthorization, new { Number = number }, cancellationToken: ct));
        return row?.ToRecord();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuthorizationRecord>> FindByTrackingIdAsync(string trackingId, CancellationToken ct)
    {
        await using var connection = await Dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<DetailRow>(new CommandDefinition(Dialect.FindAuthorizationsByTrackingId, new { Key = trackingId }, cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuthorizationRecord>> FindAsync(AuthorizationLookup lookup, int limit, CancellationToken ct)
    {
        if (lookup.Members.Count == 0)
        {
            return [];
        }
        var parameters = new DynamicParameters();
        parameters.Add("Limit", limit);
        for (int i = 0; i < lookup.Members.Count; i++) parameters.Add($"m{i}", lookup.Members[i].ToString());
        for (int i = 0; i < lookup.Providers.Count; i++) parameters.Add($"p{i}", lookup.Providers[i].ToString());
        await using var connection = await Dialect.OpenAsync(ct);
        var rows = await connection.QueryAsync<DetailRow>(new CommandDefinition(
            Dialect.FindAuthorizations(lookup.Members.Count, lookup.Providers.Count), parameters, cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <inheritdoc />
    public Task<bool> SaveAsync(SubmissionRecord submission, CancellationToken ct) =>
        resources.RetryTransientAsync(() => SaveOnceAsync(submission, ct), ct);

    /// <inheritdoc />
    public SubmissionRecord Prepare(SubmissionRecord submission) => submission with { Prepared = EncodedSubmission.Of(submission) };

    /// <summary>
    /// Saves many submissions that each open a new authorization in one transaction, all or nothing: for filling large
    /// stores (<c>seed-authorizations</c>), where one durable commit per submission would cap the rate.
    /// </summary>
    public async Task SaveManyAsync(IReadOnlyList<SubmissionRecord> submissions, CancellationToken ct)
    {
        if (submissions.Any(s => !s.IsNewAuthorization))
        {
            throw new ArgumentException("Only submissions that open a new authorization can be saved together.", nameof(submissions));
        }
        var encoded = submissions.Select(EncodedSubmission.Of).ToList();
        await resources.RetryTransientAsync(() => Dialect.WriteAsync(async (connection, tx) =>
        {
            foreach (var (submission, bodies) in submissions.Zip(encoded))
            {
                if (!await WriteAsync(connection, tx, submission, bodies, ct))
                {
                    throw new InvalidOperationException($"Submission {submission.Id} was already saved.");
                }
            }
            return true;
        }, ct), ct);
        foreach (var submission in submissions)
        {
            submission.Authorization.RowVersion++;
        }
    }

    private async Task<bool> SaveOnceAsync(SubmissionRecord submission, CancellationToken ct)
    {
        var encoded = submission.Prepared is EncodedSubmission prepared && prepared.IsFor(submission) ? prepared : EncodedSubmission.Of(submission);
        if (!await Dialect.WriteAsync((connection, tx) => WriteAsync(connection, tx, submission, encoded, ct), ct))
        {
            return false;
        }
        submission.Authorization.RowVersion++;
        return true;
    }

    /// <summary>
    /// Writes a submission with its authorization, keys, decisions, resources and work; false, having written nothing, when
    /// it was saved before (its first statement claims the idempotency key).
    /// </summary>
    private async Task<bool> WriteAsync(DbConnection connection, DbTransaction tx, SubmissionRecord submission, EncodedSubmission encoded, CancellationToken ct)
    {
        var authorization = submission.Authorization;
        // Found only once the request is proven, after the rest was prepared: cheap, and usually none.
        var warnings = submission.Warnings.Count == 0 ? null : string.Join("\n", submission.Warnings);
        var warningsHash = warnings is null ? null : Hash(warnings);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertSubmission, Dialect.Row(new
            {
                submission.Id,
                authorization.Number,
                encoded.Hash,
                BundleIdentifier = submission.BundleIdentifier?.ToString(),
                ReceivedAt = submission.ReceivedAt.UtcTicks,
                RequestBody = encoded.Request.Body,
                RequestCompression = encoded.Request.Compression,
                ResponseBody = encoded.Response.Body,
                ResponseCompression = encoded.Response.Compression,
                WarningsHash = warningsHash,
                submission.Kind,
            }), tx, cancellationToken: ct));
        }
        catch (DbException e) when (Dialect.IsUniqueViolation(e))
        {
            return false;
        }
        if (warnings is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertWarningSet, Dialect.Row(new { WarningsHash = warningsHash, Warnings = warnings }), tx, cancellationToken: ct));
        }

        var expected = authorization.RowVersion;
        var row = new
        {
            authorization.Number,
            PasVersion = authorization.PasVersion.Label(),
            authorization.Status,
            authorization.Expedited,
            authorization.ClaimResponseId,
            ReceivedAt = authorization.ReceivedAt.UtcTicks,
            UpdatedAt = authorization.UpdatedAt.UtcTicks,
            RowVersion = expected + 1,
            ExpectedRowVersion = expected,
            encoded.Detail,
        };
        if (submission.IsNewAuthorization)
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertAuthorization, Dialect.Row(row), tx, cancellationToken: ct));
            }
            catch (DbException e) when (Dialect.IsUniqueViolation(e))
            {
                // Another authorization has the number (rare: numbers are made from the time and a random part); the
                // caller decides again, with a new one.
                throw new VersionConflictException("PriorAuthorization", authorization.Number, expected, expected + 1);
            }
        }
        else if (await connection.ExecuteAsync(new CommandDefinition(Dialect.UpdateAuthorization, Dialect.Row(row), tx, cancellationToken: ct)) == 0)
        {
            throw new VersionConflictException("PriorAuthorization", authorization.Number, expected, -1);
        }

        await connection.ExecuteAsync(new CommandDefinition(Dialect.DeleteAuthorizationKeys, new { authorization.Number }, tx, cancellationToken: ct));
        var keys = authorization.Members.Select(k => ("member", k.ToString())).Concat(authorization.Providers.Select(k => ("provider", k.ToString())))
            .Concat(authorization.TrackingIds().Select(k => ("tracking", k)))
            .Distinct().Select(k => new { Kind = k.Item1, Key = k.Item2, authorization.Number }).ToList();
        if (keys.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertAuthorizationKey, Dialect.Rows(keys), tx, cancellationToken: ct));
        }
        var decisions = submission.Decisions.Select(d => new
        {
            SubmissionId = submission.Id,
            authorization.Number,
            d.Sequence,
            ReviewAction = d.X12Code,
            d.PolicyId,
            d.PolicyVersion,
            d.RuleId,
            d.Reason,
            DecidedAt = submission.ReceivedAt.UtcTicks,
        }).ToList();
        if (decisions.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(Dialect.InsertItemDecision, Dialect.Rows(decisions), tx, cancellationToken: ct));
        }
        for (var i = 0; i < submission.Resources.Count; i++)
        {
            await resources.WriteAsync(connection, tx, submission.Resources[i], encoded.Resources[i], ct);
        }
        await SqlWorkQueue.InsertAsync(Dialect, connection, tx, submission.WorkToSave, submission.ReceivedAt, ct);
        return true;
    }

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>
    /// What a submission's rows hold that takes CPU to make (deflated bodies, the detail JSON, the key's hash), made by the
    /// caller before the transaction: on SQLite the transaction runs on the one writer thread everyone waits for.
    /// </summary>
    /// <param name="From">The record it was made from; with <paramref name="RowVersion"/>, its authorization's row version then.</param>
    private sealed record EncodedSubmission(string Hash, EncodedBody Request, EncodedBody Response, string Detail,
        IReadOnlyList<EncodedBody> Resources, SubmissionRecord From, int RowVersion)
    {
        public static EncodedSubmission Of(SubmissionRecord submission) => new(
            SqlAuthorizationStore.Hash(submission.IdempotencyKey),
            BodyCodec.Encode(submission.RequestBundle),
            BodyCodec.EncodeResponse(submission.ResponseBundle, submission.ResponseEchoes),
            JsonSerializer.Serialize(submission.Authorization, DetailOptions),
            submission.Resources.Select(BodyCodec.Encode).ToList(),
            submission,
            submission.Authorization.RowVersion);

        /// <summary>Whether a record holds what this was made from: only its warnings, encoded at the save, may differ.</summary>
        public bool IsFor(SubmissionRecord submission) =>
            submission with { Warnings = From.Warnings, Prepared = From.Prepared } == From && RowVersion == submission.Authorization.RowVersion;
    }

    /// <summary>A stored response; with its request's body when it was stored without the request's resources it echoes.</summary>
    private sealed class BodyRow
    {
        public byte[] Body { get; set; } = [];
        public int Compression { get; set; }
        public byte[]? Request { get; set; }
        public int RequestCompression { get; set; }

        public byte[] Decode() => Compression == BodyCodec.DeflatedEchoCut
            ? StoredResponse.Restore(BodyCodec.Decode(Body, BodyCodec.Deflate), BodyCodec.Decode(Request ?? [], RequestCompression))
            : BodyCodec.Decode(Body, Compression);
    }

    private sealed class StepRow
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public long ReceivedAt { get; set; }
    }

    private sealed class DecisionRow
    {
        public string SubmissionId { get; set; } = "";
        public int Sequence { get; set; }
        public string ReviewAction { get; set; } = "";
        public string? PolicyId { get; set; }
        public string? PolicyVersion { get; set; }
        public string RuleId { get; set; } = "";
        public string Reason { get; set; } = "";
    }

    private sealed class DetailRow
    {
        public string Detail { get; set; } = "";
        public int RowVersion { get; set; }

        public AuthorizationRecord ToRecord()
        {
            var record = JsonSerializer.Deserialize<AuthorizationRecord>(Detail, DetailOptions)!;
            record.RowVersion = RowVersion;
            return record;
        }
    }
}
