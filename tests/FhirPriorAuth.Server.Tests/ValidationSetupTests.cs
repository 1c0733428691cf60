using FhirPriorAuth.Server.Validation;
using FhirPriorAuth.Tests;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace FhirPriorAuth.Server.Tests;

/// <summary>The validator's configuration: where the core definitions' index is kept between starts.</summary>
public sealed class ValidationSetupTests
{
    [Fact]
    public async Task GivenACacheDirectory_WhenTheValidatorLoads_ThenTheCoreIndexIsKeptThere()
    {
        var cache = Path.Combine(Path.GetTempPath(), "fhirpa-cache-" + Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Validation:PackageDirectories:0"] = RepoPaths.FhirPackages,
            ["Validation:CacheDirectory"] = cache,
        }).Build();
        try
        {
            // Adding the validator starts loading the packages and the core definitions in the background.
            new ServiceCollection().AddPasValidation(configuration, new Environment());
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(Directory.Exists(cache) && Directory.GetFiles(cache, "core-index-*.bin").Length == 1))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no core index in {cache}");
                await Task.Delay(100);
            }
        }
        finally
        {
            // The index is renamed into place as the writer's last step, so nothing writes here any more.
            if (Directory.Exists(cache))
            {
                Directory.Delete(cache, recursive: true);
            }
        }
    }

    private sealed class Environment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "FhirPriorAuth.Server.Tests";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
