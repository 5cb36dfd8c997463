"""`postern domain records DOMAIN [--check]`: the DNS records an admin publishes
(MX, SPF, DKIM, DMARC, the mail host's A/AAAA, the PTR to ask for), also printed
by `domain add`, and the check of each against a private DNS server
(dnsserver.py): ok / missing / differs, exit 0 only when all are right.

The server is never started: the records come from the configuration
(hostname, listen.smtp, queue.source_ipv4/6) and the store (DKIM keys). The
public addresses are documentation ranges, whose reverse zones libunbound
answers itself unless dns.allow_zones lets them through."""
import re

import pytest

from dnsserver import DnsServer

DOMAIN = "records.test"
HOST = "mx.records.test"
V4, V6, SRC4 = "203.0.113.5", "2001:db8::25", "198.51.100.7"
REV4 = "5.113.0.203.in-addr.arpa"
REV_SRC4 = "7.100.51.198.in-addr.arpa"
REV6 = ".".join(reversed("20010db8" + "0" * 20 + "0025")) + ".ip6.arpa"
REVERSE_ZONES = ["113.0.203.in-addr.arpa.", "100.51.198.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."]
ZONE_LINE = re.compile(r"^(\S+)\. IN (MX|TXT|A|AAAA|PTR) (.+)$")


@pytest.fixture(scope="module")
def dns():
    zones = {"test.": "static", **{z: "static" for z in REVERSE_ZONES}}
    with DnsServer([], zones=zones) as d:
        yield d


def records_config(dns=None, listen=None, source=SRC4):
    cfg = {"hostname": HOST,
           "listen": {"smtp": listen or ["127.0.0.1:2525", f"{V4}:25", f"[{V6}]:25", "0.0.0.0:26",
                                         "10.1.2.3:25", "[::1]:25", "[fe80::1]:25"]}}
    if source:
        cfg["queue"] = {"source_ipv4": source}
    if dns is not None:
        cfg["dns"] = {"servers": [dns.addr], "allow_zones": ["test."] + REVERSE_ZONES}
    return cfg


def make_domain(postern, dns=None, listen=None, keys=("rsa1", "ed1"), source=SRC4):
    """A stopped server with records.test and DKIM keys rsa1 (RSA) and ed1 (Ed25519)."""
    srv = postern(config=records_config(dns, listen, source), start=False)
    srv.add_domain(DOMAIN)
    for sel in keys:
        alg = "ed25519" if sel.startswith("ed") else "rsa-2048"
        p = srv.cli("dkim", "keygen", DOMAIN, "--selector", sel, "--algorithm", alg)
        assert p.returncode == 0, p.stderr
    return srv


def zone_lines(text):
    """[(owner, type, data)] of the record lines, each checked to follow a comment line."""
    out, prev = [], ""
    for line in text.splitlines():
        m = ZONE_LINE.match(line)
        if m:
            assert prev.startswith("; ") and len(prev) > 10, f"no comment before {line!r}"
            out.append(m.groups())
        else:
            assert line.startswith(";") or line.startswith("domain ") or line == "", line
        prev = line
    return out


def txt_strings(data):
    strings = re.findall(r'"([^"]*)"', data)
    assert strings and all(len(s) <= 255 for s in strings), data
    return "".join(strings)


def local_data(lines, ttl=5):
    """The listing's records as unbound local-data (TXT strings kept apart)."""
    out = []
    for owner, rtype, data in lines:
        if rtype == "TXT":
            data = " ".join('"%s"' % s for s in re.findall(r'"([^"]*)"', data))
        out.append(f"{owner}. {ttl} {rtype} {data}")
    return out


def listing(srv):
    p = srv.cli("domain", "records", DOMAIN)
    assert p.returncode == 0, p.stderr
    return zone_lines(p.stdout)


def check(srv):
    """(exit code, {(kind, owner): (verdict, detail)}, stdout) of domain records --check;
    an A/AAAA owner is "host (address)"."""
    p = srv.cli("domain", "records", DOMAIN, "--check")
    verdicts = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^(ok|missing|differs|lookup failed) +(\S+) +(\S+(?: \(\S+\))?): (.*)$", line)
        if m:
            assert (m.group(2), m.group(3)) not in verdicts, line
            verdicts[(m.group(2), m.group(3))] = (m.group(1), m.group(4))
    return p.returncode, verdicts, p.stdout


# ---- the listing -----------------------------------------------------------------------


