using System.Globalization;
using System.Threading.RateLimiting;
using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Server.Fhir;
using FhirPriorAuth.Storage;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Task = System.Threading.Tasks.Task;

namespace FhirPriorAuth.Server.Security;

/// <summary>Registers authentication, the built-in authorization server, audit, CORS, security headers and rate limits.</summary>
public static class SecuritySetup
{
    /// <summary>CORS policy of discovery documents, which any browser app may read.</summary>
    public const string AnyOriginPolicy = "any-origin";

    /// <summary>Adds the security services.</summary>
    public static void AddFhirSecurity(this WebApplicationBuilder builder, SqlDialect dialect, string dataDirectory)
    {
        var options = builder.Configuration.GetSection("Security").Get<SecurityOptions>() ?? new SecurityOptions();
        if (options.Mode is not (SecurityOptions.TokensMode or SecurityOptions.NoneMode))
        {
            throw new InvalidOperationException($"Security:Mode must be {SecurityOptions.TokensMode} or {SecurityOptions.NoneMode}, not '{options.Mode}'.");
        }
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton<ServerUrls>();
        var keyFile = string.IsNullOrWhiteSpace(options.TokenServer.SigningKeyFile)
            ? Path.Combine(dataDirectory, "token-signing-key.pem")
            : Path.Combine(builder.Environment.ContentRootPath, options.TokenServer.SigningKeyFile);
        services.AddSingleton(_ => new SigningKey(keyFile));
        services.AddSingleton<IClientRegistry>(new SqlClientRegistry(dialect));
        services.AddSingleton<Callers>();
        services.AddHttpClient();
        services.AddBearerTokens(options, builder.Environment.ContentRootPath);
        services.AddAuthorization();
        if (options.Mode == SecurityOptions.NoneMode)
        {
            services.AddHostedService<LoopbackOnly>();
        }

        services.AddCors(cors =>
        {
            cors.AddPolicy(AnyOriginPolicy, p => p.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET"));
            cors.AddDefaultPolicy(p => p.WithOrigins([.. options.CorsOrigins]).AllowAnyHeader().AllowAnyMethod()
                .WithExposedHeaders("Location", "ETag", "Last-Modified", "Content-Location", FhirErrorMiddleware.CorrelationHeader));
        });
        services.AddRateLimiter(limits =>
        {
            limits.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                if (http.Features.Get<RequestAccess>() is not { } access)
                {
                    return RateLimitPartition.GetNoLimiter("public");
                }
                var limit = access.Registration?.RateLimitPerMinute ?? options.RateLimitPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter($"{access.Caller.ClientId}:{limit}", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limit,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
            });
            limits.OnRejected = async (context, _) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await FhirHttp.WriteResourceAsync(http, Outcomes.Error(OperationOutcome.IssueType.Throttled,
                    "Too many requests from this client; retry after the time in Retry-After."));
            };
        });
    }

    /// <summary>Security headers on every response; PHI must not be cached, framed or sniffed.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            if (string.IsNullOrEmpty(headers.CacheControl))
            {
                headers.CacheControl = "no-store";
            }
            return Task.CompletedTask;
        });
        return next(http);
    });

    /// <summary>The no-authentication mode refuses to run on anything but loopback addresses.</summary>
    private sealed class LoopbackOnly(IServer server) : IHostedLifecycleService
    {
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var exposed = addresses.Where(a => !BearerTokens.IsLoopback(a.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"))).ToList();
            return exposed.Count == 0 ? Task.CompletedTask : throw new InvalidOperationException(
                $"Security:Mode=None serves without authentication and is allowed on loopback addresses only, not {string.Join(", ", exposed)}.");
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
