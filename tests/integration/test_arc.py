"""ARC (RFC 8617) against an independent implementation, Debian's python3-dkim
(dkimpy): chains of 1, 2 and 3 hops sealed by dkimpy verify with `postern dkim
arc-verify`, and the ways they must not: the body changed after the last seal,
an older set's seal broken, an instance missing, a cv=fail in the chain. The
other way round, sets added by `postern dkim arc-seal` (RSA and Ed25519) verify
with dkimpy's arc_verify, alone and between dkimpy's hops. dkimpy 1.1.4 does
ARC with rsa-sha256 only, sealing and verifying (ARC_HASH_ALGORITHMS), so
postern's Ed25519 seals are checked by postern's verifier alone, between
dkimpy's RSA hops. Keys come from files (--key), so no DNS is involved."""
import re

import dkim
import pytest

from conftest import run_postern
from dkim_keys import ed_key, rsa_key

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: list@lists.example\r\n"
           b"Subject: quarterly figures\r\n"
           b"Date: Mon, 01 Jan 2029 10:00:00 +0000\r\n"
           b"Message-ID: <q1@example.org>\r\n"
           b"\r\n"
           b"Hello list,\r\n"
           b"  the figures  are attached.\t \r\n")
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
HOPS = [b"lists.example", b"relay.example", b"fwd.example"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("arckeys")
    return {"rsa": rsa_key(tmp, "rsa"), "rsa2": rsa_key(tmp, "rsa2"), "ed": ed_key(tmp, "ed")}


def records(keys):
    """Every hop's key under sel._domainkey.HOP; ed._domainkey.postern.example too."""
    recs = {f"sel._domainkey.{hop.decode()}": keys["rsa"][2] for hop in HOPS}
    recs["sel._domainkey.postern.example"] = keys["rsa"][2]
    recs["ed._domainkey.postern.example"] = keys["ed"][2]
    return recs


def dnsfunc(recs):
    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        rec = recs.get(name.rstrip(".").lower())
        return rec.encode() if rec else None
    return lookup


def dkimpy_hop(msg, hop, key, cv=None):
    """msg with hop's Authentication-Results and dkimpy's ARC set on top
    (the AR line stays, as a receiver's would). cv: the arc= result the hop
    records, None for the first hop."""
    ar = b"Authentication-Results: " + hop + b"; spf=pass smtp.mailfrom=example.org"
    if cv is not None:
        ar += b"; arc=" + cv
    msg = ar + b"\r\n" + msg
    arc_set = dkim.arc_sign(msg, b"sel", hop, key[1], hop, include_headers=HEADERS)
    assert arc_set, "dkimpy did not seal"
    return b"".join(arc_set) + msg


def dkimpy_chain(keys, hops):
    msg = MESSAGE
    for n, hop in enumerate(HOPS[:hops]):
        msg = dkimpy_hop(msg, hop, keys["rsa"], None if n == 0 else b"pass")
    return msg


def postern_arc_verify(tmp_path, msg, recs):
    """(exit code, first line, [set lines]) of `postern dkim arc-verify`."""
    path = tmp_path / "msg.eml"
    path.write_bytes(msg)
    args = ["dkim", "arc-verify", str(path)]
    for i, (name, rec) in enumerate(recs.items()):
        kf = tmp_path / f"key{i}.txt"
        kf.write_text(rec + "\n")
        args += ["--key", f"{name}={kf}"]
    p = run_postern(*args)
    assert p.returncode in (0, 1), p.stderr
    lines = p.stdout.splitlines()
    return p.returncode, lines[0], lines[1:]


def postern_arc_seal(tmp_path, msg, recs, key_pem, selector, authres, cv=None):
    path = tmp_path / "in.eml"
    path.write_bytes(msg)
    args = ["dkim", "arc-seal", str(path), "--signing-key", str(key_pem), "--domain",
            "postern.example", "--selector", selector, "--authres", authres]
    if cv is not None:
        args += ["--cv", cv]
    for i, (name, rec) in enumerate(recs.items()):
        kf = tmp_path / f"skey{i}.txt"
        kf.write_text(rec + "\n")
        args += ["--key", f"{name}={kf}"]
    p = run_postern(*args)
    assert p.returncode == 0, p.stderr
    return p.stdout.encode()  # the test messages are ASCII


def dkimpy_verify(msg, recs):
    cv, results, reason = dkim.arc_verify(msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                                          dnsfunc=dnsfunc(recs))
    return cv, results, reason


# ---- dkimpy seals, postern verifies --------------------------------------

@pytest.mark.parametrize("hops", [1, 2, 3])
def test_dkimpy_chains_verify(tmp_path, keys, hops):
    msg = dkimpy_chain(keys, hops)
    recs = records(keys)
    assert dkimpy_verify(msg, recs)[0] == b"pass"
    rc, first, sets = postern_arc_verify(tmp_path, msg, recs)
    assert rc == 0, first
    assert first.startswith("arc=pass header.oldest-pass=0 "), first
    for n in range(hops):
        seal = next(l for l in sets if l.startswith(f"i={n + 1} cv="))
        assert f"seal=pass d={HOPS[n].decode()} s=sel" in seal, seal
        assert f"ams=pass d={HOPS[n].decode()}" in seal, seal
        aar = next(l for l in sets if l.startswith(f"i={n + 1} aar: "))
        assert aar.startswith(f"i={n + 1} aar: {HOPS[n].decode()}; spf=pass"), aar
    # without keys nothing passes
    rc, first, _ = postern_arc_verify(tmp_path, msg, {})
    assert rc == 1 and first.startswith("arc=fail"), first


def test_body_changed_after_last_seal(tmp_path, keys):
    msg = dkimpy_chain(keys, 3).replace(b"figures  are", b"figures were")
    recs = records(keys)
    assert dkimpy_verify(msg, recs)[0] == b"fail"
    rc, first, _ = postern_arc_verify(tmp_path, msg, recs)
    assert rc == 1
    assert "ARC-Message-Signature i=3: body hash does not match" in first, first


def test_body_changed_before_last_seal_gives_oldest_pass(tmp_path, keys):
    msg = dkimpy_chain(keys, 2) + b"-- \r\nthe list footer\r\n"
    msg = dkimpy_hop(msg, HOPS[2], keys["rsa"], b"pass")
    recs = records(keys)
    assert dkimpy_verify(msg, recs)[0] == b"pass"
    rc, first, sets = postern_arc_verify(tmp_path, msg, recs)
    assert rc == 0
    assert first.startswith("arc=pass header.oldest-pass=3 "), first
    assert any(l.startswith("i=2 ") and "ams=fail" in l for l in sets), sets


def test_older_seal_changed(tmp_path, keys):
    msg = dkimpy_chain(keys, 3)
    # the first hop's AAR says something else now: every seal over it breaks
    i1 = msg.index(b"ARC-Authentication-Results: i=1;")
    tampered = msg[:i1] + msg[i1:].replace(b"spf=pass", b"spf=fail", 1)
    recs = records(keys)
    assert dkimpy_verify(tampered, recs)[0] == b"fail"
    rc, first, _ = postern_arc_verify(tmp_path, tampered, recs)
    assert rc == 1
    assert re.search(r"ARC-Seal i=\d: signature does not verify", first), first
    # a seal's own signature damaged
    m = re.search(rb"ARC-Seal: i=1;.*?b=([A-Za-z0-9+/]{8})", msg, re.S)
    sig = m.group(1)
    broken = msg.replace(sig, sig[::-1], 1)
    rc, first, _ = postern_arc_verify(tmp_path, broken, recs)
    assert rc == 1 and first.startswith("arc=fail (ARC-Seal i="), first


def drop_field(msg, prefix):
    at = msg.index(prefix)
    end = msg.index(b"\r\n", at)
    while msg[end + 2:end + 3] in (b" ", b"\t"):
        end = msg.index(b"\r\n", end + 2)
    return msg[:at] + msg[end + 2:]


def test_missing_instance(tmp_path, keys):
    msg = dkimpy_chain(keys, 3)
    recs = records(keys)
    no_ams = drop_field(msg, b"ARC-Message-Signature: i=2;")
    assert dkimpy_verify(no_ams, recs)[0] == b"fail"
    rc, first, sets = postern_arc_verify(tmp_path, no_ams, recs)
    assert rc == 1 and sets == []
    assert "no ARC-Message-Signature of instance 2 (of 3)" in first, first
    # a whole set gone: a gap in the instances
    gap = msg
    for f in (b"ARC-Seal: i=2;", b"ARC-Message-Signature: i=2;",
              b"ARC-Authentication-Results: i=2;"):
        gap = drop_field(gap, f)
    rc, first, _ = postern_arc_verify(tmp_path, gap, recs)
    assert rc == 1 and "of instance 2 (of 3)" in first, first


def test_cv_fail_in_chain(tmp_path, keys):
    msg = dkimpy_chain(keys, 1).replace(b"figures  are", b"figures were")
    # the second hop found the chain broken and says so; dkimpy seals cv=fail
    msg = dkimpy_hop(msg, HOPS[1], keys["rsa"], b"fail")
    recs = records(keys)
    assert b"cv=fail" in msg
    assert dkimpy_verify(msg, recs)[0] is None  # "the chain is terminated"
    rc, first, _ = postern_arc_verify(tmp_path, msg, recs)
    assert rc == 1
    assert first == "arc=fail (ARC-Seal i=2 says cv=fail: the chain has ended)", first
    # a third hop cannot revive it
    msg = dkimpy_hop(msg, HOPS[2], keys["rsa"], b"pass")
    rc, first, _ = postern_arc_verify(tmp_path, msg, recs)
    assert rc == 1 and first.startswith("arc=fail"), first


# ---- postern seals, dkimpy verifies -----------------------------------------

@pytest.mark.parametrize("alg", ["rsa", "ed"])
def test_postern_seal_first_hop(tmp_path, keys, alg):
    recs = records(keys)
    selector = "sel" if alg == "rsa" else "ed"
    sealed = postern_arc_seal(tmp_path, MESSAGE, recs, keys[alg][0], selector,
                              "postern.example; spf=pass smtp.mailfrom=example.org")
    assert sealed.startswith(b"ARC-Seal: i=1; a=" +
                             (b"rsa-sha256" if alg == "rsa" else b"ed25519-sha256"))
    assert b"cv=none" in sealed.split(b"\n", 1)[0]
    if alg == "rsa":
        cv, results, reason = dkimpy_verify(sealed, recs)
        assert cv == b"pass", reason
        assert results[0]["as-domain"] == b"postern.example"
        assert results[0]["aar-value"].startswith(b"i=1; postern.example; spf=pass")
    rc, first, _ = postern_arc_verify(tmp_path, sealed, recs)
    assert rc == 0, first


@pytest.mark.parametrize("alg", ["rsa", "ed"])
def test_postern_seal_between_dkimpy_hops(tmp_path, keys, alg):
    recs = records(keys)
    selector = "sel" if alg == "rsa" else "ed"
    msg = dkimpy_chain(keys, 2)
    # cv from postern's own verification of the chain it received
    sealed = postern_arc_seal(tmp_path, msg, recs, keys[alg][0], selector,
                              "postern.example; arc=pass")
    assert b"cv=pass" in sealed[:200]
    assert b"ARC-Seal: i=3;" in sealed[:40]
    if alg == "rsa":
        cv, results, reason = dkimpy_verify(sealed, recs)
        assert cv == b"pass", reason
    # and a dkimpy hop after postern's
    after = dkimpy_hop(sealed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), HOPS[2],
                       keys["rsa"], b"pass")
    if alg == "rsa":
        cv, results, reason = dkimpy_verify(after, recs)
        assert cv == b"pass", reason
        assert [r["as-domain"] for r in results] == [b"fwd.example", b"postern.example",
                                                     b"relay.example", b"lists.example"]
    rc, first, _ = postern_arc_verify(tmp_path, after, recs)
    assert rc == 0 and first.startswith("arc=pass header.oldest-pass=0 "), first


def test_postern_seal_of_broken_chain_is_fail(tmp_path, keys):
    recs = records(keys)
    msg = dkimpy_chain(keys, 2).replace(b"figures  are", b"figures were")
    sealed = postern_arc_seal(tmp_path, msg, recs, keys["rsa"][0], "sel",
                              "postern.example; arc=fail")
    assert b"cv=fail" in sealed[:200]
    assert dkimpy_verify(sealed, recs)[0] is None  # a cv=fail seal ends the chain
    # refusals: a pass over nothing, an authres that would inject a field
    path = tmp_path / "m.eml"
    path.write_bytes(MESSAGE)
    base = ["dkim", "arc-seal", str(path), "--signing-key", str(keys["rsa"][0]), "--domain",
            "postern.example", "--selector", "sel"]
    p = run_postern(*base, "--authres", "x; spf=pass", "--cv", "pass")
    assert p.returncode == 1 and "cv must be none" in p.stderr
    p = run_postern(*base, "--authres", "x; spf=pass\nX-Injected: 1")
    assert p.returncode == 1 and p.stdout == ""
    p = run_postern(*base, "--authres", "x; spf=pass", "--cv", "maybe")
    assert p.returncode == 2
