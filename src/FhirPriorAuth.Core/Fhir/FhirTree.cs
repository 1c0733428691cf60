using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>Walks every element of a resource, optionally with its FHIRPath location (<c>Claim.item[0].productOrService</c>).</summary>
/// <remarks>Iterative, not nested iterators: a request's tree has hundreds of elements and is walked on every submission.</remarks>
public static class FhirTree
{
    /// <summary>The node and all its descendants, depth first, each with its path below <paramref name="path"/>.</summary>
    public static IEnumerable<(Base Node, string Path)> Walk(Base node, string path)
    {
        var pending = new Stack<(Base Node, string Path)>();
        pending.Push((node, path));
        var children = new List<(Base, string)>();
        while (pending.TryPop(out var current))
        {
            yield return current;
            children.Clear();
            foreach (var (name, value) in current.Node.EnumerateElements())
            {
                if (value is Base child)
                {
                    children.Add((child, $"{current.Path}.{name}"));
                }
                else if (value is IReadOnlyList<Base> list)
                {
                    for (var i = 0; i < list.Count; i++)
                    {
                        children.Add((list[i], $"{current.Path}.{name}[{i}]"));
                    }
                }
            }
            for (var i = children.Count - 1; i >= 0; i--)
            {
                pending.Push(children[i]);
            }
        }
    }

    /// <summary>The path of <paramref name="target"/> below <paramref name="node"/>, or null when it is not there.</summary>
    /// <remarks>For messages: walks again, with paths, so that the walks that find nothing to report build none.</remarks>
    public static string? PathOf(Base node, string path, Base target)
    {
        foreach (var (candidate, at) in Walk(node, path))
        {
            if (ReferenceEquals(candidate, target))
            {
                return at;
            }
        }
        return null;
    }

    /// <summary>The node and all its descendants, depth first, without paths (cheaper where they are not needed).</summary>
    public static IEnumerable<Base> Nodes(Base node)
    {
        var pending = new Stack<Base>();
        pending.Push(node);
        var children = new List<Base>();
        while (pending.TryPop(out var current))
        {
            yield return current;
            children.Clear();
            foreach (var (_, value) in current.EnumerateElements())
            {
                if (value is Base child)
                {
                    children.Add(child);
                }
                else if (value is IReadOnlyList<Base> list)
                {
                    children.AddRange(list);
                }
            }
            for (var i = children.Count - 1; i >= 0; i--)
            {
                pending.Push(children[i]);
            }
        }
    }
}
