using Dapper;
using Microsoft.Data.Sqlite;

namespace FhirPriorAuth.Storage.Tests;

/// <summary>The SQLite dialect binds a write's rows by their prefixed names, with the values Dapper would have bound.</summary>
public sealed class PrefixedParametersTests
{
    private enum Kind { Request = 0, Update = 7 }

    [Fact]
    public void ARow_IsBoundUnderPrefixedNames_WithNullsAsDbNullAndEnumsAsNumbers()
    {
        using var command = new SqliteCommand();
        new PrefixedParameters(new { Id = "a", Count = 3L, Missing = (string?)null, Kind = Kind.Update, Flag = true })
            .AddParameters(command, null!);

        var bound = command.Parameters.Cast<SqliteParameter>().ToDictionary(p => p.ParameterName, p => p.Value);
        Assert.Equal(["@Id", "@Count", "@Missing", "@Kind", "@Flag"], bound.Keys);
        Assert.Equal("a", bound["@Id"]);
        Assert.Equal(3L, bound["@Count"]);
        Assert.Equal(DBNull.Value, bound["@Missing"]);
        Assert.Equal(7, bound["@Kind"]);
        Assert.Equal(true, bound["@Flag"]);
    }

    [Fact]
    public void RowsOfAnInsert_AreStoredAsWithDappersOwnParameters()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        connection.Execute("CREATE TABLE T (id TEXT NOT NULL, n INTEGER NOT NULL, note TEXT NULL, kind INTEGER NOT NULL)");
        const string insert = "INSERT INTO T (id, n, note, kind) VALUES (@Id, @N, @Note, @Kind)";
        var rows = new[]
        {
            new { Id = "x", N = 1L, Note = (string?)"first", Kind = Kind.Request },
            new { Id = "y", N = 2L, Note = (string?)null, Kind = Kind.Update },
        };
        var dialect = new SqliteDialect("Data Source=:memory:");

        connection.Execute(insert, dialect.Rows(rows));
        connection.Execute(insert, dialect.Row(new { Id = "z", N = 3L, Note = (string?)"third", Kind = Kind.Update }));

        var stored = connection.Query<(string Id, long N, string? Note, long Kind)>("SELECT id, n, note, kind FROM T ORDER BY id").ToList();
        Assert.Equal([("x", 1L, "first", 0L), ("y", 2L, null, 7L), ("z", 3L, "third", 7L)], stored);
    }
}
