"""DKIM verification (RFC 6376, RFC 8463) by `postern dkim verify`, on messages
signed by an independent signer: Debian's python3-dkim (dkimpy), with RSA 2048
and Ed25519 keys, in each canonicalisation; and the ways a signature must not
pass: a changed body or signed header field, content appended past l=, the
wrong key, a revoked key, rsa-sha1, an expired x=, a 512-bit RSA key. Keys
come from files (--key), so no DNS is involved."""
import base64
import re
import subprocess
import time
import types

import dkim
import nacl.signing
import pytest

from conftest import run_postern

DOMAIN = b"example.org"
MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: quarterly figures\r\n"
           b"Date: Mon, 01 Jan 2029 10:00:00 +0000\r\n"
           b"Message-ID: <q1@example.org>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"  the figures  are attached.\t \r\n"
           b"\r\n"
           b"Alice\r\n")
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


def rsa_key(tmp_path, bits, name):
    """(PKCS#1 private key PEM, TXT record) of a new RSA key."""
    pem = tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(pem), str(bits)],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return pem.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed_key():
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode())


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dkimkeys")
    return {"rsa": rsa_key(tmp, 2048, "rsa"), "rsa2": rsa_key(tmp, 2048, "rsa2"),
            "rsa512": rsa_key(tmp, 512, "rsa512"), "ed": ed_key(), "ed2": ed_key()}


def sign(msg, selector, priv, alg=b"rsa-sha256", canon=(b"relaxed", b"relaxed"), length=False):
    return dkim.sign(msg, selector, DOMAIN, priv, signature_algorithm=alg, canonicalize=canon,
                     include_headers=HEADERS, length=length) + msg


def postern_verify(tmp_path, msg, records):
    """Runs `postern dkim verify`; records maps selector -> TXT text.
    Returns (exit code, [result lines])."""
    path = tmp_path / "msg.eml"
    path.write_bytes(msg)
    args = ["dkim", "verify", str(path)]
    for sel, rec in records.items():
        kf = tmp_path / f"{sel}.txt"
        kf.write_text(rec + "\n")
        args += ["--key", f"{sel}._domainkey.{DOMAIN.decode()}={kf}"]
    p = run_postern(*args)
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, p.stdout.splitlines()


def result(line):
    m = re.match(r"^dkim=(\w+) header\.d=(\S+) header\.s=(\S+) header\.i=(\S+) "
                 r"header\.a=(\S+) header\.b=(\S+) \((.*)\)", line)
    assert m, line
    return dict(zip(("verdict", "d", "s", "i", "a", "b", "reason"), m.groups()))


@pytest.mark.parametrize("alg,key,canon", [
    (b"rsa-sha256", "rsa", (b"relaxed", b"relaxed")),
    (b"rsa-sha256", "rsa", (b"simple", b"simple")),
    (b"rsa-sha256", "rsa", (b"relaxed", b"simple")),
    (b"ed25519-sha256", "ed", (b"relaxed", b"relaxed")),
    (b"ed25519-sha256", "ed", (b"simple", b"relaxed")),
])
def test_dkimpy_signatures_pass(tmp_path, keys, alg, key, canon):
    priv, rec = keys[key]
    signed = sign(MESSAGE, b"sel", priv, alg, canon)
    rc, lines = postern_verify(tmp_path, signed, {"sel": rec})
    r = result(lines[0])
    assert rc == 0 and r["verdict"] == "pass", lines
    assert (r["d"], r["s"], r["a"]) == ("example.org", "sel", alg.decode())
    b = re.search(rb"b=([A-Za-z0-9+/]{8})", signed.split(b"bh=")[1]).group(1).decode()
    assert r["b"] == b
    # stored with LF line ends, the message verifies the same
    rc, lines = postern_verify(tmp_path, signed.replace(b"\r\n", b"\n"), {"sel": rec})
    assert rc == 0 and result(lines[0])["verdict"] == "pass", lines


@pytest.mark.parametrize("key,alg", [("rsa", b"rsa-sha256"), ("ed", b"ed25519-sha256")])
def test_tampering_fails(tmp_path, keys, key, alg):
    priv, rec = keys[key]
    signed = sign(MESSAGE, b"sel", priv, alg)
    for change, why in ((b"the figures", b"the FIGURES"), "body hash"), \
                       ((b"Subject: quarterly", b"Subject: Quarterly"), "signature does not verify"), \
                       ((b"To: Bob", b"To: Eve"), "signature does not verify"):
        rc, lines = postern_verify(tmp_path, signed.replace(*change), {"sel": rec})
        r = result(lines[0])
        assert rc == 1 and r["verdict"] == "fail" and why in r["reason"], (change, lines)
    # dkimpy agrees that these are failures
    assert not dkim.verify(signed.replace(b"the figures", b"the FIGURES"),
                           dnsfunc=lambda *a, **k: rec.encode())


