"""Helpers for the submission and authentication tests (test_submission.py,
test_auth_limits.py): a SCRAM-SHA-256 client (RFC 5802 / RFC 7677), a
factory for a postern with listen.submission (587-style, STARTTLS) and
listen.submissions (465-style, implicit TLS), and small AUTH helpers for the
raw SMTPClient and for smtplib.

Built on conftest.py's `postern` fixture factory (not a replacement for it).
"""
import base64
import hashlib
import hmac
import os
import smtplib
import sqlite3
import statistics
import time

from conftest import (HOST, IO_TIMEOUT, PASSWORD, SMTPClient, free_port, insecure_context,
                      merge_config)

ALICE = "alice@example.org"      # users of the template data dir (conftest.py)
BOB = "bob@example.org"
# no delay after a failure: most tests must stay fast (one test measures the default)
FAST_AUTH = {"delay_base": "0"}
# limits no test of the ordinary behaviour reaches
NO_LIMITS = {"delay_base": "0", "max_attempts_per_ip": 100000, "max_attempts_per_username": 100000,
             "max_attempts_per_client_user": 100000, "fast_block_threshold": 100000}


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text, validate=True)


def plain_response(user, password, authzid=""):
    """RFC 4616: authzid NUL authcid NUL passwd, in base64."""
    return b64(f"{authzid}\0{user}\0{password}")


# ---- SCRAM-SHA-256 client ----------------------------------------------------------------------


def _saslname(name):
    # RFC 5802 5.1: ',' and '=' are escaped in the username
    return name.replace("=", "=3D").replace(",", "=2C")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8") if isinstance(msg, str) else msg,
                    hashlib.sha256).digest()