def test_listing_names_every_record(postern):
    srv = make_domain(postern)
    lines = listing(srv)
    by_type = {}
    for owner, rtype, data in lines:
        by_type.setdefault(rtype, []).append((owner, data))

    assert by_type["MX"] == [(DOMAIN, f"10 {HOST}.")]
    spf = [txt_strings(d) for o, d in by_type["TXT"] if o == DOMAIN]
    # only global addresses: no wildcard, loopback, private or link-local one
    assert spf == [f"v=spf1 mx ip4:{V4} ip6:{V6} ip4:{SRC4} -all"]
    assert sorted(by_type["A"]) == sorted([(HOST, V4), (HOST, SRC4)])
    assert by_type["AAAA"] == [(HOST, V6)]
    assert sorted(by_type["PTR"]) == sorted([(REV4, HOST + "."), (REV6, HOST + "."),
                                            (REV_SRC4, HOST + ".")])
    dmarc = [txt_strings(d) for o, d in by_type["TXT"] if o == "_dmarc." + DOMAIN]
    assert dmarc == [f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{DOMAIN}"]

    # the DKIM records are the ones `dkim show` prints
    dkim = {o.split(".")[0]: txt_strings(d) for o, d in by_type["TXT"] if "._domainkey." in o}
    assert set(dkim) == {"rsa1", "ed1"}
    assert dkim["rsa1"].startswith("v=DKIM1; k=rsa; p=MII")
    assert dkim["ed1"].startswith("v=DKIM1; k=ed25519; p=")
    shown = srv.cli("dkim", "show", DOMAIN).stdout
    for sel, value in dkim.items():
        line = next(ln for ln in shown.splitlines() if ln.startswith(f"{sel}._domainkey."))
        assert txt_strings(line.split(" IN TXT ", 1)[1]) == value


def test_listing_without_public_addresses(postern):
    srv = make_domain(postern, listen=["127.0.0.1:2525", "[::1]:2525", "192.168.1.2:25"],
                      keys=(), source=None)
    p = srv.cli("domain", "records", DOMAIN)
    assert p.returncode == 0, p.stderr
    lines = zone_lines(p.stdout)
    assert [t for _, t, _ in lines] == ["MX", "TXT", "TXT"]
    assert txt_strings(lines[1][2]) == "v=spf1 mx -all"
    assert f"'mx' covers it once {HOST} has its A/AAAA records" in p.stdout
    assert f"postern dkim keygen {DOMAIN}" in p.stdout


def test_domain_add_prints_the_records(postern):
    srv = postern(config=records_config(), start=False)
    p = srv.cli("domain", "add", "fresh.test")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("domain fresh.test added\n")
    lines = zone_lines(p.stdout)
    assert ("fresh.test", "MX", f"10 {HOST}.") in lines
    assert ("_dmarc.fresh.test", "TXT",
            '"v=DMARC1; p=quarantine; rua=mailto:postmaster@fresh.test"') in lines
    assert (REV4, "PTR", HOST + ".") in lines
    assert "postern dkim keygen fresh.test" in p.stdout


def test_unknown_or_invalid_domain_refused(postern, dns):
    srv = make_domain(postern, dns, keys=())
    for args in (("records", "example.com"), ("records", "example.com", "--check")):
        p = srv.cli("domain", *args)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert "example.com is not a local domain" in p.stderr
        assert p.stdout == ""
    for args in (("records", "../etc"), ("records",), ("records", DOMAIN, "extra"),
                 ("list", "--check"), ("add", "x.test", "--check")):
        p = srv.cli("domain", *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert "x.test" not in srv.cli("domain", "list").stdout


# ---- --check -----------------------------------------------------------------------------


def test_check_all_published(postern, dns):
    srv = make_domain(postern, dns)
    dns.update(local_data(listing(srv)))
    rc, verdicts, out = check(srv)
    assert rc == 0, out
    assert len(verdicts) == 11, out
    assert all(v == "ok" for v, _ in verdicts.values()), out
    assert verdicts[("DMARC", "_dmarc." + DOMAIN)][1].startswith("policy p=quarantine"), out
    assert "all 11 records are published" in out


def test_check_reports_missing_and_wrong(postern, dns):
    srv = make_domain(postern, dns)
    good = local_data(listing(srv))
    other = make_domain(postern, keys=("rsa1",))  # another key under the same selector
    wrong_key = next(r for r in local_data(listing(other)) if r.startswith("rsa1._domainkey."))
    records = [r for r in good
               if not r.startswith((f"{DOMAIN}. 5 MX", f"{DOMAIN}. 5 TXT", "rsa1._domainkey.",
                                    "ed1._domainkey.", "_dmarc.", REV4, REV6,
                                    f"{HOST}. 5 A {SRC4}"))]
    records += [
        f"{DOMAIN}. 5 MX 10 mail.elsewhere.test.",                # MX to another host
        f'{DOMAIN}. 5 TXT "v=spf1 ip4:192.0.2.99 -all"',          # does not cover the server
        f'{DOMAIN}. 5 TXT "google-site-verification=abc"',        # unrelated TXT is fine
        wrong_key,                                                # ed1 is left out: missing
        f'_dmarc.{DOMAIN}. 5 TXT "some other text"',              # no v=DMARC1
        f"{REV4}. 5 PTR host.provider.test.",                     # generic reverse name
        # REV6 left out: missing
    ]
    dns.update(records)
    rc, verdicts, out = check(srv)
    assert rc == 1, out
    assert verdicts[("MX", DOMAIN)] == ("differs", "found: 10 mail.elsewhere.test"), out
    v, detail = verdicts[("SPF", DOMAIN)]
    assert v == "differs" and "does not authorise" in detail and "192.0.2.99" in detail, out
    v, detail = verdicts[("DKIM", f"rsa1._domainkey.{DOMAIN}")]
    assert v == "differs" and "another key" in detail, out
    assert verdicts[("DKIM", f"ed1._domainkey.{DOMAIN}")][0] == "missing", out
    assert verdicts[("DMARC", f"_dmarc.{DOMAIN}")][0] == "missing", out
    assert verdicts[("A", f"{HOST} ({V4})")][0] == "ok", out
    assert verdicts[("A", f"{HOST} ({SRC4})")] == ("differs", f"found: {V4}"), out
    assert verdicts[("AAAA", f"{HOST} ({V6})")] == ("ok", f"found: {V6}"), out
    assert verdicts[("PTR", REV4)] == ("differs", "found: host.provider.test"), out
    assert verdicts[("PTR", REV6)][0] == "missing", out
    assert verdicts[("PTR", REV_SRC4)][0] == "ok", out
    # each record that is not right is followed by the line to publish
    assert f"      publish: {DOMAIN}. IN MX 10 {HOST}." in out
    assert f"      publish: {REV6}. IN PTR {HOST}." in out
    assert "8 of 11 records need attention" in out


def test_check_spf_dangerous_or_duplicated(postern, dns):
    srv = make_domain(postern, dns, keys=())
    good = [r for r in local_data(listing(srv)) if not r.startswith(f"{DOMAIN}. 5 TXT")]
    for spf, verdict, words in [
        (['"v=spf1 +all"'], "differs", "dangerous"),
        (['"v=spf1 mx all"'], "differs", "dangerous"),  # a bare "all" is "+all"
        (['"v=spf1 ip4:10.0.0.0/8 all"'], "differs", "dangerous"),
        (['"v=spf1 mx -all"', '"v=spf1 a -all"'], "differs", "2 v=spf1 records"),
        (['"v=spf1 -ip4:203.0.113.5 mx -all"'], "differs", "does not authorise"),
        ([f'"v=spf1 ip4:203.0.113.0/24 ip4:{SRC4} ip6:2001:db8::/32 ~all"'], "ok", "/24"),
        (['"v=spf1 include:_spf.provider.test -all"'], "differs", "not followed"),
        ([f'"v=spf1 a:{HOST} -all"'], "ok", HOST),
    ]:
        dns.update(good + [f"{DOMAIN}. 5 TXT {s}" for s in spf])
        rc, verdicts, out = check(srv)
        v, detail = verdicts[("SPF", DOMAIN)]
        assert (v, words in detail) == (verdict, True), (spf, out)
        assert rc == (0 if verdict == "ok" else 1), (spf, out)


def test_check_lookup_failure(postern, dns):
    # answers REFUSED for the whole domain: every lookup under it fails
    srv = make_domain(postern, dns, keys=())
    dns.update([], zones={"test.": "static", f"{DOMAIN}.": "refuse",
                          **{z: "static" for z in REVERSE_ZONES}})
    try:
        rc, verdicts, out = check(srv)
    finally:
        dns.update([], zones={"test.": "static", **{z: "static" for z in REVERSE_ZONES}})
    assert rc == 1, out
    assert verdicts[("MX", DOMAIN)][0] == "lookup failed", out
    assert verdicts[("PTR", REV4)][0] == "missing", out
