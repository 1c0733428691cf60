using FhirPriorAuth.Core.Fhir;
using FhirPriorAuth.Core.Pas;
using FhirPriorAuth.Core.Security;
using FhirPriorAuth.Core.Subscriptions;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Core.Tests.Subscriptions;

public sealed class PasSubscriptionTests
{
    private static readonly IdentifierKey Npi = new("http://hl7.org/fhir/sid/us-npi", "8189991234");

    private static Subscription Subscription(string? filter, string endpoint = "https://ehr.example.org/notify", string? content = null)
    {
        var subscription = new Subscription
        {
            Status = Hl7.Fhir.Model.Subscription.SubscriptionStatus.Requested,
            Criteria = Backport.PasTopic,
            Channel = new Subscription.ChannelComponent
            {
                Type = Hl7.Fhir.Model.Subscription.SubscriptionChannelType.RestHook,
                Endpoint = endpoint,
                Header = ["Authorization: Bearer x"],
            },
        };
        if (filter is not null)
        {
            subscription.CriteriaElement.Extension.Add(new Extension(Backport.FilterCriteria, new FhirString(filter)));
        }
        if (content is not null)
        {
            subscription.Channel.PayloadElement = new Code("application/fhir+json");
            subscription.Channel.PayloadElement.Extension.Add(new Extension(Backport.PayloadContent, new Code(content)));
        }
        return subscription;
    }

    private static AccessScope Organization(params IdentifierKey[] identifiers) =>
        AccessScope.For(new Caller("c", "s", identifiers, null, new HashSet<string>(), GrantedScopes.Parse("system/*.cruds")), []);

    [Theory]
    [InlineData("org-identifier=8189991234", new[] { "8189991234" })]
    [InlineData("orgIdentifier=8189991234", new[] { "8189991234" })]
    [InlineData("org-identifier=N123456,4543315", new[] { "N123456", "4543315" })]
    [InlineData("org-identifier=http://hl7.org/fhir/sid/us-npi|8189991234", new[] { "http://hl7.org/fhir/sid/us-npi|8189991234" })]
    public void TheOrganizationFilter_IsReadInEachSpelling(string filter, string[] expected)
    {
        var read = PasSubscription.Read(Subscription(filter), PasVersion.V2_2_1, AccessScope.All, EndpointRules.Default);
        Assert.Equal(expected, read.Filters);
        Assert.Equal(("full-resource", "application/fhir+json"), (read.Content, read.ContentType));
        Assert.Equal(["Authorization: Bearer x"], read.Headers);
    }

    [Fact]
    public void A201FilterOnSomethingElse_IsAccepted_AndMeansTheOwnersAuthorizations()
    {
        Assert.Equal([SubscriptionDelivery.Everyone],
            PasSubscription.Read(Subscription("Encounter.patient=Patient/123"), PasVersion.V2_0_1, AccessScope.All, EndpointRules.Default).Filters);
        var own = PasSubscription.Read(Subscription("Encounter.patient=Patient/123"), PasVersion.V2_0_1, Organization(Npi), EndpointRules.Default);
        Assert.Equal([Npi.ToString()], own.Filters);
        Assert.Equal("id-only", own.Content);
        Assert.Equal(400, Assert.Throws<FhirException>(() =>
            PasSubscription.Read(Subscription("Encounter.patient=Patient/123"), PasVersion.V2_2_1, AccessScope.All, EndpointRules.Default)).Status);
    }

    [Fact]
    public void AnOrganizationMayFilterOnItsOwnIdentifiersOnly()
    {
        Assert.Equal(["8189991234"], PasSubscription.Read(Subscription("org-identifier=8189991234"), PasVersion.V2_2_1, Organization(Npi), EndpointRules.Default).Filters);
        Assert.Equal(403, Assert.Throws<FhirException>(() =>
            PasSubscription.Read(Subscription("org-identifier=8189991234,1111111112"), PasVersion.V2_2_1, Organization(Npi), EndpointRules.Default)).Status);
        Assert.Equal(403, Assert.Throws<FhirException>(() =>
            PasSubscription.Read(Subscription("org-identifier=8189991234"), PasVersion.V2_2_1, Organization(), EndpointRules.Default)).Status);
    }

    [Theory]
    [InlineData("https://ehr.example.org/notify", null)]
    [InlineData("http://localhost:4567/listener", null)]
    [InlineData("http://127.0.0.1/listener", null)]
    [InlineData("http://[::1]:8080/listener", null)]
    [InlineData("http://ehr.example.org/notify", "https")]
    [InlineData("http://10.0.0.5/admin", "https")]
    [InlineData("file:///etc/passwd", "absolute http or https")]
    [InlineData("not a url", "absolute http or https")]
    public void Endpoints_AreHttpsOrLoopbackHttp(string endpoint, string? refusal)
    {
        var refused = EndpointRules.Default.Refuse(endpoint);
        if (refusal is null) Assert.Null(refused);
        else Assert.Contains(refusal, refused);
    }

    [Fact]
    public void AnAllowList_LimitsTheHosts_AndLoopbackCanBeTurnedOff()
    {
        var rules = new EndpointRules(["ehr.example.org"], ["https"], HttpOnLoopback: false);
        Assert.Null(rules.Refuse("https://EHR.example.org/notify"));
        Assert.Contains("not among the hosts", rules.Refuse("https://internal.payer.local/notify"));
        Assert.NotNull(rules.Refuse("http://localhost:4567/listener"));
    }

    [Fact]
    public void MatchingIsByIdentifierValue_OrBySystemAndValue()
    {
        var delivery = new SubscriptionDelivery("s", SubscriptionStates.Active, ["8189991234"], "https://payer/fhir", PasVersion.V2_2_1, 0, 0, DateTimeOffset.MaxValue);
        Assert.True(delivery.Matches([new IdentifierKey("urn:other", "x"), Npi]));
        Assert.False(delivery.Matches([new IdentifierKey(Npi.System, "1111111112")]));
        Assert.True((delivery with { Filters = [Npi.ToString()] }).Matches([Npi]));
        Assert.False((delivery with { Filters = ["urn:other|8189991234"] }).Matches([Npi]));
        Assert.True((delivery with { Filters = [SubscriptionDelivery.Everyone] }).Matches([]));
    }
}
