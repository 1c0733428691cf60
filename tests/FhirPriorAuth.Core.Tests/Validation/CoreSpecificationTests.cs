using FhirPriorAuth.Core.Validation;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Validation;

/// <summary>The core definitions' index is kept between processes, and a damaged or unwritable cache costs only time.</summary>
public sealed class CoreSpecificationTests : IDisposable
{
    private const string PatientUrl = "http://hl7.org/fhir/StructureDefinition/Patient";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fhirpa-core-" + Guid.NewGuid().ToString("N"));
    private readonly string _zip;

    public CoreSpecificationTests()
    {
        Directory.CreateDirectory(_directory);
        _zip = Path.Combine(_directory, "specification.zip");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "specification.zip"), _zip);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Cache => Path.Combine(_directory, "cache");

    [Fact]
    public async System.Threading.Tasks.Task ASecondProcess_ReadsTheIndexTheFirstSaved()
    {
        var first = new CoreSpecification(_zip, Cache);
        var patient = (StructureDefinition)(await first.TryResolveByCanonicalUriAsync(PatientUrl)).Value!;
        Assert.Single(Directory.GetFiles(Cache));

        // The same file (length and time) whose content can no longer be read: only the saved index can answer.
        var written = File.GetLastWriteTimeUtc(_zip);
        File.WriteAllBytes(_zip, new byte[new FileInfo(_zip).Length]);
        File.SetLastWriteTimeUtc(_zip, written);
        var second = new CoreSpecification(_zip, Cache);

        Assert.Equal(first.Count, second.Count);
        Assert.True(patient.IsExactly((await second.TryResolveByCanonicalUriAsync(PatientUrl)).Value));
    }

    [Fact]
    public void ADamagedIndex_IsBuiltAgainFromTheZip()
    {
        var first = new CoreSpecification(_zip, Cache);
        var count = first.Count;
        var saved = Directory.GetFiles(Cache).Single();
        using (var file = File.OpenWrite(saved))
        {
            file.SetLength(file.Length / 2);
        }

        Assert.Equal(count, new CoreSpecification(_zip, Cache).Count);
        Assert.True(new FileInfo(saved).Length > 1_000_000); // and saved whole again
    }

    [Fact]
    public void ACacheDirectoryThatCannotBeWritten_OnlyMeansTheIndexIsBuiltEachTime()
    {
        var blocked = Path.Combine(_directory, "a-file");
        File.WriteAllText(blocked, "not a directory");

        Assert.Equal(new CoreSpecification(_zip, null).Count, new CoreSpecification(_zip, Path.Combine(blocked, "cache")).Count);
    }
}
