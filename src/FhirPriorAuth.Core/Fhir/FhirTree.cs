using System.Collections.Concurrent;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>Walks every element of a resource, optionally with its FHIRPath location (<c>Claim.item[0].productOrService</c>).</summary>
/// <remarks>Iterative, not nested iterators: a request's tree has hundreds of elements and is walked on every submission.</remarks>
public static class FhirTree
{
    private static readonly ConcurrentDictionary<Type, string[]> ElementNames = new();

    /// <summary>
    /// The elements present on a node, as <see cref="Base.EnumerateElements"/> lists them: a <see cref="Base"/>, a list
    /// of them, or a primitive's value.
    /// </summary>
    /// <remarks>
    /// Asks for each element of the type by name instead: <c>EnumerateElements</c> allocates a dictionary and an
    /// iterator per level of the class hierarchy on every call, about 140 KB for one walk of a PAS request. A node
    /// holding elements the model does not define is enumerated the SDK's way.
    /// </remarks>
    public static ElementList Elements(Base node) => node.HasOverflow
        ? new(node, [], node.EnumerateElements().ToArray())
        : new(node, ElementNames.GetOrAdd(node.GetType(), static type =>
            ModelInfo.ModelInspector.FindOrImportClassMapping(type)?.PropertyMappings.Select(p => p.Name).ToArray() ?? []), []);

    /// <summary>The element <paramref name="name"/> of a node: a <see cref="Base"/>, a list of them, a primitive's value, or null.</summary>
    public static object? Child(Base node, string name)
    {
        try
        {
            return node.TryGetValue(name, out var value) ? value : null;
        }
        catch (KeyNotFoundException)
        {
            // An element the parser set aside as malformed, and ClearOverflow dropped since: the SDK still looks for it.
            return null;
        }
    }

    /// <summary>The elements present on a node; enumerating it allocates nothing.</summary>
    public readonly struct ElementList(Base node, string[] names, KeyValuePair<string, object>[] listed)
    {
        /// <summary>Starts the enumeration.</summary>
        public Enumerator GetEnumerator() => new(node, names, listed);

        /// <summary>Asks the node for each element of its type in turn.</summary>
        public struct Enumerator(Base node, string[] names, KeyValuePair<string, object>[] listed)
        {
            private int _next;

            /// <summary>The element's name and value.</summary>
            public KeyValuePair<string, object> Current { get; private set; }

            /// <summary>Moves to the next element present.</summary>
            public bool MoveNext()
            {
                if (listed.Length > 0)
                {
                    return _next < listed.Length && (Current = listed[_next++]).Key is not null;
                }
                while (_next < names.Length)
                {
                    var name = names[_next++];
                    if (Child(node, name) is { } value)
                    {
                        Current = new(name, value);
                        return true;
                    }
                }
                return false;
            }
        }
    }

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
            foreach (var (name, value) in Elements(current.Node))
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
            foreach (var (_, value) in Elements(current))
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
