using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace HashHub.Server.Auth;

/// <summary>
/// Loads the hub's token keys from files, creating them on first start, so that tokens outlive a restart and
/// every node of a hub that shares the folder accepts every other node's tokens.
/// </summary>
internal static class KeyStore
{
    /// <summary>An RSA key (PEM), created on first start: the key that signs tokens.</summary>
    public static RsaSecurityKey LoadOrCreate(string directory, string name)
    {
        var path = Path.Combine(directory, name + ".pem");
        var rsa = RSA.Create();
        if (!File.Exists(path))
        {
            rsa.KeySize = 2048;
            CreateOnce(directory, path, rsa.ExportPkcs8PrivateKeyPem());
        }
        return Rsa(rsa, path, name);
    }

    /// <summary>The RSA key of this name if its file exists (a key the hub no longer creates but still reads).</summary>
    public static RsaSecurityKey? LoadExisting(string directory, string name)
    {
        var path = Path.Combine(directory, name + ".pem");
        return File.Exists(path) ? Rsa(RSA.Create(), path, name) : null;
    }

    /// <summary>
    /// A 256-bit symmetric key (base64), created on first start: the key that encrypts access tokens. Every call
    /// decrypts its token; with an RSA key that was a private-key operation, about 0.27 ms of CPU per call here.
    /// </summary>
    public static SymmetricSecurityKey LoadOrCreateSymmetric(string directory, string name)
    {
        var path = Path.Combine(directory, name + ".key");
        if (!File.Exists(path))
        {
            CreateOnce(directory, path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{path} must hold a 256-bit key in base64; it does not.");
        }
        if (key.Length != 32)
        {
            throw new InvalidOperationException($"{path} must hold a 256-bit key in base64; it holds {key.Length * 8} bits.");
        }
        // The id names the key without revealing it: a truncated hash of a random 256-bit key.
        return new SymmetricSecurityKey(key) { KeyId = name + "-" + Convert.ToHexStringLower(SHA256.HashData(key))[..16] };
    }

    private static RsaSecurityKey Rsa(RSA rsa, string path, string name)
    {
        rsa.ImportFromPem(File.ReadAllText(path));
        return new RsaSecurityKey(rsa) { KeyId = name + "-" + Convert.ToHexStringLower(SHA256.HashData(rsa.ExportRSAPublicKey()))[..16] };
    }

    // Writes a new key readable by the owner only, through a temporary file so that a crash never leaves a
    // truncated key behind; when another node created the file first, theirs stays and is the one read.
    private static void CreateOnce(string directory, string path, string content)
    {
        Directory.CreateDirectory(directory);
        var temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, content);
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
            File.Delete(temp);
        }
    }
}
