"""`postern spf check --ip IP --sender ADDRESS --helo NAME`: the SPF evaluator
(src/mailauth/spf_eval.c) on the libunbound resolver (resolver_query through
src/mailauth/spf_resolver.c), against a private DNS server (dnsserver.py)
serving a few zones: ip4, a and mx, include, redirect, exp= explanations, the
null sender's HELO identity, a refuse zone (SERVFAIL: temperror), and a
hostile include loop and oversized record set."""
import pytest

from dnsserver import DnsServer

ZONE = [
    'pass.test. TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    'fail.test. TXT "v=spf1 -all exp=why.fail.test"',
    'why.fail.test. TXT "%{i} is not a sender of %{d}"',
    'soft.test. TXT "v=spf1 include:pass.test ~all"',
    'redir.test. TXT "v=spf1 redirect=mx.test"',
    'mx.test. TXT "v=spf1 mx/30 a:host.mx.test -all"',
    "mx.test. MX 10 mail1.mx.test.",
    "mx.test. MX 20 mail2.mx.test.",
    "mail1.mx.test. A 198.51.100.1",
    "mail2.mx.test. A 198.51.100.9",
    "host.mx.test. AAAA 2001:db8::25",
    'split.test. TXT "v=spf1 ip4:203.0.113.7" " -all"',
    'helo.test. TXT "v=spf1 a -all"',
    "helo.test. A 203.0.113.50",
    'temp.test. TXT "v=spf1 include:broken.example -all"',
    'loop.test. TXT "v=spf1 include:loop.test -all"',
    'macro.test. TXT "v=spf1 exists:%{l}.ok.macro.test -all"',
    "a+b=c.ok.macro.test. A 127.0.0.2",
]


@pytest.fixture(scope="module")
def dns():
    with DnsServer(ZONE, zones={"test.": "static", "broken.example.": "refuse"}) as d:
        yield d


@pytest.fixture()
def spf(postern, dns):
    srv = postern(config={"hostname": "mx.receiver.test",
                          "dns": {"servers": [dns.addr], "allow_zones": ["test."]}},
                  start=False)

    def check(ip, sender, helo="client.test"):
        p = srv.cli("spf", "check", "--ip", ip, "--sender", sender, "--helo", helo, timeout=90)
        assert p.returncode == 0, p.stderr
        out = dict(line.split(": ", 1) for line in p.stdout.splitlines())
        return out
    return check


def test_pass_and_fail(spf):
    out = spf("192.0.2.55", "alice@pass.test")
    assert out["result"] == "pass"
    assert out["identity"] == "mailfrom" and out["domain"] == "pass.test"
    assert "ip4" in out["reason"]
    out = spf("198.51.100.3", "alice@pass.test")
    assert out["result"] == "fail" and "explanation" not in out


def test_explanation_only_on_fail(spf):
    out = spf("198.51.100.3", "bob@fail.test")
    assert out["result"] == "fail"
    assert out["explanation"] == "198.51.100.3 is not a sender of fail.test"


def test_include_and_redirect_with_mx(spf):
    assert spf("192.0.2.1", "x@soft.test")["result"] == "pass"
    assert spf("203.0.113.1", "x@soft.test")["result"] == "softfail"
    # mx/30: 198.51.100.9 is mail2's own address; .10 is in its /30, .13 is not
    assert spf("198.51.100.10", "x@redir.test")["result"] == "pass"
    assert spf("198.51.100.13", "x@redir.test")["result"] == "fail"
    assert spf("2001:db8::25", "x@redir.test")["result"] == "pass"


def test_txt_strings_joined(spf):
    assert spf("203.0.113.7", "x@split.test")["result"] == "pass"
    assert spf("203.0.113.8", "x@split.test")["result"] == "fail"


def test_null_sender_checks_helo(spf):
    out = spf("203.0.113.50", "", helo="helo.test")
    assert out["result"] == "pass"
    assert out["identity"] == "helo" and out["domain"] == "helo.test"
    assert spf("203.0.113.51", "", helo="helo.test")["result"] == "fail"


def test_temperror_none_and_permerror(spf):
    assert spf("192.0.2.1", "x@temp.test")["result"] == "temperror"
    assert spf("192.0.2.1", "x@nothing.test")["result"] == "none"
    out = spf("192.0.2.1", "x@loop.test")
    assert out["result"] == "permerror"
    assert "DNS-querying terms" in out["reason"]


def test_macro_names_with_odd_octets(spf):
    # '+' and '=' from the local part reach the DNS escaped
    assert spf("192.0.2.1", "a+b=c@macro.test")["result"] == "pass"
    assert spf("192.0.2.1", "other@macro.test")["result"] == "fail"


def test_bad_arguments(postern, dns):
    srv = postern(config={"dns": {"servers": [dns.addr], "allow_zones": ["test."]}}, start=False)
    p = srv.cli("spf", "check", "--ip", "192.0.2.1")
    assert p.returncode == 2
    p = srv.cli("spf", "check", "--ip", "not-an-ip", "--sender", "a@pass.test", "--helo", "h.test")
    assert p.returncode == 0 and "result: permerror" in p.stdout
