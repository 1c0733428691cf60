using System.Text.RegularExpressions;
using FhirPriorAuth.Core.Fhir;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Search;

/// <summary>
/// A search parameter's expression when it is a member path (<c>Claim.item.encounter</c>) or a union of them, read
/// straight from the resource's objects. Nearly every parameter the server indexes is one; evaluating them as FHIRPath
/// wrapped every node visited and was the largest cost of preparing a write. Anything else (<c>where()</c>,
/// <c>resolve()</c>, <c>as</c>, choice elements) is left to FHIRPath.
/// </summary>
internal sealed partial class MemberPaths
{
    private readonly string[][] _paths;

    private MemberPaths(string[][] paths) => _paths = paths;

    /// <summary>
    /// The expression's paths for <paramref name="resourceType"/>, or null when it is not a union of member paths the
    /// model defines. Parts for other types (<c>Patient.name.family | Practitioner.name.family</c>) select nothing on
    /// this type, as in FHIRPath, and are dropped.
    /// </summary>
    public static MemberPaths? TryCompile(string resourceType, string expression)
    {
        var paths = new List<string[]>();
        foreach (var part in expression.Split('|', StringSplitOptions.TrimEntries))
        {
            if (!MemberPath().IsMatch(part))
            {
                return null;
            }
            // A path starts at the resource's type (Claim.patient) or, lower case, at the resource itself (meta.security).
            var steps = part.Split('.');
            if (char.IsUpper(steps[0][0]))
            {
                if (steps[0] != resourceType)
                {
                    continue;
                }
                steps = steps[1..];
            }
            if (steps.Length == 0 || !Defined(resourceType, steps))
            {
                return null;
            }
            paths.Add(steps);
        }
        return new MemberPaths([.. paths]);
    }

    /// <summary>Adds what the expression selects on <paramref name="resource"/>, in FHIRPath's order.</summary>
    public void Collect(Base resource, List<Base> into)
    {
        foreach (var path in _paths)
        {
            Collect(resource, path, 0, into);
        }
    }

    private static void Collect(Base node, string[] path, int step, List<Base> into)
    {
        if (step == path.Length)
        {
            into.Add(node);
            return;
        }
        switch (FhirTree.Child(node, path[step]))
        {
            case Base child:
                Collect(child, path, step + 1, into);
                break;
            case IEnumerable<Base> children:
                foreach (var child in children)
                {
                    if (child is not null)
                    {
                        Collect(child, path, step + 1, into);
                    }
                }
                break;
        }
    }

    /// <summary>Every step names an element of a concrete type, none a choice (whose FHIRPath name differs).</summary>
    private static bool Defined(string resourceType, string[] steps)
    {
        var mapping = ModelInfo.ModelInspector.FindClassMapping(resourceType);
        foreach (var step in steps)
        {
            var property = mapping?.FindMappedElementByName(step);
            if (property is null || property.Choice != ChoiceType.None)
            {
                return false;
            }
            mapping = ModelInfo.ModelInspector.FindOrImportClassMapping(property.ImplementingType);
            if (mapping is null || mapping.NativeType.IsAbstract)
            {
                return false;
            }
        }
        return true;
    }

    [GeneratedRegex(@"^[A-Za-z]+(\.[a-z][A-Za-z]*)*$")]
    private static partial Regex MemberPath();
}
