using Dapper;
using Microsoft.Data.Sqlite;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>Many rows go into a table with few statements, each row stored as given.</summary>
public sealed class RowInsertTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(RowInsert.MaxRows)]
    [InlineData(RowInsert.MaxRows * 2 + 5)]
    public async Task EveryRowIsStored_WithNullsAndLongTexts_AcrossStatementsOfAtMostMaxRows(int count)
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(default);
        await connection.ExecuteAsync("CREATE TABLE T (n INTEGER NOT NULL, note TEXT NULL, flag INTEGER NOT NULL)");
        var longText = new string('x', 5000); // beyond the declared size of short strings: must not be cut
        var rows = Enumerable.Range(0, count)
            .Select(i => new object?[] { (long)i, i % 3 == 0 ? null : i % 3 == 1 ? $"note {i}" : longText, i % 2 == 0 })
            .ToList();
        await using var tx = await connection.BeginTransactionAsync(default);
        var insert = new RowInsert("T", "n", "note", "flag");
        await insert.ExecuteAsync(connection, tx, rows, default);
        await tx.CommitAsync(default);

        var stored = (await connection.QueryAsync<(long N, string? Note, bool Flag)>("SELECT n, note, flag FROM T ORDER BY n")).ToList();
        Assert.Equal(rows.Select(r => ((long)r[0]!, (string?)r[1], (bool)r[2]!)), stored);
    }

    [Fact]
    public void AStatement_NamesItsParametersRowByRow()
    {
        var insert = new RowInsert("T", "a", "b");
        Assert.Equal("INSERT INTO T (a, b) VALUES (@v0, @v1), (@v2, @v3)", insert.Sql(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => insert.Sql(RowInsert.MaxRows + 1));
    }
}
