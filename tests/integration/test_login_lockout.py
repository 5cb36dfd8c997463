"""A username block must not lock its owner out (issue #25): failures are
counted per client address, per username and per username from one address;
a blocked username still logs in with its own password from a network it
used in the last 30 days, and from elsewhere after a delay (not refused),
while the per-address limits keep guessing as slow as before. A stale
password on one phone does not block the other users behind its address.

Clients are distinct loopback addresses (127.0.0.2, .3, ...). They share a
/24, so the servers here remember networks as /32 (auth.known_networks.
ipv4_prefix = 32): the prefix is a setting anyway (a site may want /32 or
/16), and that keeps the tests on the IPv4 listeners every test uses, rather
than needing an IPv6 loopback listener that a CI container may not have."""
import time

from conftest import PASSWORD
from imap_fixtures import ALICE, BOB, IMAPConn, imap_server, quote
from submission_util import auth_plain, auth_scram, sub_client, submission_server

# the failure delay 100 ms doubling to 250 ms; a delayed check waits 2 x 250 ms
LIMITS = {"delay_base": "100ms", "delay_max": "250ms", "fast_block_threshold": 100000}
HOLD = 0.5
KNOWN_AS_32 = {"auth": {"known_networks": {"ipv4_prefix": 32}}}


def imap_login_from(srv, source, user=ALICE, password=PASSWORD):
    """LOGIN over IMAPS from loopback address source: (tagged result, seconds)."""
    c = IMAPConn(srv.imaps_port, tls=True, source=source)
    try:
        t = time.monotonic()
        r = c.cmd(f"LOGIN {quote(user)} {quote(password)}")
        return r, time.monotonic() - t
    finally:
        c.close()


def smtp_auth_from(srv, source, user=ALICE, password=PASSWORD, scram=False):
    """AUTH PLAIN (or SCRAM-SHA-256) on the submission port from source: (reply, seconds)."""
    c = sub_client(srv, source=source)
    try:
        t = time.monotonic()
        r = auth_scram(c, user, password)[0] if scram else auth_plain(c, user, password)
        return r, time.monotonic() - t
    finally:
        c.close()


def ok(r):
    assert r.status == "OK", r


def failed(r):
    assert (r.status, r.code) == ("NO", "AUTHENTICATIONFAILED"), r


def refused(r):
    assert (r.status, r.code) == ("NO", "UNAVAILABLE"), r


def successes(srv):
    return [e for e in srv.logs("auth.success")]


# ---- IMAP --------------------------------------------------------------------------------------


def test_imap_blocked_username_spares_its_owner(postern):
    srv = imap_server(postern, config=KNOWN_AS_32, auth=LIMITS)
    ok(imap_login_from(srv, "127.0.0.3")[0])            # alice's own network from now on
    for i in range(5):
        failed(imap_login_from(srv, "127.0.0.2", password=f"guess-{i}")[0])
    scopes = {(e["scope"], e["ip"]) for e in srv.logs("auth.blocked")}
    assert scopes == {("user", "127.0.0.2"), ("ip_user", "127.0.0.2")}, scopes

    # the right password from her known network: at once, and logged as such
    r, dt = imap_login_from(srv, "127.0.0.3")
    ok(r)
    assert dt < HOLD, dt
    e = successes(srv)[-1]
    assert (e["ip"], e["user_blocked"], e["lockout"]) == ("127.0.0.3", True, "known_network"), e
    # the guesser's address stays refused for alice, right password or not
    refused(imap_login_from(srv, "127.0.0.2")[0])
    # ... but not for bob
    ok(imap_login_from(srv, "127.0.0.2", user=BOB)[0])

    # from an unknown network: delayed, not refused
    r, dt = imap_login_from(srv, "127.0.0.4")
    ok(r)
    assert dt >= HOLD, dt
    e = successes(srv)[-1]
    assert (e["ip"], e["user_blocked"], e["lockout"]) == ("127.0.0.4", True, "delayed"), e
    [d] = srv.logs("auth.delayed")
    assert (d["ip"], d["user"], d["delay_ms"]) == ("127.0.0.4", ALICE, 500), d
    # a guess from elsewhere is a failure after the delay, not a refusal, and
    # counts against that address: five there, and it is refused there too
    for i in range(5):
        r, dt = imap_login_from(srv, "127.0.0.5", password=f"more-{i}")
        failed(r)
        assert dt >= HOLD, dt
    r, dt = imap_login_from(srv, "127.0.0.5")
    refused(r)
    assert dt < HOLD, dt


