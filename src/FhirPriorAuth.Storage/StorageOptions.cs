namespace FhirPriorAuth.Storage;

/// <summary>Configuration section <c>Storage</c>: which database and where.</summary>
public sealed class StorageOptions
{
    /// <summary>Provider name of the embedded store.</summary>
    public const string Sqlite = "Sqlite";

    /// <summary>Provider name of the scale-out store.</summary>
    public const string SqlServer = "SqlServer";

    /// <summary><c>Sqlite</c> (default) or <c>SqlServer</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>The ADO.NET connection string. For SQLite it may be left empty: a file in <see cref="DataDirectory"/> is used.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Where the SQLite file lives when no connection string is given.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Builds the dialect the options name.</summary>
    public SqlDialect CreateDialect()
    {
        if (string.Equals(Provider, SqlServer, StringComparison.OrdinalIgnoreCase))
        {
            return new SqlServerDialect(ConnectionString
                ?? throw new InvalidOperationException("Storage:ConnectionString is required for the SqlServer provider."));
        }
        if (!string.Equals(Provider, Sqlite, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Storage:Provider '{Provider}' is not known; use {Sqlite} or {SqlServer}.");
        }
        var connectionString = ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Directory.CreateDirectory(DataDirectory);
            connectionString = $"Data Source={Path.Combine(DataDirectory, "fhirpriorauth.db")};Pooling=True;Default Timeout=30";
        }
        return new SqliteDialect(connectionString);
    }
}
