using FhirPriorAuth.Core.Validation;

namespace FhirPriorAuth.Server.Validation;

/// <summary>Configuration section <c>Validation</c>.</summary>
public sealed class ValidationOptions
{
    /// <summary>
    /// Directories searched in order for the IG packages (<c>name-version.tgz</c> or the package-cache layout
    /// <c>name#version/package</c>). Relative paths are tried against the content root and each of its parents.
    /// </summary>
    public List<string> PackageDirectories { get; set; } = [];

    /// <summary>The defaults: the standard FHIR package cache, then the team's shared package folder beside the checkout.</summary>
    public static readonly string[] DefaultPackageDirectories = ["~/.fhir/packages", "../shared/fhir-packages"];

    /// <summary>
    /// Where the index of the core FHIR definitions is kept between starts (about 9 MB; building it is about a second of a
    /// start). Default: <c>fhirpriorauth</c> in the temporary directory. A container whose temporary directory starts empty
    /// points it at a volume, or at a directory filled while its image was built.
    /// </summary>
    public string? CacheDirectory { get; set; }
}

/// <summary>Registers PAS profile validation over the configured IG packages.</summary>
public static class ValidationSetup
{
    /// <summary>
    /// Adds the validator (a fast conformance proof, with Firely deciding whatever it cannot prove); a missing package
    /// stops the start with a message that says how to install it.
    /// </summary>
    public static IServiceCollection AddPasValidation(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var options = configuration.GetSection("Validation").Get<ValidationOptions>() ?? new ValidationOptions();
        var configured = options.PackageDirectories.Count > 0 ? options.PackageDirectories : [.. ValidationOptions.DefaultPackageDirectories];
        var locator = new FhirPackageLocator(configured.Select(d => Resolve(d, environment.ContentRootPath)).ToList());
        var full = new FirelyPasValidator(locator, options.CacheDirectory is { } cache ? Resolve(cache, environment.ContentRootPath) : null);
        // Reading the packages overlaps with the rest of the host's start; StartupWork then compiles what requests meet.
        full.StartLoading();
        var validator = new PasValidator(full);
        services.AddSingleton(full);
        services.AddSingleton(validator);
        services.AddSingleton<IPasValidator>(validator);
        return services;
    }

    private static string Resolve(string directory, string contentRoot)
    {
        if (directory.StartsWith('~'))
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), directory.TrimStart('~', '/'));
        }
        if (Path.IsPathRooted(directory))
        {
            return directory;
        }
        for (var root = new DirectoryInfo(contentRoot); root is not null; root = root.Parent)
        {
            var candidate = Path.GetFullPath(Path.Combine(root.FullName, directory));
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return Path.GetFullPath(Path.Combine(contentRoot, directory));
    }
}
