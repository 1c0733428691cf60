using Bogus;
using Hl7.Fhir.Model;

namespace FhirPriorAuth.Synthetic;

/// <summary>A generated payer population: payers, their members and coverage, and the providers who request authorizations.</summary>
public sealed record PayerPopulation(
    IReadOnlyList<Organization> Payers,
    IReadOnlyList<Patient> Members,
    IReadOnlyList<Coverage> Coverages,
    IReadOnlyList<Organization> ProviderOrganizations,
    IReadOnlyList<Practitioner> Practitioners,
    IReadOnlyList<PractitionerRole> PractitionerRoles)
{
    /// <summary>Every resource, referenced ones before those that reference them.</summary>
    public IEnumerable<Resource> All =>
        Payers.Concat<Resource>(ProviderOrganizations).Concat(Practitioners).Concat(PractitionerRoles).Concat(Members).Concat(Coverages);
}

/// <summary>
/// Generates realistic US payer data. The same seed always yields the same population, so tests and benchmarks
/// are reproducible; ids are stable (<c>member-000001</c>) so that seeding twice updates instead of duplicating.
/// Coverage periods span <c>coverageYear</c> (default: the current year, so that seeded members are covered today).
/// </summary>
public sealed class PayerDataGenerator(int seed = PayerDataGenerator.DefaultSeed, int? coverageYear = null)
{
    /// <summary>The seed used when none is given.</summary>
    public const int DefaultSeed = 20261127;

    /// <summary>NPI identifier system.</summary>
    public const string NpiSystem = "http://hl7.org/fhir/sid/us-npi";

    /// <summary>The v2 identifier-type code system (MB = member number).</summary>
    public const string IdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";

    private static readonly (string Name, string PayerId, string Domain)[] PayerNames =
    [
        ("Blue Harbor Health Plan", "BHHP1", "blueharbor.example.org"),
        ("Summit Mutual Insurance", "SMI02", "summitmutual.example.org"),
        ("Prairie Care Medicaid", "PCM03", "prairiecare.example.org"),
    ];

    private static readonly (string Code, string Display)[] Specialties =
    [
        ("207X00000X", "Orthopaedic Surgery"), ("207RC0000X", "Cardiovascular Disease"), ("2085R0202X", "Diagnostic Radiology"),
        ("207Q00000X", "Family Medicine"), ("208600000X", "Surgery"), ("2084N0400X", "Neurology"),
    ];

    /// <summary>Generates a population of the given size.</summary>
    public PayerPopulation Generate(int members, int providerOrganizations = 10, int practitioners = 25)
    {
        var faker = new Faker("en_US") { Random = new Randomizer(seed) };
        var payers = PayerNames.Select((p, i) => Payer(i + 1, p)).ToList();
        var orgs = Enumerable.Range(1, providerOrganizations).Select(i => ProviderOrganization(faker, i)).ToList();
        var practitionerList = Enumerable.Range(1, practitioners).Select(i => Practitioner(faker, i)).ToList();
        var roles = practitionerList.Select((p, i) => Role(faker, i + 1, p, orgs[i % orgs.Count])).ToList();
        var patients = new List<Patient>(members);
        var coverages = new List<Coverage>(members);
        for (int i = 1; i <= members; i++)
        {
            var payerIndex = faker.Random.Int(0, payers.Count - 1);
            var member = Member(faker, i, PayerNames[payerIndex].Domain);
            patients.Add(member);
            coverages.Add(Coverage(faker, i, member, payers[payerIndex], PayerNames[payerIndex].Domain, coverageYear ?? DateTime.UtcNow.Year));
        }
        return new PayerPopulation(payers, patients, coverages, orgs, practitionerList, roles);
    }

    private static Organization Payer(int n, (string Name, string PayerId, string Domain) p) => new()
    {
        Id = $"payer-{n:D2}",
        Active = true,
        Name = p.Name,
        Identifier = [new Identifier($"https://{p.Domain}/payer-id", p.PayerId)],
        Type = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/organization-type", "pay", "Payer")],
    };

