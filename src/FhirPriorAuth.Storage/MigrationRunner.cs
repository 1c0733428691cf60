using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;

namespace FhirPriorAuth.Storage;

/// <summary>
/// Applies the numbered scripts under <c>Migrations/{provider}/NNNN_name.sql</c> that the SchemaVersion table does not
/// list yet, each in its own transaction. Safe to run from several replicas at once.
/// </summary>
public sealed partial class MigrationRunner(SqlDialect dialect)
{
    /// <summary>A migration script.</summary>
    public sealed record Migration(int Version, string Name, string Script);

    /// <summary>All scripts of a provider, in order.</summary>
    public static IReadOnlyList<Migration> Scripts(string provider)
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = $"Migrations/{provider}/";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => (Name: n, Match: FileName().Match(n[prefix.Length..])))
            .Where(x => x.Match.Success)
            .Select(x => new Migration(int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Match.Groups[2].Value, Read(assembly, x.Name)))
            .OrderBy(m => m.Version)
            .ToList();
    }

    /// <summary>Splits a T-SQL script into the batches separated by <c>GO</c> lines (SQLite scripts have none).</summary>
    public static IEnumerable<string> Batches(string script) =>
        GoSeparator().Split(script).Select(b => b.Trim()).Where(b => b.Length > 0);

    /// <summary>Applies pending migrations, then writes index rows a stop left pending; returns the versions applied.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken ct)
    {
        await using var connection = await dialect.OpenAsync(ct);
        var sqlServer = dialect as SqlServerDialect;
        if (sqlServer is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(sqlServer.AcquireMigrationLock, cancellationToken: ct));
        }
        else
        {
            // WAL lets readers proceed during writes; the setting is stored in the database file.
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: ct));
        }
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.CreateSchemaVersionTable, cancellationToken: ct));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition(dialect.ReadSchemaVersions, cancellationToken: ct))).ToHashSet();
            var done = new List<int>();
            foreach (var migration in Scripts(dialect.Name).Where(m => !applied.Contains(m.Version)))
            {
                await ApplyAsync(connection, migration, ct);
                done.Add(migration.Version);
            }
            await dialect.CatchUpIndexAsync(ct);
            return done;
        }
        finally
        {
            if (sqlServer is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition(sqlServer.ReleaseMigrationLock, cancellationToken: CancellationToken.None));
            }
        }
    }

    private async Task ApplyAsync(DbConnection connection, Migration migration, CancellationToken ct)
    {
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var batch in Batches(migration.Script))
        {
            await connection.ExecuteAsync(new CommandDefinition(batch, transaction: tx, cancellationToken: ct));
        }
        await connection.ExecuteAsync(new CommandDefinition(dialect.InsertSchemaVersion,
            new { migration.Version, migration.Name, AppliedAt = DateTimeOffset.UtcNow.ToString("O") }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(\d{4})_([A-Za-z0-9_]+)\.sql$")]
    private static partial Regex FileName();

    [GeneratedRegex(@"^\s*GO\s*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex GoSeparator();
}
