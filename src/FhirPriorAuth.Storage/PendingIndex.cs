using System.Data.Common;
using System.Text;
using Dapper;
using FhirPriorAuth.Core.Search;

namespace FhirPriorAuth.Storage;

/// <summary>
/// SQLite's search index after the commit (ADR 0015). A version's index rows land all over the index B-trees, about
/// two thirds of the pages a submission's commit wrote; so the transaction a caller waits for stores them as one blob
/// per version (the table's last page), and the writer's next transaction moves them into the index tables. Searches
/// wait for that move (<see cref="GroupCommit.FollowedUp"/>); a stop in between leaves the blobs, moved at the next start.
/// </summary>
internal static class PendingIndex
{
    public const string Insert =
        "INSERT INTO PendingIndex (surrogate_id, resource_type, last_updated, index_rows) VALUES (@SurrogateId, @ResourceType, @LastUpdated, @Rows)";

    /// <summary>Run with a version's retirement: rows not moved yet must not reach the index after it.</summary>
    public const string Forget = "DELETE FROM PendingIndex WHERE surrogate_id = @SurrogateId;";

    private const string Read =
        "SELECT surrogate_id AS SurrogateId, resource_type AS ResourceType, last_updated AS LastUpdated, index_rows AS IndexRows FROM PendingIndex";

    private const string Moved = "DELETE FROM PendingIndex WHERE surrogate_id <= @Last";

    /// <summary>Moves every pending version's rows into the index tables, inside the writer's transaction.</summary>
    public static async Task MoveAsync(SqlDialect dialect, DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
        var pending = (await connection.QueryAsync<PendingRow>(new CommandDefinition(Read, transaction: tx, cancellationToken: ct))).ToList();
        if (pending.Count == 0)
        {
            return;
        }
        foreach (var row in pending)
        {
            await dialect.InsertIndexRowsAsync(connection, tx, row.SurrogateId, row.ResourceType, row.LastUpdated, Decode(row.IndexRows), ct);
        }
        await connection.ExecuteAsync(new CommandDefinition(Moved, new { Last = pending.Max(r => r.SurrogateId) }, tx, cancellationToken: ct));
    }

    private const byte Token = 1, String = 2, Reference = 3, Date = 4;

    public static byte[] Encode(IReadOnlyList<IndexValue> rows)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(rows.Count);
            foreach (var row in rows)
            {
                switch (row)
                {
                    case TokenIndexValue t:
                        writer.Write(Token); writer.Write(t.Param); WriteNullable(writer, t.System); writer.Write(t.Code);
                        break;
                    case StringIndexValue s:
                        writer.Write(String); writer.Write(s.Param); writer.Write(s.Value); writer.Write(s.Normalized);
                        break;
                    case ReferenceIndexValue r:
                        writer.Write(Reference); writer.Write(r.Param); WriteNullable(writer, r.TargetType); writer.Write(r.TargetId);
                        break;
                    case DateIndexValue d:
                        writer.Write(Date); writer.Write(d.Param); writer.Write(d.StartTicks); writer.Write(d.EndTicks);
                        break;
                    default:
                        throw new ArgumentException($"No index table holds {row.GetType().Name}.", nameof(rows));
                }
            }
        }
        return buffer.ToArray();
    }

    public static List<IndexValue> Decode(byte[] blob)
    {
        using var reader = new BinaryReader(new MemoryStream(blob), Encoding.UTF8);
        var rows = new List<IndexValue>(reader.ReadInt32());
        for (var i = rows.Capacity; i > 0; i--)
        {
            var kind = reader.ReadByte();
            var param = reader.ReadString();
            rows.Add(kind switch
            {
                Token => new TokenIndexValue(param, ReadNullable(reader), reader.ReadString()),
                String => new StringIndexValue(param, reader.ReadString(), reader.ReadString()),
                Reference => new ReferenceIndexValue(param, ReadNullable(reader), reader.ReadString()),
                Date => new DateIndexValue(param, reader.ReadInt64(), reader.ReadInt64()),
                _ => throw new InvalidDataException($"Unknown pending index row kind {kind}."),
            });
        }
        return rows;
    }

    private static void WriteNullable(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static string? ReadNullable(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private sealed class PendingRow
    {
        public long SurrogateId { get; set; }
        public string ResourceType { get; set; } = "";
        public long LastUpdated { get; set; }
        public byte[] IndexRows { get; set; } = [];
    }
}
