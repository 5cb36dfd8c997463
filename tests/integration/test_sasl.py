"""The one SASL exchange behind SMTP AUTH and IMAP AUTHENTICATE/LOGIN: both
protocols offer the same mechanisms, refuse an authzid other than the user
the same way, wait the same progressive delay after a failure, block at the
same limits and log the same events. Each test runs once per protocol on one
server that has both, with the same auth settings for both."""
import time

import pytest

from imap_fixtures import IMAPConn, Result, _own_ports as imap_own_ports
from submission_util import (ALICE, BOB, PASSWORD, ScramSha256, audit_events, b64,
                             plain_response, sub_client, submission_server, unb64)


def both_server(postern, limits):
    """listen.submission(s) and listen.imap(s), auth.smtp = auth.imap = limits."""
    srv = submission_server(postern, auth=limits, start=False,
                            config={"auth": {"imap": dict(limits)}, "limits": {"errors": 100}})
    imap_own_ports(srv, None)
    srv.write_config(srv.port)
    srv.start()
    return srv


class SmtpSide:
    """AUTH on the submission port; outcomes as words the two sides share."""
    protocol = "smtp"
    CODES = {235: "ok", 535: "failed", 454: "tempfail", 501: "bad"}

    def __init__(self, srv):
        self.c = sub_client(srv)

    def _outcome(self, r):
        return self.CODES.get(r.code, f"unexpected {r}")

    def plain(self, user, password, authzid=""):
        return self._outcome(self.c.cmd("AUTH PLAIN " + plain_response(user, password, authzid)))

    def start(self, mech, initial=None):
        r = self.c.cmd(f"AUTH {mech}" + (f" {initial}" if initial is not None else ""))
        return unb64(r.text) if r.code == 334 else self._outcome(r)

    def respond(self, text):
        r = self.c.cmd(text)
        return unb64(r.text) if r.code == 334 else self._outcome(r)

    def close(self):
        self.c.close()


class ImapSide:
    """AUTHENTICATE on the imaps port, the same outcome words."""
    protocol = "imap"

    def __init__(self, srv):
        self.c = IMAPConn(srv.imaps_port, tls=True)
        self.tag = None

    @staticmethod
    def _outcome(r):
        if r.status == "OK":
            return "ok"
        if r.status == "BAD":
            return "bad"
        return {"AUTHENTICATIONFAILED": "failed", "UNAVAILABLE": "tempfail"}.get(r.code,
                                                                                 f"unexpected {r}")

    def plain(self, user, password, authzid=""):
        return self._outcome(self.c.cmd("AUTHENTICATE PLAIN " +
                                        plain_response(user, password, authzid)))

    def _next(self):
        r = self.c.read_response()
        if r.startswith(b"+"):
            return unb64(r[2:].decode())
        assert r.startswith(self.tag.encode() + b" "), r
        status, _, text = r[len(self.tag) + 1:].decode().partition(" ")
        return self._outcome(Result(self.tag, status, text, [], []))

    def start(self, mech, initial=None):
        self.tag = self.c.next_tag()
        self.c.send(f"{self.tag} AUTHENTICATE {mech}".encode() +
                    (f" {initial}".encode() if initial is not None else b"") + b"\r\n")
        return self._next()

    def respond(self, text):
        self.c.send(text.encode() + b"\r\n")
        return self._next()

    def close(self):
        self.c.close()


SIDES = {"smtp": SmtpSide, "imap": ImapSide}


def login_mech(side, user, password):
    assert side.start("LOGIN") == b"Username:"
    assert side.respond(b64(user)) == b"Password:"
    return side.respond(b64(password))


def scram(side, user, password, authzid=""):
    sc = ScramSha256(user, password, authzid=authzid)
    first = side.start("SCRAM-SHA-256", b64(sc.client_first()))
    if not isinstance(first, bytes):
        return first
    final = side.respond(b64(sc.client_final(first.decode())))
    if not isinstance(final, bytes):
        return final
    assert sc.verify_server_final(final.decode()), final
    return side.respond("")


