"""DNS block- and allowlists end to end: `postern dnsbl check IP` runs
src/filter/dnsbl.c on the libunbound resolver against a private DNS server
(dnsserver.py) serving list zones: listings and weights, the threshold
(reject) and below it (junk), an allowlist, a zone's return-code filter,
IPv6 nibble names, the "your resolver is refused" answer (an error with
advice, never a listing), an answer outside 127/8, a SERVFAIL zone and a
silent one (timeout), dnsbl.allow; config errors for bad zones."""
import pytest

from dnsserver import DnsServer

NIBBLES = ".".join(reversed("20010db8000000000000000000000025"))
ZONE = [
    # 127.0.0.2, the lists' own test entry
    "2.0.0.127.zen.bl.test. 5 A 127.0.0.2",
    "2.0.0.127.cop.bl.test. 5 A 127.0.0.2",
    # 192.0.2.5: spamcop only (5 < 10: junk)
    "5.2.0.192.cop.bl.test. 5 A 127.0.0.2",
    # 192.0.2.6: zen's policy code, which the filter leaves out
    "6.2.0.192.zen.bl.test. 5 A 127.0.0.10",
    # 192.0.2.7: both lists and the allowlist: 10 + 5 - 5
    "7.2.0.192.zen.bl.test. 5 A 127.0.0.3",
    "7.2.0.192.cop.bl.test. 5 A 127.0.0.2",
    "7.2.0.192.wl.test. 5 A 127.0.10.3",
    # 192.0.2.9: the list refuses our resolver
    "9.2.0.192.zen.bl.test. 5 A 127.255.255.254",
    # 192.0.2.11: a hijacking resolver's answer
    "11.2.0.192.cop.bl.test. 5 A 198.51.100.80",
    NIBBLES + ".zen.bl.test. 5 A 127.0.0.4",
]
ZONES = {"test.": "static", "down.test.": "refuse", "silent.test.": "deny"}


@pytest.fixture(scope="module")
def dns():
    with DnsServer(ZONE, zones=ZONES) as d:
        yield d


def lists(postern, dns, bl, wl=(), **extra):
    conf = {"dns": {"servers": [dns.addr], "allow_zones": ["test."]},
            "dnsbl": {"zones": list(bl), "threshold": 10, "allow": ["10.0.0.0/8"],
                      "timeout": "2s", **extra}}
    if wl:
        conf["dnswl"] = {"zones": list(wl)}
    srv = postern(config=conf, start=False)

    def check(ip):
        p = srv.cli("dnsbl", "check", ip, timeout=60)
        assert p.returncode == 0, p.stderr
        out = dict(line.split(": ", 1) for line in p.stdout.splitlines())
        out["stderr"] = p.stderr
        return out
    return check


ZEN = "zen.bl.test:127.0.0.2-127.0.0.9=10"


def test_listing_weights_threshold(postern, dns):
    check = lists(postern, dns, [ZEN, "cop.bl.test=5"], ["wl.test=5"])
    out = check("127.0.0.2")
    assert out["action"] == "reject" and out["score"] == "15"
    assert out["listed"] == "zen.bl.test=127.0.0.2,cop.bl.test=127.0.0.2"
    assert out["reply"].startswith("554 5.7.1 ") and "zen.bl.test,cop.bl.test" in out["reply"]
    assert out["header"] == ("X-Postern-DNSBL: score=15; listed=zen.bl.test=127.0.0.2,"
                             "cop.bl.test=127.0.0.2; errors=none")
    out = check("192.0.2.5")
    assert out["action"] == "junk" and out["score"] == "5"
    # 10 + 5 - 5: still at the threshold
    out = check("192.0.2.7")
    assert out["score"] == "10" and out["action"] == "reject"
    assert "wl.test=127.0.10.3" in out["listed"]
    out = check("198.51.100.1")
    assert out["action"] == "accept" and out["score"] == "0" and out["listed"] == "none"


def test_allowlist_takes_off(postern, dns):
    check = lists(postern, dns, [ZEN], ["wl.test=5"])
    out = check("192.0.2.7")
    assert out["score"] == "5" and out["action"] == "junk"


def test_code_filter_and_ipv6(postern, dns):
    check = lists(postern, dns, [ZEN])
    out = check("192.0.2.6")
    assert out["action"] == "accept" and out["listed"] == "none", out
    out = check("2001:db8::25")
    assert out["action"] == "reject" and out["listed"] == "zen.bl.test=127.0.0.4"


def test_refused_resolver_is_an_error(postern, dns):
    check = lists(postern, dns, [ZEN, "cop.bl.test=5"])
    out = check("192.0.2.9")
    assert out["action"] == "accept" and out["score"] == "0"
    assert out["errors"] == "zen.bl.test=refused"
    assert "dnsbl.resolver_refused" in out["stderr"]
    assert "dns.servers" in out["stderr"] and "127.255.255.254" in out["stderr"]
    # an answer outside 127/8 is no listing either
    out = check("192.0.2.11")
    assert out["action"] == "accept" and out["errors"] == "cop.bl.test=bad-answer"


def test_broken_zones_do_not_list(postern, dns):
    check = lists(postern, dns, [ZEN, "down.test=10", "silent.test=10"])
    out = check("127.0.0.2")
    # zen's listing stands; the SERVFAIL zone and the silent one are errors
    assert out["action"] == "reject" and out["score"] == "10"
    errors = dict(e.split("=") for e in out["errors"].split(","))
    assert errors["down.test"] == "tempfail"
    assert errors["silent.test"] in ("timeout", "tempfail")


def test_allowed_clients_and_no_zones(postern, dns):
    check = lists(postern, dns, [ZEN])
    out = check("10.1.2.3")
    assert out["action"] == "skipped" and "score" not in out
    check = lists(postern, dns, [])
    assert check("127.0.0.2")["action"] == "skipped"


@pytest.mark.parametrize("zones, message", [
    (["zen.bl.test=0"], "weight"),
    (["zen.bl.test:127.0.0.9-127.0.0.2"], "codes"),
    (["not a zone"], "domain name"),
])
def test_bad_zones_refused(postern, dns, zones, message):
    srv = postern(config={"dnsbl": {"zones": zones}}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode != 0 and message in p.stderr, p.stderr


def test_usage(postern):
    srv = postern(start=False)
    assert srv.cli("dnsbl", "check").returncode == 2
    assert srv.cli("dnsbl", "lookup", "192.0.2.1").returncode == 2
