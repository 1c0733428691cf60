using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace FhirPriorAuth.Server.Security;

/// <summary>
/// The built-in authorization server's token-signing key: EC P-384 (ES384, which SMART requires servers to offer),
/// loaded from a PEM file, or created there on first start with owner-only permissions.
/// </summary>
public sealed class SigningKey
{
    /// <summary>Loads or creates the key at <paramref name="path"/>.</summary>
    public SigningKey(string path)
    {
        var ecdsa = ECDsa.Create();
        if (File.Exists(path))
        {
            ecdsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, ecdsa.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        var publicOnly = ECDsa.Create(ecdsa.ExportParameters(includePrivateParameters: false));
        var kid = Base64UrlEncoder.Encode(new ECDsaSecurityKey(publicOnly).ComputeJwkThumbprint());
        Private = new ECDsaSecurityKey(ecdsa) { KeyId = kid };
        Public = new ECDsaSecurityKey(publicOnly) { KeyId = kid };
        PublicJwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(Public);
        PublicJwk.Use = "sig";
        PublicJwk.Alg = SecurityAlgorithms.EcdsaSha384;
    }

    /// <summary>The key that signs tokens.</summary>
    public ECDsaSecurityKey Private { get; }

    /// <summary>The key that verifies them.</summary>
    public ECDsaSecurityKey Public { get; }

    /// <summary>The public key as published at the JWKS URI.</summary>
    public JsonWebKey PublicJwk { get; }
}