def timed(fn, *args, **kw):
    t = time.monotonic()
    v = fn(*args, **kw)
    return v, time.monotonic() - t


@pytest.mark.parametrize("protocol", sorted(SIDES))
def test_same_delay_limits_and_logs(postern, protocol):
    srv = both_server(postern, {"delay_base": "300ms", "delay_max": "300ms",
                                "max_attempts_per_username": 4, "max_attempts_per_client_user": 4,
                                "max_attempts_per_ip": 1000,
                                "fast_block_threshold": 1000})
    side = SIDES[protocol](srv)
    attempts = [
        ("PLAIN, wrong password", lambda: side.plain(ALICE, "wrong-1")),
        ("LOGIN, wrong password", lambda: login_mech(side, ALICE, "wrong-2")),
        # acting for someone else is refused like a wrong password, with the right one
        ("PLAIN, authzid bob", lambda: side.plain(ALICE, PASSWORD, authzid=BOB)),
        ("SCRAM, wrong password", lambda: scram(side, ALICE, "wrong-3")),
    ]
    for what, attempt in attempts:
        outcome, dt = timed(attempt)
        assert outcome == "failed", (what, outcome)
        assert dt >= 0.27, f"{what}: answered after {dt:.3f}s, before the failure delay"
    # the 4th failure blocked alice from here: the right password is refused at
    # once, by every mechanism
    for what, attempt in (("PLAIN", lambda: side.plain(ALICE, PASSWORD)),
                          ("LOGIN", lambda: login_mech(side, ALICE, PASSWORD)),
                          ("SCRAM", lambda: scram(side, ALICE, PASSWORD))):
        outcome, dt = timed(attempt)
        assert outcome == "tempfail", (what, outcome)
        assert dt < 0.25, (what, dt)
    # bob is not blocked, on the same connection
    assert side.plain(BOB, PASSWORD) == "ok"
    side.close()

    fails = audit_events(srv, "auth.failure")
    assert [(e["protocol"], e["user"], e["reason"], e["delay_ms"]) for e in fails] == \
        [(protocol, ALICE, reason, 300) for reason in
         ("bad_password", "bad_password", "authzid_refused", "bad_password")], fails
    blks = audit_events(srv, "auth.blocked")
    assert [(b["scope"], b["user"], b["protocol"]) for b in blks] == \
        [("ip_user", ALICE, protocol), ("user", ALICE, protocol)], blks
    assert len(audit_events(srv, "auth.ratelimited")) >= 3
    assert [(e["protocol"], e["user"]) for e in audit_events(srv, "auth.success")] == \
        [(protocol, BOB)]


@pytest.mark.parametrize("protocol", sorted(SIDES))
def test_same_answers_to_bad_exchanges(postern, protocol):
    srv = both_server(postern, {"delay_base": "0"})
    side = SIDES[protocol](srv)
    assert side.start("PLAIN", "!!!notbase64") == "bad"
    assert side.start("PLAIN") == b""
    assert side.respond("*") == "bad"                           # cancelled
    assert side.start("LOGIN", b64(f"{ALICE}\0x")) == "bad"     # a NUL in a LOGIN name
    assert side.start("SCRAM-SHA-256", b64("hello")) == "bad"
    # an authzid in SCRAM other than the user is malformed there (RFC 5802 5.1)
    assert scram(side, ALICE, PASSWORD, authzid=BOB) == "bad"
    assert scram(side, "nobody@example.org", PASSWORD) == "failed"
    # the same user, any case, and an authzid equal to the user is fine
    assert scram(side, ALICE.upper(), PASSWORD, authzid=ALICE) == "ok"
    side.close()
    reasons = [(e["protocol"], e["reason"]) for e in audit_events(srv, "auth.failure")]
    assert reasons == [(protocol, "unknown_user_or_no_scram_keys")], reasons