class ScramSha256:
    """The client side of one SCRAM-SHA-256 exchange (no channel binding).

    Raw use: first = c.client_first(); final = c.client_final(server_first);
    c.verify_server_final(server_final). As an smtplib authobject:
    smtp.auth("SCRAM-SHA-256", ScramSha256(user, pw)) — the initial response is
    client-first, the answer to server-first is client-final, and after checking
    the server-final message (a 334) it answers the empty line RFC 4954 asks for."""

    def __init__(self, user, password, cnonce=None, authzid=""):
        self.user = user
        self.password = password
        self.authzid = authzid
        self.cnonce = cnonce or b64(os.urandom(18))
        self.gs2 = "n," + (f"a={_saslname(authzid)}" if authzid else "") + ","
        self.bare = f"n={_saslname(user)},r={self.cnonce}"
        self.server_first = None
        self.server_signature = None
        self.server_verified = False
        self.salt = None
        self.iterations = None
        self.step = 0

    def client_first(self):
        return self.gs2 + self.bare

    @staticmethod
    def parse(msg):
        out = {}
        for part in msg.split(","):
            k, _, v = part.partition("=")
            out[k] = v
        return out

    def client_final(self, server_first, tamper_proof=False, nonce=None, cbind=None):
        self.server_first = server_first
        f = self.parse(server_first)
        combined = f["r"]
        assert combined.startswith(self.cnonce), f"server nonce does not extend ours: {server_first}"
        assert len(combined) > len(self.cnonce), "no server nonce part"
        self.salt = unb64(f["s"])
        self.iterations = int(f["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode("utf-8"), self.salt,
                                     self.iterations)
        client_key = _hmac(salted, "Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c={cbind if cbind is not None else b64(self.gs2)},r={nonce or combined}"
        auth_message = f"{self.bare},{server_first},{without_proof}"
        signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if tamper_proof:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_signature = _hmac(_hmac(salted, "Server Key"), auth_message)
        return f"{without_proof},p={b64(proof)}"

    def verify_server_final(self, server_final):
        self.server_verified = server_final == "v=" + b64(self.server_signature)
        return self.server_verified

    # smtplib authobject protocol
    def __call__(self, challenge=None):
        self.step += 1
        if challenge is None:
            return self.client_first()
        text = challenge.decode("utf-8")
        if self.server_first is None:
            return self.client_final(text)
        assert self.verify_server_final(text), f"bad server signature {text!r}"
        return ""


# ---- the server -------------------------------------------------------------------------------


def submission_server(postern, config=None, auth=None, bools=None, audit=True, start=True,
                      template=True):
    """A postern with listen.submission (srv.sub_port) and listen.submissions
    (srv.subs_port) beside the port-25 listener, auth.smtp settings `auth`
    (default: no failure delay), and the audit log at srv.audit_path.

    `bools` is {group: {key: True/False}} for libconfig booleans (e.g.
    submission.received_ip), which conftest's config writer does not emit."""
    over = {"auth": {"smtp": dict(FAST_AUTH if auth is None else auth)}}
    over = merge_config(over, config or {})
    srv = postern(config=over, start=False, template=template)
    srv.audit_path = srv.root / "audit.log" if audit else None
    if audit:
        srv.overrides = merge_config(srv.overrides, {"log": {"audit_file": str(srv.audit_path)}})
    _own_ports(srv, bools or {})
    srv.write_config(srv.port)
    if start:
        srv.start()
    return srv


def _own_ports(srv, bools):
    """Makes srv.write_config() pick fresh submission ports whenever conftest
    picks a fresh port-25 one (its retry after "cannot listen"), and append
    the libconfig booleans."""
    plain_write = srv.write_config

    def write_config(port=None):
        if port is not None:
            taken = {port}
            for attr in ("sub_port", "subs_port"):
                p = free_port()
                while p in taken:
                    p = free_port()
                taken.add(p)
                setattr(srv, attr, p)
            srv.overrides = merge_config(srv.overrides, {"listen": {
                "submission": [f"{HOST}:{srv.sub_port}"],
                "submissions": [f"{HOST}:{srv.subs_port}"]}})
        plain_write(port)
        extra = ""
        for group, kv in bools.items():
            assert group not in srv.config, f"{group} is set twice"
            inner = " ".join(f"{k} = {'true' if v else 'false'};" for k, v in kv.items())
            extra += f"{group} = {{ {inner} }};\n"
        if extra:
            with open(srv.config_path, "a", encoding="utf-8") as f:
                f.write(extra)

    srv.write_config = write_config


def audit_events(srv, event=None):
    return srv.logs(event, path=srv.audit_path)


def db(srv):
    return sqlite3.connect(srv.data_dir / "postern.db", timeout=10)


def user_row(srv, address):
    local, domain = address.split("@")
    con = db(srv)
    try:
        return con.execute("SELECT password, scram FROM users WHERE local = ? AND domain = ?",
                           (local, domain)).fetchone()
    finally:
        con.close()


# ---- clients -----------------------------------------------------------------------------------


def sub_client(srv, tls=True, ehlo=True, timeout=IO_TIMEOUT, source=None):
    """Raw SMTPClient on the submission port (587-style), after STARTTLS and EHLO;
    from the loopback address `source` (127.0.0.2 ..) when given."""
    c = SMTPClient(srv.sub_port, timeout=timeout, source=source)
    assert c.banner.code == 220, c.banner
    if tls:
        c.ehlo()
        c.starttls()
    if ehlo:
        c.ehlo()
    return c


def subs_client(srv, ehlo=True, timeout=IO_TIMEOUT):
    """Raw SMTPClient on the implicit-TLS port (465-style): handshake, greeting, EHLO."""
    c = SMTPClient(srv.subs_port, timeout=timeout, banner=False)
    c.wrap_tls()
    c.banner = c.reply()
    assert c.banner.code == 220, c.banner
    if ehlo:
        c.ehlo()
    return c


def sub_smtplib(srv, timeout=IO_TIMEOUT):
    """smtplib.SMTP on the submission port, after STARTTLS."""
    s = smtplib.SMTP(HOST, srv.sub_port, local_hostname="client.example.net", timeout=timeout)
    s.starttls(context=insecure_context())
    s.ehlo()
    return s


def subs_smtplib(srv, timeout=IO_TIMEOUT):
    s = smtplib.SMTP_SSL(HOST, srv.subs_port, local_hostname="client.example.net",
                         timeout=timeout, context=insecure_context())
    s.ehlo()
    return s


def auth_plain(c, user, password, authzid=""):
    """AUTH PLAIN with an initial response on a raw client: the reply."""
    return c.cmd("AUTH PLAIN " + plain_response(user, password, authzid))


def auth_login(c, user, password):
    r = c.cmd("AUTH LOGIN")
    assert r.code == 334 and unb64(r.text) == b"Username:", r
    r = c.cmd(b64(user))
    assert r.code == 334 and unb64(r.text) == b"Password:", r
    return c.cmd(b64(password))


def auth_scram(c, user, password, **final_kw):
    """A whole SCRAM-SHA-256 exchange on a raw client. Returns (reply, scram):
    the reply is the 235/535/... that ends it (after the server-final 334 has
    been checked and answered with an empty line)."""
    sc = ScramSha256(user, password)
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
    if r.code != 334:
        return r, sc
    r = c.cmd(b64(sc.client_final(unb64(r.text).decode(), **final_kw)))
    if r.code != 334:
        return r, sc
    assert sc.verify_server_final(unb64(r.text).decode()), f"bad server-final {r}"
    return c.cmd(""), sc


def login(srv, user=ALICE, password=PASSWORD, mech="PLAIN", implicit=False):
    """A raw client, authenticated (asserts 235)."""
    c = subs_client(srv) if implicit else sub_client(srv)
    r = {"PLAIN": auth_plain, "LOGIN": auth_login}[mech](c, user, password) if mech != "SCRAM" \
        else auth_scram(c, user, password)[0]
    assert (r.code, r.enh) == (235, "2.7.0"), r
    return c


def timed(fn, *args, **kw):
    t = time.monotonic()
    v = fn(*args, **kw)
    return v, time.monotonic() - t


def median(xs):
    return statistics.median(xs)


def percentile(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]
