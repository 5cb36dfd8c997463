"""DKIM keys and their DNS records for tests and benchmarks, made with
openssl(1): an RSA 2048 or Ed25519 private key in a PEM file, and the TXT
record (RFC 6376 3.6.1, RFC 8463) to publish for it."""
import base64
import subprocess


def _public_der(pem):
    return subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout


def rsa_key(directory, name):
    """(PEM path, PEM bytes, TXT record) of a new RSA 2048 key in directory."""
    pem = directory / f"{name}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(pem)], check=True, capture_output=True)
    return pem, pem.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(_public_der(pem)).decode()


def ed_key(directory, name):
    """(PEM path, None, TXT record) of a new Ed25519 key, as postern keygen makes."""
    pem = directory / f"{name}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", str(pem)],
                   check=True, capture_output=True)
    # the raw key is the last 32 octets of the SubjectPublicKeyInfo (RFC 8410)
    return pem, None, "v=DKIM1; k=ed25519; p=" + base64.b64encode(_public_der(pem)[-32:]).decode()


def txt_record(owner, text, ttl=None):
    """An unbound local-data TXT line in strings of at most 255 octets (RFC 1035 3.3.14)."""
    parts = " ".join('"%s"' % text[i:i + 255] for i in range(0, len(text), 255))
    return f"{owner}. {'' if ttl is None else f'{ttl} '}TXT {parts}"
