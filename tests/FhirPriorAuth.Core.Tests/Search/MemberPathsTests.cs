using System.Text;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.FollowUp;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Search;
using FhirPriorAuth.Core.Validation;
using FhirPriorAuth.Synthetic;
using FhirPriorAuth.Tests;
using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace FhirPriorAuth.Core.Tests.Search;

/// <summary>Member paths read from the objects index exactly what FHIRPath does.</summary>
public sealed class MemberPathsTests
{
    private static readonly string[] OwnedTypes =
        ["Patient", "Coverage", "Organization", "Practitioner", "PractitionerRole", "Claim", "ClaimResponse", "Task",
         "DocumentReference", "CommunicationRequest", "Subscription", "Provenance", "AuditEvent"];

    [Fact]
    public void Every_resource_of_the_corpus_gets_the_same_rows_as_from_fhirpath()
    {
        var native = new SearchIndexer(SearchParameterRegistry.Default);
        var fhirPath = new SearchIndexer(SearchParameterRegistry.Default, readMemberPaths: false);
        var corpus = Corpus().Where(r => OwnedTypes.Contains(r.TypeName)).ToList();

        // The corpus must reach every owned type the packages have examples of, and the server-built ones.
        foreach (var type in new[] { "Patient", "Coverage", "Organization", "Practitioner", "PractitionerRole", "Claim", "ClaimResponse", "Task", "DocumentReference", "AuditEvent", "CommunicationRequest" })
        {
            Assert.Contains(corpus, r => r.TypeName == type);
        }
        foreach (var resource in corpus)
        {
            Assert.Equal(fhirPath.Extract(resource), native.Extract(resource));
        }
    }

    [Fact]
    public void Every_owned_parameter_is_read_as_member_paths_and_other_expressions_are_left_to_fhirpath()
    {
        var compiled = OwnedTypes.SelectMany(SearchParameterRegistry.Default.For).Where(p => !p.IsResourceColumn)
            .Select(p => (Parameter: p, Paths: MemberPaths.TryCompile(p.ResourceType, p.Expression))).ToList();
        Assert.All(compiled, c => Assert.NotNull(c.Paths));

        Assert.NotNull(MemberPaths.TryCompile("Claim", "Claim.item.encounter"));
        Assert.NotNull(MemberPaths.TryCompile("Patient", "Patient.name.family | Practitioner.name.family"));
        Assert.NotNull(MemberPaths.TryCompile("Claim", "meta.security"));
        Assert.Null(MemberPaths.TryCompile("DocumentReference", "DocumentReference.subject.where(resolve() is Patient)"));
        Assert.Null(MemberPaths.TryCompile("Observation", "Observation.value"));
        Assert.Null(MemberPaths.TryCompile("Claim", "Claim.noSuchElement"));
        Assert.Null(MemberPaths.TryCompile("Bundle", "Bundle.entry.resource"));
    }

    private static IEnumerable<Resource> Corpus()
    {
        var locator = new FhirPackageLocator([RepoPaths.FhirPackages]);
        var packages = PasProfiles.RequiredPackages(PasVersion.V2_2_1).Concat(PasProfiles.RequiredPackages(PasVersion.V2_0_1)).Distinct();
        var json = packages.SelectMany(id => locator.Load(id).Examples.Values)
            .Concat(Directory.EnumerateFiles(RepoPaths.Conformance, "*.json", SearchOption.AllDirectories).Select(File.ReadAllText))
            .Concat(Directory.EnumerateFiles(RepoPaths.Examples, "*.json", SearchOption.AllDirectories).Select(File.ReadAllText));
        var generator = new PasRequestGenerator(File.ReadAllText(Path.Combine(RepoPaths.Examples, "inferno", "2.2.1", "approval_pa_submit_request_payload.json")), seed: 5);
        json = json.Concat(Enumerable.Range(0, 20).Select(_ => generator.Next()));

        foreach (var text in json)
        {
            Resource parsed;
            try
            {
                parsed = FhirJson.ParseIgnoringUnknownElements(Encoding.UTF8.GetBytes(text));
            }
            catch (Exception)
            {
                continue; // not a resource (CDS Hooks requests, policies), or not R4
            }
            foreach (var resource in WithEntries(parsed))
            {
                yield return resource;
            }
        }
        yield return FollowUpAudit.Event("submit", "A submission.", true,
            [new ResourceReference { Identifier = new Identifier(FollowUpAudit.AuthorizationSystem, "A-1") }], DateTimeOffset.UtcNow);
        yield return new Task
        {
            Meta = new Meta { Security = [new Coding("urn:fhirpriorauth:access", "org|1234567893")] },
            Status = Task.TaskStatus.Requested,
            Intent = Task.TaskIntent.Order,
            For = new ResourceReference("Patient/p1"),
            Owner = new ResourceReference { Identifier = new Identifier("http://hl7.org/fhir/sid/us-npi", "1234567893") },
            Restriction = new Task.RestrictionComponent { Period = new Period { End = "2026-11-30T10:00:00Z" } },
            BusinessStatus = new CodeableConcept("urn:example", "waiting"),
        };
    }

    private static IEnumerable<Resource> WithEntries(Resource resource)
    {
        yield return resource;
        if (resource is Bundle bundle)
        {
            foreach (var entry in bundle.Entry.Where(e => e.Resource is not null).SelectMany(e => WithEntries(e.Resource!)))
            {
                yield return entry;
            }
        }
        if (resource is Parameters parameters)
        {
            foreach (var part in parameters.Parameter.Where(p => p.Resource is not null).SelectMany(p => WithEntries(p.Resource!)))
            {
                yield return part;
            }
        }
    }
}