def test_imap_stale_password_spares_the_address(postern):
    # an office behind one address: alice's desktop logged in from it, her
    # phone keeps an old password and retries
    srv = imap_server(postern, config=KNOWN_AS_32, auth=LIMITS)
    ok(imap_login_from(srv, "127.0.0.6")[0])
    results = [imap_login_from(srv, "127.0.0.6", password="old-password")[0] for _ in range(12)]
    for r in results[:5]:
        failed(r)
    for r in results[5:]:
        refused(r)              # the username from that address: not checked, not counted
    fails = srv.logs("auth.failure")
    assert [e["ip_failures"] for e in fails] == [1, 2, 3, 4, 5], fails
    # the address is not blocked: bob, behind the same address, logs in
    ok(imap_login_from(srv, "127.0.0.6", user=BOB)[0])
    assert [e["scope"] for e in srv.logs("auth.blocked")] == ["ip_user", "user"]


# ---- SMTP AUTH ------------------------------------------------------------------------------------


def test_smtp_blocked_username_spares_its_owner(postern):
    srv = submission_server(postern, config=KNOWN_AS_32, auth=LIMITS)
    assert smtp_auth_from(srv, "127.0.0.3")[0].code == 235
    for i in range(5):
        assert smtp_auth_from(srv, "127.0.0.2", password=f"guess-{i}")[0].code == 535
    assert any(e["scope"] == "user" for e in srv.logs("auth.blocked"))

    # before this change: 454 4.7.0 for everyone
    r, dt = smtp_auth_from(srv, "127.0.0.3")
    assert (r.code, r.enh) == (235, "2.7.0"), r
    assert dt < HOLD, dt
    r, dt = smtp_auth_from(srv, "127.0.0.3", scram=True)
    assert r.code == 235, r
    assert dt < HOLD, dt
    r = smtp_auth_from(srv, "127.0.0.2")[0]
    assert (r.code, r.enh) == (454, "4.7.0"), r

    r, dt = smtp_auth_from(srv, "127.0.0.4")
    assert r.code == 235, r
    assert dt >= HOLD, dt
    # SCRAM waits before its server-first message, then logs in
    r, dt = smtp_auth_from(srv, "127.0.0.7", scram=True)
    assert r.code == 235, r
    assert dt >= HOLD, dt
    r, dt = smtp_auth_from(srv, "127.0.0.8", password="wrong")
    assert (r.code, r.enh) == (535, "5.7.8"), r
    assert dt >= HOLD, dt
    lockouts = [(e["ip"], e.get("lockout")) for e in srv.logs("auth.success")]
    assert lockouts == [("127.0.0.3", None), ("127.0.0.3", "known_network"),
                        ("127.0.0.3", "known_network"), ("127.0.0.4", "delayed"),
                        ("127.0.0.7", "delayed")], lockouts


def test_blocked_address_and_user_unblocked_by_cli(postern):
    srv = submission_server(postern, config=KNOWN_AS_32, auth=LIMITS)
    for i in range(5):
        assert smtp_auth_from(srv, "127.0.0.2", password=f"guess-{i}")[0].code == 535
    p = srv.cli("auth", "blocked")
    assert p.returncode == 0, p.stderr
    assert f"127.0.0.2 {ALICE}" in p.stdout and "ip_user_limit" in p.stdout, p.stdout
    p = srv.cli("auth", "unblock", f"127.0.0.2 {ALICE}")
    assert p.returncode == 0, p.stderr
    # the username is still blocked, but not from there: delayed like anywhere new
    r, dt = smtp_auth_from(srv, "127.0.0.2")
    assert r.code == 235, r
    assert dt >= HOLD, dt
