using System.Data.Common;
using Dapper;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Storage.Tests;

public sealed class SqliteDialectTests(SqliteDatabase database) : IClassFixture<SqliteDatabase>
{
    [Fact]
    public async Task OnlyATakenKey_IsAUniqueViolation_NotAMissingValue()
    {
        var dialect = database.Store.Dialect;
        await using var connection = await dialect.OpenAsync(default);
        await connection.ExecuteAsync("CREATE TEMP TABLE Keyed (id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE)");
        await connection.ExecuteAsync("INSERT INTO Keyed VALUES ('a', 'x')");

        var takenKey = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('a', 'y')"));
        var takenValue = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('b', 'x')"));
        var missing = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO Keyed VALUES ('c', NULL)"));

        Assert.True(dialect.IsUniqueViolation(takenKey));
        Assert.True(dialect.IsUniqueViolation(takenValue));
        Assert.False(dialect.IsUniqueViolation(missing));
    }
}
