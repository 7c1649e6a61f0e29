using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace HashHub.Server.Auth;

/// <summary>
/// Loads the hub's token keys from PEM files, creating them on first start, so that tokens outlive a restart and
/// every node of a hub that shares the folder accepts every other node's tokens.
/// </summary>
internal static class KeyStore
{
    public static RsaSecurityKey LoadOrCreate(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".pem");
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            rsa.KeySize = 2048;
            var pem = rsa.ExportPkcs8PrivateKeyPem();
            // Write to a temporary file first, so a crash never leaves a truncated key behind.
            var temp = path + ".tmp";
            File.WriteAllText(temp, pem);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another node created it first: use theirs.
                File.Delete(temp);
                rsa.ImportFromPem(File.ReadAllText(path));
            }
        }
        return new RsaSecurityKey(rsa) { KeyId = name + "-" + Convert.ToHexStringLower(SHA256.HashData(rsa.ExportRSAPublicKey()))[..16] };
    }
}
