namespace FhirPriorAuth.Tests;

/// <summary>Paths in the checkout and beside it (the shared IG packages and conformance inputs).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string DemoPolicies => Path.Combine(Root, "examples", "policies");

    public static string Conformance => Path.GetFullPath(Path.Combine(Root, "..", "shared", "conformance"));

    public static string InfernoPas(string version) => Path.Combine(Conformance, "inferno-pas", "v" + version);

    public static string FhirPackages => Path.GetFullPath(Path.Combine(Root, "..", "shared", "fhir-packages"));

    public static string Examples => Path.Combine(Root, "examples");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FhirPriorAuth.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("FhirPriorAuth.sln not found above " + AppContext.BaseDirectory);
    }
}
