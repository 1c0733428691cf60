using FhirPriorAuth.Core.Policy;
using FhirPriorAuth.Tests;
using static FhirPriorAuth.Core.Tests.Policy.PolicyRequestFaker;

namespace FhirPriorAuth.Core.Tests.Policy;

public sealed class PolicyLoaderTests
{
    private const string Minimal = """
        { "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["99213"], "decision": { "action": "approve" } } ] }
        """;

    [Fact]
    public void DemoPolicy_Loads() =>
        Assert.Equal("demo-medical-policy", Assert.Single(PolicyLoader.LoadDirectory(RepoPaths.DemoPolicies).All).Id);

    [Theory]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rulez": [] }""", "rulez")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["99213"], "decision": { "action": "aprove" } } ] }""", "$.rules[0].decision.action")]
    [InlineData("""{ "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["99213"], "decision": { "action": "approve" } } ] }""", "$.id is required")]
    [InlineData("""{ "id": "p", "version": "1", "plans": [], "rules": [ { "id": "r", "codes": ["99213"], "decision": { "action": "approve" } } ] }""", "$.plans")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["9921"], "decision": { "action": "approve" } } ] }""", "'9921' is not a CPT/HCPCS code")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["76499-70010"], "decision": { "action": "approve" } } ] }""", "ascending range")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "decision": { "action": "approve" } } ] }""", "needs codes or serviceTypes")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["15780"], "decision": { "action": "deny" } } ] }""", "a denial needs a reason")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["15780"], "decision": { "action": "pend-documentation" } } ] }""", "needs the rule's documentation")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["E0601"], "decision": { "action": "approve", "maxQuantity": 0 } } ] }""", "maxQuantity must be positive")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["E0601"], "conditions": [ { "id": "c", "expression": "Claim.item.where(" } ], "decision": { "action": "approve" } } ] }""", "conditions[0].expression is not valid FHIRPath")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["E0601"], "conditions": [ { "id": "c" } ], "decision": { "action": "approve" } } ] }""", "checks nothing")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["E0601"], "decision": { "action": "approve" } }, { "id": "r", "codes": ["E0602"], "decision": { "action": "approve" } } ] }""", "'r' is used twice")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["72148"], "decision": { "action": "approve" }, "alternatives": [ { "code": "72100-72110", "display": "X" } ] } ] }""", "alternatives[0].code")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["72148"], "decision": { "action": "approve" }, "alternatives": [ { "code": "72100" } ] } ] }""", "alternatives[0].display is required")]
    [InlineData("""{ "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "r", "codes": ["99213"] """, "invalid policy")]
    public void MalformedPolicy_IsRefusedWithWhereAndWhy(string json, string expected)
    {
        var error = Assert.Throws<PolicyFileException>(() => PolicyLoader.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void MissingDirectory_AndDuplicateIds_AreRefused()
    {
        Assert.Contains("does not exist", Assert.Throws<PolicyFileException>(() => PolicyLoader.LoadDirectory("/nonexistent/policies")).Message);
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "a.json"), Minimal);
        File.WriteAllText(Path.Combine(dir, "b.json"), Minimal);
        Assert.Contains("used by several files", Assert.Throws<PolicyFileException>(() => PolicyLoader.LoadDirectory(dir)).Message);
    }

    [Fact]
    public void PlanPolicy_WinsOverTheAllPlansPolicy()
    {
        var gold = PolicyLoader.Parse("""
            { "id": "gold", "version": "3", "plans": ["GOLD"], "rules": [ { "id": "all-visits", "codes": ["99211-99215"], "decision": { "action": "deny", "reason": "Gold plan covers visits elsewhere." } } ] }
            """, "gold.json");
        var engine = new PolicyEngine(new PolicySet([PolicyLoader.Parse(Minimal, "all.json"), gold]));
        Assert.Equal(("gold", "A3"), Decide(engine, "GOLD"));
        Assert.Equal(("p", "A1"), Decide(engine, "SILVER"));

        static (string?, string) Decide(PolicyEngine engine, string plan)
        {
            var decision = Assert.Single(engine.Decide(new PolicyRequestFaker(20) { Plan = plan }.Build((Cpt, "99213", null))));
            return (decision.PolicyId, decision.X12Code);
        }
    }

    [Theory]
    [InlineData("1950-05-01", "A1")]
    [InlineData("2000-05-01", "A3")]
    public void FhirPathAndAgeConditions_SeeTheRequest(string birthDate, string expected)
    {
        var policy = PolicyLoader.Parse("""
            { "id": "p", "version": "1", "plans": ["*"], "rules": [ { "id": "screening", "codes": ["G0105"],
              "conditions": [
                { "id": "age", "minAge": 50, "otherwise": { "action": "deny", "reason": "Screening starts at 50." } },
                { "id": "one-unit", "expression": "%item.quantity.value <= 1 and %patient.birthDate.exists() and %coverage.status = 'active'" }
              ],
              "decision": { "action": "approve" } } ] }
            """, "p.json");
        var engine = new PolicyEngine(new PolicySet([policy]));
        var decision = Assert.Single(engine.Decide(new PolicyRequestFaker(21) { BirthDate = birthDate }.Build((Hcpcs, "G0105", 1))));
        Assert.Equal(expected, decision.X12Code);
        var twoUnits = Assert.Single(engine.Decide(new PolicyRequestFaker(21) { BirthDate = "1950-05-01" }.Build((Hcpcs, "G0105", 2))));
        Assert.Equal(("A4", "screening/one-unit"), (twoUnits.X12Code, twoUnits.RuleId));
    }
}
