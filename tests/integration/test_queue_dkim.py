"""DKIM signing of relayed mail (RSA and Ed25519 side by side, RFC 6376 / RFC 8463),
checked by an independent verifier (dkimpy via dkim_verify.py), and the
`postern dkim` CLI."""
import os
import re
import stat
import subprocess

from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    ALICE, DKIM_VERIFY, LOCAL_DOMAIN, MX, make_message, qserver, queue_dns, queue_template,
    send_mail, sinks, queue_ca,
)


def dkim_records(srv):
    """{selector: {"alg", "path", "record"}} from `postern dkim show`."""
    p = srv.cli("dkim", "show", LOCAL_DOMAIN)
    assert p.returncode == 0, p.stderr
    out, meta = {}, None
    for line in p.stdout.splitlines():
        m = re.match(r"^; selector (\S+), (\S+), key (.+)$", line)
        if m:
            meta = {"alg": m.group(2), "path": m.group(3)}
            continue
        # one string alone, or several in parentheses (RFC 1035 3.3.14: 255 octets each)
        m = re.match(r"^(\S+)\._domainkey\.(\S+)\. IN TXT (\(.*\)|\".*\")$", line)
        if m:
            assert m.group(2) == LOCAL_DOMAIN, line
            strings = re.findall(r'"([^"]*)"', m.group(3))
            assert strings and all(len(s) <= 255 for s in strings), line
            out[m.group(1)] = dict(meta or {}, record="".join(strings))
    return out


def header_fields(data):
    """Splits an LF message into (list of header fields with their
    continuation lines, the rest from the blank line on)."""
    head, sep, body = data.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields, sep + body


def tags(field):
    value = re.sub(rb"\s+", b"", field.split(b":", 1)[1]).decode()
    return dict(t.split("=", 1) for t in value.split(";") if "=" in t)


def with_one_signature(data, selector):
    """The message with only the DKIM-Signature of `selector` (dkimpy checks the first)."""
    fields, rest = header_fields(data)
    kept = [f for f in fields if not f.lower().startswith(b"dkim-signature:")
            or tags(f).get("s") == selector]
    return b"\n".join(kept) + rest


