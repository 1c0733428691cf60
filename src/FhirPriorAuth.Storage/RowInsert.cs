using System.Data;
using System.Data.Common;
using System.Text;
using Dapper;

namespace FhirPriorAuth.Storage;

/// <summary>
/// Writes many rows of one table with one <c>INSERT … VALUES (…), (…)</c>. A submission writes about a hundred index,
/// key and decision rows on SQLite's one writer thread, and one statement per row costs a round of binding, stepping and
/// resetting through the driver and Dapper for each (docs/performance.md, "Tenth pass").
/// </summary>
/// <param name="table">The table.</param>
/// <param name="columns">Its columns, in the order each row's values come.</param>
internal sealed class RowInsert(string table, params string[] columns)
{
    /// <summary>Rows per statement: far below SQL Server's 1,000 rows and 2,100 parameters, and SQLite's 32,766.</summary>
    public const int MaxRows = 64;

    private readonly string?[] _statements = new string?[MaxRows + 1];

    /// <summary>The statement for <paramref name="rows"/> rows; parameters are <c>@v0</c>, <c>@v1</c>, … row by row.</summary>
    public string Sql(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, MaxRows);
        return _statements[rows] ??= Build(rows);
    }

    /// <summary>Inserts the rows (each with a value per column), in statements of at most <see cref="MaxRows"/>.</summary>
    public async Task ExecuteAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<object?[]> rows, CancellationToken ct)
    {
        for (var start = 0; start < rows.Count; start += MaxRows)
        {
            var count = Math.Min(MaxRows, rows.Count - start);
            await connection.ExecuteAsync(new CommandDefinition(Sql(count), new Values(rows, start, count), tx, cancellationToken: ct));
        }
    }

    private string Build(int rows)
    {
        var sql = new StringBuilder($"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ");
        for (int row = 0, parameter = 0; row < rows; row++)
        {
            sql.Append(row == 0 ? "(" : ", (");
            for (var column = 0; column < columns.Length; column++, parameter++)
            {
                sql.Append(column == 0 ? "@v" : ", @v").Append(parameter);
            }
            sql.Append(')');
        }
        return sql.ToString();
    }

    private sealed class Values(IReadOnlyList<object?[]> rows, int start, int count) : SqlMapper.IDynamicParameters
    {
        public void AddParameters(IDbCommand command, SqlMapper.Identity identity)
        {
            var name = 0;
            for (var row = start; row < start + count; row++)
            {
                foreach (var value in rows[row])
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = "@v" + name++;
                    parameter.Value = value ?? DBNull.Value;
                    if (value is string text)
                    {
                        // As Dapper does: one declared size for short strings, so SQL Server reuses the statement's plan.
                        parameter.DbType = DbType.String;
                        parameter.Size = text.Length <= 4000 ? 4000 : -1;
                    }
                    command.Parameters.Add(parameter);
                }
            }
        }
    }
}
