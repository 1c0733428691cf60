using System.Collections.Concurrent;
using System.Security.Claims;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Server.Security;

/// <summary>What the server knows about the caller of the current request.</summary>
/// <param name="Caller">Who is calling.</param>
/// <param name="Scope">What it may see.</param>
/// <param name="Registration">Its client registration, if it has one.</param>
public sealed record RequestAccess(Caller Caller, AccessScope Scope, ClientRegistration? Registration);

/// <summary>
/// Turns a validated token into a <see cref="RequestAccess"/>: claims first, then the client's registration (its
/// organization and roles), then, for a patient-context token, the member identifiers of that Patient.
/// </summary>
public sealed class Callers(SecurityOptions options, IClientRegistry registry, ResourceInteractions fhir, TimeProvider clock)
{
    // Registrations change rarely; a short cache keeps a lookup off every request while a new client works within a minute.
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (ClientRegistration? Registration, DateTimeOffset At)> _registrations = new();

    /// <summary>Resolves the caller of a validated token.</summary>
    public async Task<RequestAccess> ResolveAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        string? First(string type) => user.FindFirst(type)?.Value;
        var clientId = First("client_id") ?? First("azp") ?? First("sub") ?? "unknown";
        var registration = await RegistrationAsync(clientId, ct);

        var organization = user.FindAll(options.OrganizationClaim).Select(c => ParseIdentifier(c.Value)).OfType<IdentifierKey>()
            .Concat(registration?.Organization ?? []).Distinct().ToList();
        var roles = user.FindAll(options.RoleClaim).Select(c => c.Value).Concat(registration?.Roles ?? [])
            .ToHashSet(StringComparer.Ordinal);
        var scopes = GrantedScopes.Parse(string.Join(' ', user.FindAll("scope").Concat(user.FindAll("scp")).Select(c => c.Value)));
        var caller = new Caller(clientId, First("sub"), organization, First("patient"), roles, scopes);
        return new RequestAccess(caller, AccessScope.For(caller, await PatientIdentifiersAsync(caller.Patient, ct)), registration);
    }

    /// <summary>A client's registration (cached briefly), or null.</summary>
    public async Task<ClientRegistration?> RegistrationAsync(string clientId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_registrations.TryGetValue(clientId, out var cached) && now - cached.At < CacheTime)
        {
            return cached.Registration;
        }
        var registration = await registry.FindAsync(clientId, ct);
        _registrations[clientId] = (registration, now);
        return registration;
    }

    /// <summary>The member identifiers of the token's Patient; none when it is not on this server.</summary>
    private async Task<IReadOnlyList<IdentifierKey>> PatientIdentifiersAsync(string? patientId, CancellationToken ct)
    {
        if (patientId is null)
        {
            return [];
        }
        try
        {
            var patient = FhirJson.Parse<Patient>((await fhir.ReadAsync("Patient", patientId, ct)).Json.Span);
            return patient.Identifier.Where(i => i.Value is not null).Select(i => new IdentifierKey(i.System, i.Value!)).ToList();
        }
        catch (FhirException)
        {
            return [];
        }
    }

    /// <summary>Reads <c>system|value</c> (or a bare value) as an identifier.</summary>
    public static IdentifierKey? ParseIdentifier(string text)
    {
        var bar = text.LastIndexOf('|');
        var value = bar < 0 ? text : text[(bar + 1)..];
        return value.Length == 0 ? null : new IdentifierKey(bar <= 0 ? null : text[..bar], value);
    }
}