def verify(tmp_path, data, selector, record, name):
    path = tmp_path / name
    path.write_bytes(data)
    p = subprocess.run(["/usr/bin/python3", str(DKIM_VERIFY), str(path), selector, LOCAL_DOMAIN,
                        record], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def test_dkim_dual_signature_verifies(qserver, sinks, tmp_path):
    srv = qserver(start=False)
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN)
    assert p.returncode == 0, p.stderr
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--algorithm", "ed25519")
    assert p.returncode == 0, p.stderr
    recs = dkim_records(srv)
    by_alg = {v["alg"]: (sel, v) for sel, v in recs.items()}
    assert sorted(by_alg) == ["ed25519-sha256", "rsa-sha256"], recs
    rsa_sel, rsa = by_alg["rsa-sha256"]
    ed_sel, ed = by_alg["ed25519-sha256"]
    assert "k=rsa" in rsa["record"] and "k=ed25519" in ed["record"], recs
    for v in (rsa, ed):
        assert v["record"].startswith("v=DKIM1;"), v
        mode = stat.S_IMODE(os.stat(v["path"]).st_mode)
        assert mode == 0o600, f"{v['path']}: mode {oct(mode)}"

    sink = sinks.start(MX["plain"])
    srv.start()
    mid, msg = make_message("signed twice", "bob@plain.test")
    send_mail(srv.port, ALICE, ["bob@plain.test"], msg)
    (d,) = sink.wait_deliveries(1)
    assert d["message_id"] == mid
    data = d["data"].replace(b"\r\n", b"\n")
    fields, _ = header_fields(data)
    sigs = [tags(f) for f in fields if f.lower().startswith(b"dkim-signature:")]
    assert sorted(s.get("a") for s in sigs) == ["ed25519-sha256", "rsa-sha256"], sigs
    for s in sigs:
        assert s.get("d") == LOCAL_DOMAIN, s
        assert s.get("s") == (rsa_sel if s["a"] == "rsa-sha256" else ed_sel), s
        assert "from" in s.get("h", "").lower().split(":"), s

    for sel, rec in ((rsa_sel, rsa["record"]), (ed_sel, ed["record"])):
        one = with_one_signature(data, sel)
        rc, out = verify(tmp_path, one, sel, rec, f"{sel}.eml")
        assert rc == 0 and "PASS" in out, (sel, out)
        # the verifier can say no: a changed body, a changed Subject, the wrong key
        rc, out = verify(tmp_path, one.replace(b"leading dot", b"leading DOT"), sel, rec,
                         f"{sel}-body.eml")
        assert rc == 1, (sel, "tampered body verified", out)
        rc, out = verify(tmp_path, one.replace(b"Subject: signed twice", b"Subject: signed once"),
                         sel, rec, f"{sel}-subject.eml")
        assert rc == 1, (sel, "tampered Subject verified", out)
    rc, out = verify(tmp_path, with_one_signature(data, rsa_sel), rsa_sel,
                     rsa["record"].replace(rsa["record"][-20:-4], "A" * 16), "wrongkey.eml")
    assert rc == 1, ("verified with a different key", out)

    # postern's own verifier passes both signatures, with the record files
    # as `postern dkim show` prints them
    (tmp_path / "both.eml").write_bytes(data)
    args = ["dkim", "verify", str(tmp_path / "both.eml")]
    for sel, rec in ((rsa_sel, rsa["record"]), (ed_sel, ed["record"])):
        (tmp_path / f"{sel}.txt").write_text(rec)
        args += ["--key", f"{sel}._domainkey.{LOCAL_DOMAIN}={tmp_path / (sel + '.txt')}"]
    p = srv.cli(*args)
    assert p.returncode == 0, p.stdout + p.stderr
    verdicts = sorted(ln.split()[0] + " " + ln.split()[2] for ln in p.stdout.splitlines())
    assert verdicts == sorted([f"dkim=pass header.s={rsa_sel}", f"dkim=pass header.s={ed_sel}"]), \
        p.stdout
    (tmp_path / "both.eml").write_bytes(data.replace(b"leading dot", b"leading DOT"))
    p = srv.cli(*args)
    assert p.returncode == 1 and p.stdout.count("dkim=fail") == 2, p.stdout


def test_unsigned_when_sender_domain_has_no_key(qserver, sinks):
    srv = qserver(start=False)
    assert srv.cli("dkim", "keygen", LOCAL_DOMAIN).returncode == 0
    sink = sinks.start(MX["plain"])
    srv.start()
    mid, msg = make_message("not ours to sign", "bob@plain.test", sender="someone@elsewhere.test")
    send_mail(srv.port, "someone@elsewhere.test", ["bob@plain.test"], msg)
    (d,) = sink.wait_deliveries(1)
    assert b"DKIM-Signature" not in d["data"], d["data"][:600]


def test_dkim_cli(qserver):
    srv = qserver(start=False)
    p = srv.cli("dkim", "keygen", "remote.test")
    assert p.returncode != 0 and "not a local domain" in p.stderr, (p.returncode, p.stderr)
    assert not (srv.data_dir / "dkim" / "remote.test").exists()
    p = srv.cli("dkim", "show", LOCAL_DOMAIN)
    assert p.returncode != 0 and "no DKIM key" in p.stderr, p.stderr
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--selector", "sel1")
    assert p.returncode == 0, p.stderr
    key = srv.data_dir / "dkim" / LOCAL_DOMAIN / "sel1.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) & 0o077 == 0
    before = key.read_bytes()
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--selector", "sel1")
    assert p.returncode != 0, "an existing selector was generated again"
    assert key.read_bytes() == before, "the existing key was overwritten"
    for bad in ("../x", "a.b", "", "-x/"):
        p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--selector", bad)
        assert p.returncode != 0, bad
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--algorithm", "dsa")
    assert p.returncode != 0
    assert list(dkim_records(srv)) == ["sel1"]
    # a DNS label has at most 63 octets (RFC 1035 2.3.4): a longer selector is
    # refused, not cut down to another name than the one asked for
    p = srv.cli("dkim", "keygen", LOCAL_DOMAIN, "--selector", "x" * 64)
    assert p.returncode != 0, f"64-octet selector accepted:\n{p.stdout}"
    assert list(dkim_records(srv)) == ["sel1"]
