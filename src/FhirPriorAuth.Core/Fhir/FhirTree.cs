using System.Collections;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>Walks every element of a resource with its FHIRPath location (<c>Claim.item[0].productOrService</c>).</summary>
public static class FhirTree
{
    /// <summary>The node and all its descendants, depth first, each with its path below <paramref name="path"/>.</summary>
    public static IEnumerable<(Base Node, string Path)> Walk(Base node, string path)
    {
        yield return (node, path);
        foreach (var (name, value) in node.EnumerateElements())
        {
            if (value is Base child)
            {
                foreach (var descendant in Walk(child, $"{path}.{name}"))
                {
                    yield return descendant;
                }
            }
            else if (value is IEnumerable list and not string)
            {
                int i = 0;
                foreach (var element in list.OfType<Base>())
                {
                    foreach (var descendant in Walk(element, $"{path}.{name}[{i++}]"))
                    {
                        yield return descendant;
                    }
                }
            }
        }
    }
}
