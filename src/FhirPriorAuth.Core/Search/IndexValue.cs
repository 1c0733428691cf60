namespace FhirPriorAuth.Core.Search;

/// <summary>One row of a search index, extracted from a resource at write time so that search never reads JSON.</summary>
public abstract record IndexValue(string Param);

/// <summary>A coded value: Coding, Identifier (system|value), code, boolean, uri.</summary>
public sealed record TokenIndexValue(string Param, string? System, string Code) : IndexValue(Param);

/// <summary>A text value; <see cref="Normalized"/> is lower-cased without diacritics, for FHIR's default starts-with match.</summary>
public sealed record StringIndexValue(string Param, string Value, string Normalized) : IndexValue(Param);

/// <summary>A reference: <see cref="TargetType"/> is null when the reference is not of the form <c>Type/id</c> (e.g. <c>urn:uuid:</c>).</summary>
public sealed record ReferenceIndexValue(string Param, string? TargetType, string TargetId) : IndexValue(Param);

/// <summary>A date range in UTC ticks, end exclusive.</summary>
public sealed record DateIndexValue(string Param, long StartTicks, long EndTicks) : IndexValue(Param);