    private static Organization ProviderOrganization(Faker f, int n) => new()
    {
        Id = $"provider-org-{n:D4}",
        Active = true,
        Name = $"{f.Address.City()} {f.PickRandom("Medical Group", "Orthopedics", "Imaging Center", "Family Practice", "Surgical Associates")}",
        Identifier = [new Identifier(NpiSystem, Npi(f))],
        Type = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
        Address = [Address(f)],
        Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Work, f.Phone.PhoneNumber("###-###-####"))],
    };

    private static Practitioner Practitioner(Faker f, int n)
    {
        var gender = f.PickRandom<Bogus.DataSets.Name.Gender>();
        return new Practitioner
        {
            Id = $"practitioner-{n:D4}",
            Active = true,
            Identifier = [new Identifier(NpiSystem, Npi(f))],
            Name = [new HumanName { Family = f.Name.LastName(gender), Given = [f.Name.FirstName(gender)], Prefix = ["Dr."] }],
            Gender = gender == Bogus.DataSets.Name.Gender.Female ? AdministrativeGender.Female : AdministrativeGender.Male,
        };
    }

    private static PractitionerRole Role(Faker f, int n, Practitioner practitioner, Organization organization)
    {
        var specialty = f.PickRandom(Specialties);
        return new PractitionerRole
        {
            Id = $"practitioner-role-{n:D4}",
            Active = true,
            Practitioner = new ResourceReference($"Practitioner/{practitioner.Id}"),
            Organization = new ResourceReference($"Organization/{organization.Id}"),
            Specialty = [new CodeableConcept("http://nucc.org/provider-taxonomy", specialty.Code, specialty.Display)],
        };
    }

    private static Patient Member(Faker f, int n, string payerDomain)
    {
        var gender = f.PickRandom<Bogus.DataSets.Name.Gender>();
        var birth = f.Date.Between(new DateTime(1940, 1, 1), new DateTime(2020, 12, 31));
        return new Patient
        {
            Id = $"member-{n:D6}",
            Active = true,
            Identifier =
            [
                new Identifier($"https://{payerDomain}/member-id", $"M{f.Random.Replace("#########")}")
                {
                    Type = new CodeableConcept(IdentifierTypeSystem, "MB", "Member Number"),
                },
            ],
            Name = [new HumanName { Use = HumanName.NameUse.Official, Family = f.Name.LastName(gender), Given = [f.Name.FirstName(gender)] }],
            Gender = gender == Bogus.DataSets.Name.Gender.Female ? AdministrativeGender.Female : AdministrativeGender.Male,
            BirthDate = birth.ToString("yyyy-MM-dd"),
            Address = [Address(f)],
        };
    }

    private static Coverage Coverage(Faker f, int n, Patient member, Organization payer, string payerDomain, int year)
    {
        var plan = f.PickRandom("Gold PPO", "Silver HMO", "Bronze EPO", "Medicare Advantage", "Medicaid Managed Care");
        return new Coverage
        {
            Id = $"coverage-{n:D6}",
            Status = FinancialResourceStatusCodes.Active,
            Identifier = [new Identifier($"https://{payerDomain}/coverage-id", $"C{n:D8}")],
            Beneficiary = new ResourceReference($"Patient/{member.Id}"),
            Subscriber = new ResourceReference($"Patient/{member.Id}"),
            SubscriberId = member.Identifier[0].Value,
            Relationship = new CodeableConcept("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
            Payor = [new ResourceReference($"Organization/{payer.Id}")],
            Period = new Period { Start = $"{year}-01-01", End = $"{year}-12-31" },
            Class =
            [
                new Coverage.ClassComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), Value = plan.Replace(' ', '-').ToUpperInvariant(), Name = plan },
                new Coverage.ClassComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/coverage-class", "group"), Value = $"G{f.Random.Replace("#####")}" },
            ],
        };
    }

    private static Address Address(Faker f) => new()
    {
        Line = [f.Address.StreetAddress()],
        City = f.Address.City(),
        State = f.Address.StateAbbr(),
        PostalCode = f.Address.ZipCode("#####"),
        Country = "US",
    };

    /// <summary>A 10-digit NPI with a valid check digit (Luhn over the prefix 80840 and the first nine digits).</summary>
    public static string Npi(Faker f)
    {
        var body = f.Random.Int(1, 2).ToString() + f.Random.Replace("########");
        return body + NpiCheckDigit(body);
    }

    /// <summary>The NPI check digit of a 9-digit body.</summary>
    public static int NpiCheckDigit(string nineDigits)
    {
        var digits = "80840" + nineDigits;
        int sum = 0;
        for (int i = 0; i < digits.Length; i++)
        {
            int d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 0)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }
            sum += d;
        }
        return (10 - sum % 10) % 10;
    }
}