def test_length_tag_with_appended_content(tmp_path, keys):
    priv, rec = keys["rsa"]
    signed = sign(MESSAGE, b"sel", priv, length=True)
    assert b"l=" in signed
    rc, lines = postern_verify(tmp_path, signed, {"sel": rec})
    assert rc == 0 and result(lines[0])["reason"] == "good signature", lines
    appended = signed + b"\r\nP.S. please pay to the new account 1234\r\n"
    rc, lines = postern_verify(tmp_path, appended, {"sel": rec})
    r = result(lines[0])
    # the signed part still verifies, but it is reported as partial
    assert r["verdict"] == "pass", lines
    m = re.match(r"l= leaves (\d+) body octets unsigned", r["reason"])
    assert m and int(m.group(1)) == len(b"\r\nP.S. please pay to the new account 1234\r\n"), lines


def test_wrong_and_revoked_keys(tmp_path, keys):
    signed = sign(MESSAGE, b"sel", keys["rsa"][0])
    rc, lines = postern_verify(tmp_path, signed, {"sel": keys["rsa2"][1]})
    assert rc == 1 and result(lines[0])["verdict"] == "fail", lines
    rc, lines = postern_verify(tmp_path, signed, {"sel": "v=DKIM1; k=rsa; p="})
    r = result(lines[0])
    assert rc == 1 and r["verdict"] == "fail" and "revoked" in r["reason"], lines
    rc, lines = postern_verify(tmp_path, signed, {})
    r = result(lines[0])
    assert rc == 1 and r["verdict"] == "permerror" and "no key" in r["reason"], lines
    signed = sign(MESSAGE, b"sel", keys["ed"][0], b"ed25519-sha256")
    rc, lines = postern_verify(tmp_path, signed, {"sel": keys["ed2"][1]})
    assert rc == 1 and result(lines[0])["verdict"] == "fail", lines


def test_rsa_sha1_and_short_keys_refused(tmp_path, keys):
    priv, rec = keys["rsa"]
    signed = sign(MESSAGE, b"sel", priv, b"rsa-sha1")
    assert dkim.verify(signed, dnsfunc=lambda *a, **k: rec.encode())  # valid, but SHA-1
    rc, lines = postern_verify(tmp_path, signed, {"sel": rec})
    r = result(lines[0])
    assert rc == 1 and r["verdict"] == "policy" and "rsa-sha1" in r["reason"], lines
    priv, rec = keys["rsa512"]
    signed = sign(MESSAGE, b"sel", priv)
    rc, lines = postern_verify(tmp_path, signed, {"sel": rec})
    r = result(lines[0])
    assert rc == 1 and r["verdict"] == "policy" and "512 bits" in r["reason"], lines


def test_expired_signature(tmp_path, keys, monkeypatch):
    """dkimpy writes no x=: its field list gets one, and its clock goes back
    two hours, so t= is two hours ago and x= one hour ago."""
    t0 = int(time.time())
    original = dkim.DKIM.gen_header

    def with_expiry(self, fields, *args, **kwargs):
        fields = fields[:-1] + [(b"x", str(t0 - 3600).encode())] + fields[-1:]
        return original(self, fields, *args, **kwargs)

    monkeypatch.setattr(dkim.DKIM, "gen_header", with_expiry)
    monkeypatch.setattr(dkim, "time", types.SimpleNamespace(time=lambda: t0 - 7200))
    priv, rec = keys["ed"]
    signed = sign(MESSAGE, b"sel", priv, b"ed25519-sha256")
    monkeypatch.undo()
    assert re.search(rb"x=%d" % (t0 - 3600), signed), signed[:400]
    rc, lines = postern_verify(tmp_path, signed, {"sel": rec})
    r = result(lines[0])
    assert rc == 1 and r["verdict"] == "permerror" and "expired" in r["reason"], lines


def test_several_signatures(tmp_path, keys):
    """Signed by two parties: one key is published right, the other's is
    not; each is judged on its own, top first."""
    once = sign(MESSAGE, b"one", keys["rsa"][0])
    twice = sign(once, b"two", keys["ed"][0], b"ed25519-sha256")
    rc, lines = postern_verify(tmp_path, twice, {"one": keys["rsa"][1], "two": keys["ed2"][1]})
    got = [(result(ln)["s"], result(ln)["verdict"]) for ln in lines]
    assert rc == 0 and got == [("two", "fail"), ("one", "pass")], lines
    rc, lines = postern_verify(tmp_path, twice, {"one": keys["rsa"][1], "two": keys["ed"][1]})
    assert rc == 0 and [result(ln)["verdict"] for ln in lines] == ["pass", "pass"], lines


def test_hostile_input(tmp_path, keys):
    """Malformed signatures are reported, never crash; an unsigned message is none."""
    rc, lines = postern_verify(tmp_path, MESSAGE, {})
    assert rc == 1 and lines == ["dkim=none (no DKIM signature)"]
    junk = (b"DKIM-Signature: v=1; a=rsa-sha256; a=rsa-sha256; d=example.org; s=sel\r\n"
            b"DKIM-Signature: " + b"x=1;" * 5000 + b"\r\n" + MESSAGE)
    rc, lines = postern_verify(tmp_path, junk, {"sel": keys["rsa"][1]})
    assert rc == 1 and [result(ln)["verdict"] for ln in lines] == ["permerror", "permerror"]
    p = run_postern("dkim", "verify", str(tmp_path / "absent.eml"))
    assert p.returncode == 1 and "absent.eml" in p.stderr
    p = run_postern("dkim", "verify", str(tmp_path / "x"), "--key", "nofile")
    assert p.returncode == 1 and "--key" in p.stderr
