using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Fhir;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Authentication;

namespace FhirPriorAuth.Server.Security;

/// <summary>Endpoint metadata: the interaction or operation an endpoint performs. Endpoints without it are public.</summary>
/// <param name="Action">The interaction or operation.</param>
/// <param name="ResourceType">Its resource type, when the route does not carry one in <c>{type}</c>.</param>
public sealed record FhirActionMetadata(FhirAction Action, string? ResourceType = null);

/// <summary>Helpers for endpoints.</summary>
public static class EndpointAccess
{
    /// <summary>Marks an endpoint as performing <paramref name="action"/>, so it needs a token with the matching scope.</summary>
    public static TBuilder Performs<TBuilder>(this TBuilder builder, FhirAction action, string? resourceType = null)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new FhirActionMetadata(action, resourceType));

    /// <summary>The current request's caller and scope (set by <see cref="AccessMiddleware"/>).</summary>
    public static RequestAccess Access(this HttpContext http) =>
        http.Features.Get<RequestAccess>() ?? throw new InvalidOperationException("The endpoint has no FhirActionMetadata.");
}

/// <summary>
/// Authenticates every FHIR endpoint's request (401 without a valid token), resolves the caller, and checks the
/// scopes and roles its interaction needs (403), before the endpoint runs.
/// </summary>
public sealed class AccessMiddleware(RequestDelegate next, SecurityOptions options, Callers callers)
{
    /// <summary>Runs the checks.</summary>
    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<FhirActionMetadata>() is not { } action)
        {
            await next(http);
            return;
        }
        if (options.Mode == SecurityOptions.NoneMode)
        {
            http.Features.Set(new RequestAccess(Caller.Anonymous, AccessScope.All, null));
            await next(http);
            return;
        }
        var result = await http.AuthenticateAsync(BearerTokens.Scheme);
        if (!result.Succeeded)
        {
            await http.ChallengeAsync(BearerTokens.Scheme);
            return;
        }
        http.User = result.Principal;
        var access = await callers.ResolveAsync(result.Principal, http.RequestAborted);
        http.Features.Set(access);

        var type = action.ResourceType ?? http.GetRouteValue("type") as string ?? "*";
        if (Refusal(access.Caller, action.Action, type) is { } reason)
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            await FhirHttp.WriteResourceAsync(http, Outcomes.Error(OperationOutcome.IssueType.Forbidden, reason));
            return;
        }
        await next(http);
    }

    /// <summary>Why the caller may not do this, or null when it may.</summary>
    public static string? Refusal(Caller caller, FhirAction action, string resourceType)
    {
        foreach (var need in ScopeRequirements.For(action, resourceType))
        {
            // patient/ scopes mean nothing without a patient in the token's context.
            if (!caller.Scopes.Granting(need.ResourceType, need.Permission).Any(s => s.Context != ScopeContext.Patient || caller.Patient is not null))
            {
                var letters = string.Concat("cruds".Where((_, i) => ((int)need.Permission & (1 << i)) != 0));
                return $"The access token grants no scope for {action} on {need.ResourceType}; it needs '{letters}' on it (e.g. system/{need.ResourceType}.{letters}).";
            }
        }
        if (resourceType == "AuditEvent" && !caller.IsAdmin)
        {
            return "Only administrators can see the audit trail.";
        }
        if (action == FhirAction.ReviewerDecision && !caller.Roles.Contains(PayerRoles.Reviewer))
        {
            return "Recording a review decision needs the reviewer role.";
        }
        if (action == FhirAction.DecisionRecord && !caller.IsPayer)
        {
            return "An authorization's decision record is for the payer's reviewers and administrators.";
        }
        return null;
    }
}
