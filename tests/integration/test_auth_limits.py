"""Authentication limits and password schemes of the submission service:
the progressive failure delay, blocks per username and per IP (kept across a
restart, listed and lifted with `postern auth`), equal cost for unknown users,
the audit log (and no password in any log), a login flood that must not stall
the event loop, and passwords imported from other servers (bcrypt,
SHA-crypt, {SSHA512}, {PLAIN}) that are re-hashed to Argon2id with SCRAM keys
at the first successful login."""
import base64
import ctypes
import ctypes.util
import hashlib
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import make_message, smtp_reply_codes
from submission_util import (ALICE, BOB, NO_LIMITS, PASSWORD, ScramSha256, audit_events,
                             auth_login, auth_plain, auth_scram, b64, login, median, percentile,
                             unb64, plain_response, sub_client, subs_client, submission_server,
                             timed, user_row, db)


def blocked_list(srv):
    p = srv.cli("auth", "blocked")
    assert p.returncode == 0, p.stderr
    return p.stdout


def unblock(srv, key):
    return srv.cli("auth", "unblock", key)


def expect_454(r):
    assert (r.code, r.enh) == (454, "4.7.0"), r


def expect_535(r):
    assert (r.code, r.enh) == (535, "5.7.8"), r


# ---- the progressive delay ---------------------------------------------------------------------


def test_first_failure_waits_a_second_by_default(postern):
    srv = submission_server(postern, auth={})           # the built-in auth.smtp settings
    c = sub_client(srv)
    r, dt = timed(auth_plain, c, ALICE, "wrong")
    expect_535(r)
    assert 0.95 <= dt < 3.0, f"first failure answered after {dt:.2f}s, expected about 1s"
    c.close()
    [e] = audit_events(srv, "auth.failure")
    assert e["delay_ms"] == 1000


def test_delay_doubles_then_user_blocked(postern):
    srv = submission_server(postern, auth={"delay_base": "200ms", "delay_max": "1600ms"})
    c = sub_client(srv)
    expected = [0.2, 0.4, 0.8, 1.6, 1.6]          # base * 2^(n-1), capped at delay_max
    times = []
    for i, want in enumerate(expected):
        r, dt = timed(auth_plain, c, ALICE, f"guess-{i}")
        expect_535(r)
        times.append(dt)
    for want, got in zip(expected, times):
        assert want - 0.02 <= got <= want + 0.7, f"delays {times} vs expected {expected}"
    # each step clearly longer than the one before, until the cap
    for a, b in zip(times[:3], times[1:4]):
        assert b - a >= 0.1, times
    fails = audit_events(srv, "auth.failure")
    assert [e["delay_ms"] for e in fails] == [200, 400, 800, 1600, 1600]
    assert [e["user_failures"] for e in fails] == [1, 2, 3, 4, 5]

    # the 5th failure (max_attempts_per_username, and max_attempts_per_client_user
    # from this address) blocked alice here: even the right password is refused
    # now, at once and without a delay
    r, dt = timed(auth_plain, c, ALICE, PASSWORD)
    expect_454(r)
    assert dt < 0.5, dt
    c.close()
    blks = audit_events(srv, "auth.blocked")
    assert [(b["scope"], b["user"], b["ip"], b["protocol"]) for b in blks] == \
        [("ip_user", ALICE, "127.0.0.1", "smtp"), ("user", ALICE, "127.0.0.1", "smtp")], blks
    for attempt in (lambda c: auth_login(c, ALICE, PASSWORD),
                    lambda c: auth_scram(c, ALICE, PASSWORD)[0]):
        with sub_client(srv) as c2:
            expect_454(attempt(c2))
    # the IP is not blocked: bob still logs in from it
    login(srv, user=BOB).close()
    out = blocked_list(srv)
    assert "2 blocked" in out and f"127.0.0.1 {ALICE}" in out and "ip_user_limit" in out, out
    assert "127.0.0.1  " not in out         # the address alone is not

    p = unblock(srv, ALICE)
    assert p.returncode == 0, p.stderr
    p = unblock(srv, f"127.0.0.1 {ALICE}")
    assert p.returncode == 0, p.stderr
    assert "0 blocked" in blocked_list(srv)
    c = login(srv)                          # and alice's failures are forgotten
    c.close()
    us = audit_events(srv, "auth.unblocked")
    assert [(u["scope"], u["key"], u["found"]) for u in us] == \
        [("user", ALICE, True), ("ip_user", f"127.0.0.1 {ALICE}", True)], us


def test_success_forgets_the_users_failures(postern):
    srv = submission_server(postern, auth={"delay_base": "0", "max_attempts_per_username": 3})
    for _ in range(3):
        c = sub_client(srv)
        expect_535(auth_plain(c, ALICE, "wrong-1"))
        expect_535(auth_plain(c, ALICE, "wrong-2"))
        r = auth_plain(c, ALICE, PASSWORD)
        assert r.code == 235, r
        c.close()
    assert audit_events(srv, "auth.blocked") == []
    # ... but not the IP's: logging in to an own account must not wipe those
    assert [e["ip_failures"] for e in audit_events(srv, "auth.failure")] == [1, 2, 3, 4, 5, 6]
    assert [e["user_failures"] for e in audit_events(srv, "auth.failure")] == [1, 2] * 3


def test_blocks_expire_by_themselves(postern):
    srv = submission_server(postern, auth={
        "delay_base": "0", "max_attempts_per_username": 2, "username_window": "1s",
        "max_attempts_per_client_user": 2, "ip_window": "1s",
        "max_attempts_per_ip": 1000, "fast_block_threshold": 4, "fast_window": "1m",
        "fast_block_duration": "2s"})
    with sub_client(srv) as c:
        expect_535(auth_plain(c, ALICE, "wrong-1"))
        expect_535(auth_plain(c, ALICE, "wrong-2"))
        expect_454(auth_plain(c, ALICE, PASSWORD))
    time.sleep(1.2)                               # username_window, ip_window: the blocks are over
    login(srv).close()
    # with alice's two, four failures in fast_window: the IP is blocked for fast_block_duration
    with sub_client(srv) as c:
        expect_535(auth_plain(c, "ghost1@example.org", "x"))
        expect_535(auth_plain(c, "ghost2@example.org", "x"))
        expect_454(auth_plain(c, BOB, PASSWORD))
    t = time.monotonic()
    out = blocked_list(srv)
    assert "127.0.0.1" in out and "ip_fast" in out, out
    blk = [b for b in audit_events(srv, "auth.blocked") if b["scope"] == "ip"]
    assert [(b["reason"], b["duration_ms"]) for b in blk] == [("ip_fast", 2000)]
    time.sleep(max(0, 2.2 - (time.monotonic() - t)))
    login(srv, user=BOB).close()
    assert "0 blocked" in blocked_list(srv)


# ---- the IP block, its persistence, the CLI, the audit log ------------------------------------------


def test_ip_block_survives_restart_and_unblock(postern):
    # 10 failures per IP by default; more errors per session than the default 10
    srv = submission_server(postern, auth={"delay_base": "0"}, config={"limits": {"errors": 100}})
    srv.add_user("carol@example.org", "Carol-Right-Pw-7x")
    wrong = [f"Brute-{i}-Qz9" for i in range(10)]
    c = sub_client(srv)
    # several usernames (none reaches the per-user limit of 5), three mechanisms
    users = ["carol@example.org", "guess1@example.org", "carol@example.org", "guess3@example.org",
             "x4@nowhere.test", "guess5@example.org", "alice", "guess7@example.org",
             "carol@example.org", "GUESS1@example.org"]
    for i, (user, pw) in enumerate(zip(users, wrong)):
        if i % 3 == 0:
            r = auth_plain(c, user, pw)
        elif i % 3 == 1:
            r = auth_login(c, user, pw)
        else:
            r = auth_scram(c, user, pw)[0]
        expect_535(r)
    # blocked now: the right password is refused, also on a new connection and on 465
    expect_454(auth_plain(c, "carol@example.org", "Carol-Right-Pw-7x"))
    c.close()
    for conn in (sub_client, subs_client):
        with conn(srv) as c:
            expect_454(auth_plain(c, BOB, PASSWORD))
    blocks = audit_events(srv, "auth.blocked")
    assert [(b["scope"], b["ip"], b["reason"]) for b in blocks] == [("ip", "127.0.0.1", "ip_limit")]
    out = blocked_list(srv)
    assert "1 blocked" in out and "127.0.0.1" in out and "ip_limit" in out, out

    # the block is in the data dir, not in the process
    assert srv.stop() == 0
    srv.start()
    with sub_client(srv) as c:
        expect_454(auth_plain(c, "carol@example.org", "Carol-Right-Pw-7x"))
    assert "127.0.0.1" in blocked_list(srv)

    p = unblock(srv, "127.0.0.1")
    assert p.returncode == 0 and "unblocked" in p.stdout, p.stderr
    assert "0 blocked" in blocked_list(srv)
    with sub_client(srv) as c:
        r = auth_plain(c, "carol@example.org", "Carol-Right-Pw-7x")
        assert (r.code, r.enh) == (235, "2.7.0"), r
    p = unblock(srv, "127.0.0.1")
    assert p.returncode != 0 and "not blocked" in p.stderr
    p = unblock(srv, "nobody@example.org")
    assert p.returncode != 0

    # the audit trail: every failure, the block, the refusals, the unblock
    fails = audit_events(srv, "auth.failure")
    assert len(fails) == 10
    for e in fails:
        assert e["ip"] == "127.0.0.1" and e["protocol"] == "smtp" and e["user"], e
    assert [e["ip_failures"] for e in fails] == list(range(1, 11))
    assert len(audit_events(srv, "auth.ratelimited")) >= 4
    unblocks = [(u["scope"], u["key"], u["found"]) for u in audit_events(srv, "auth.unblocked")]
    assert unblocks == [("ip", "127.0.0.1", True), ("ip", "127.0.0.1", False),
                        ("user", "nobody@example.org", False)]
    assert audit_events(srv, "auth.success")[-1]["user"] == "carol@example.org"

    # no password, in clear or in the base64 forms that crossed the wire, in any log
    secrets = wrong + ["Carol-Right-Pw-7x", PASSWORD]
    encoded = [b64(s) for s in secrets] + [plain_response("carol@example.org", "Carol-Right-Pw-7x")]
    for path in (srv.audit_path, srv.stderr_path, srv.stdout_path):
        text = path.read_text(errors="replace")
        for s in secrets + encoded:
            assert s not in text, f"{s!r} found in {path.name}"


def test_unknown_users_cost_the_same(postern):
    srv = submission_server(postern, auth=NO_LIMITS, config={"limits": {"errors": 100}})
    users = {"known": ALICE, "unknown": "nobody@example.org", "foreign": "x@nowhere.test",
             "no-domain": "alice"}
    samples = {k: [] for k in users}
    c = sub_client(srv)
    for rnd in range(7):
        for k, u in users.items():
            r, dt = timed(auth_plain, c, u, f"wrong-{rnd}")
            expect_535(r)
            samples[k].append(dt)
    c.close()
    meds = {k: median(v) for k, v in samples.items()}
    known = meds["known"]
    assert known > 0.005, meds               # Argon2id ran at all
    for k, m in meds.items():
        assert abs(m - known) <= max(0.4 * known, 0.03), f"medians {meds}"
    # and the log calls them what they are, for the administrator
    reasons = {e["user"]: e["reason"] for e in audit_events(srv, "auth.failure")}
    assert reasons[ALICE] == "bad_password" and reasons["nobody@example.org"] == "unknown_user"


# ---- a flood of logins -----------------------------------------------------------------------------


def test_login_flood_does_not_stall_other_sessions(postern):
    srv = submission_server(postern, auth=NO_LIMITS,
                            config={"limits": {"connections_per_ip": 1000, "connections": 2000}})
    observer = login(srv, user=BOB)
    n = 200
    results = [None] * n
    barrier = threading.Barrier(n + 1)

    def one(i):
        try:
            c = subs_client(srv, timeout=60)
            barrier.wait(30)
            ok = i % 10 == 0
            user = ALICE if i % 3 else f"ghost{i}@example.org"
            r = auth_plain(c, ALICE if ok else user, PASSWORD if ok else f"bad{i}")
            results[i] = r.code
            c.close()
        except Exception as e:             # recorded, asserted below
            results[i] = repr(e)
            try:
                barrier.abort()
            except Exception:
                pass

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait(60)
    t0 = time.monotonic()
    rtts = []
    while any(t.is_alive() for t in threads) and time.monotonic() - t0 < 90:
        r, dt = timed(observer.cmd, "NOOP")
        assert r.code == 250, r
        rtts.append(dt)
        time.sleep(0.01)
    flood = time.monotonic() - t0
    for t in threads:
        t.join(5)
    assert results.count(235) == n // 10, results
    assert results.count(535) == n - n // 10, results
    # the Argon2id work took seconds; the open session never waited for it
    assert len(rtts) >= 20, (flood, rtts)
    p99 = percentile(rtts, 99)
    assert p99 < 1.0 and max(rtts) < 2.0, f"NOOP p99 {p99:.3f}s max {max(rtts):.3f}s " \
                                           f"during a {flood:.1f}s flood"
    # the observer's session is intact and can still send
    observer.cmd(f"MAIL FROM:<{BOB}>", expect=250)
    observer.cmd(f"RCPT TO:<{ALICE}>", expect=250)
    observer.cmd("DATA", expect=354)
    observer.send(make_message(sender=BOB, subject="after the flood") + b".\r\n")
    assert observer.reply().code == 250
    observer.close()
    assert len(srv.messages("alice")) == 1


# ---- imported password schemes -----------------------------------------------------------------------


def _crypt(password, prefix, count):
    """crypt(3) through libxcrypt (the crypt module is gone from Python 3.13)."""
    name = ctypes.util.find_library("crypt")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lib.crypt_gensalt(prefix.encode(), count, None, 0)
    out = lib.crypt(password.encode(), setting) if setting else None
    return out.decode() if out and not out.startswith(b"*") else None


def _openssl_passwd(flag, salt, password):
    return subprocess.run(["openssl", "passwd", flag, "-salt", salt, "-stdin"], input=password,
                          stdout=subprocess.PIPE, text=True, check=True, timeout=30).stdout.strip()


def _ssha512(password, salt):
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def imported_users():
    """{local part: (passwd-file hash, password, expected scheme name)}"""
    users = {
        "sha512": (_openssl_passwd("-6", "Salt6abc", "pw-sha512"), "pw-sha512", "sha512-crypt"),
        "sha512p": ("{SHA512-CRYPT}" + _openssl_passwd("-6", "Salt6def", "pw-sha512p"),
                    "pw-sha512p", "sha512-crypt"),
        "sha256": (_openssl_passwd("-5", "Salt5abc", "pw-sha256"), "pw-sha256", "sha256-crypt"),
        "sha256p": ("{SHA256-CRYPT}" + _openssl_passwd("-5", "Salt5def", "pw-sha256p"),
                    "pw-sha256p", "sha256-crypt"),
        "ssha": (_ssha512("pw-ssha", os.urandom(16)), "pw-ssha", "ssha512"),
        "plain": ("{PLAIN}pw-plain", "pw-plain", None),
    }
    # bcrypt at cost 4 (the minimum) to stay fast
    for local, prefix in (("bcrypt2y", "$2y$"), ("bcrypt2b", "$2b$")):
        h = _crypt(f"pw-{local}", prefix, 4)
        if h is not None:
            assert h.startswith(prefix + "04$"), h
            users[local] = (h, f"pw-{local}", "bcrypt")
    h = _crypt("pw-blf", "$2y$", 4)
    if h is not None:
        users["blf"] = ("{BLF-CRYPT}" + h, "pw-blf", "bcrypt")
    h = _crypt("pw-rounds", "$6$", 6000)
    if h is not None:
        assert h.startswith("$6$rounds=6000$"), h
        users["rounds"] = ("{CRYPT}" + h, "pw-rounds", "sha512-crypt")
    return users


SKIPPED_LINES = [
    "md5@example.org:{MD5-CRYPT}$1$abcdefgh$yp1o5C5eoWqlHeiuHhq3B/::::::",   # MD5-crypt: never
    "des@example.org:{CRYPT}abJnggxhB/yWI::::::",                             # DES crypt: never
    "digest@example.org:{SHA512}" + b64(hashlib.sha512(b"x").digest()) + "::::::",  # unsalted
    "stranger@elsewhere.test:{PLAIN}pw::::::",                               # not our domain
    "no separator at all",
    "alice@example.org:{PLAIN}takeover::::::",                               # exists already
]


def test_user_import_lines(postern, tmp_path):
    srv = submission_server(postern, auth=NO_LIMITS)
    passwd = tmp_path / "passwd"
    good = ["ssha@example.org:" + _ssha512("pw-ssha", b"saltsalt") + "::::::",
            "plain@example.org:{PLAIN}pw-plain::::::",
            "sha512@example.org:" + _openssl_passwd("-6", "Salt6abc", "pw-sha512")]
    passwd.write_text("# exported from dovecot\n\n" + "\n".join(good + SKIPPED_LINES) + "\n")
    p = srv.cli("user", "import", str(passwd))
    assert p.returncode == 0, p.stderr
    assert f"3 imported, {len(SKIPPED_LINES)} skipped" in p.stdout, p.stdout + p.stderr
    assert "pw-plain" not in p.stdout + p.stderr
    listed = srv.cli("user", "list").stdout.split()
    assert {"ssha@example.org", "plain@example.org", "sha512@example.org"} <= set(listed)
    assert not {"md5@example.org", "des@example.org", "digest@example.org"} & set(listed)
    # alice kept her password; the skipped users cannot log in
    login(srv).close()
    with sub_client(srv) as c:
        for local in ("md5", "des", "digest"):
            expect_535(auth_plain(c, f"{local}@example.org", "x"))
    # nothing but an all-bad file is a failure
    bad = tmp_path / "bad"
    bad.write_text("\n".join(SKIPPED_LINES[:3]) + "\n")
    assert srv.cli("user", "import", str(bad)).returncode != 0
    assert srv.cli("user", "import", str(tmp_path / "missing")).returncode != 0


IMPORTED = imported_users()


@pytest.mark.parametrize("local", sorted(IMPORTED))
def test_imported_password_upgraded_on_login(postern, tmp_path, local):
    stored, password, scheme = IMPORTED[local]
    srv = submission_server(postern, auth=NO_LIMITS)
    addr = f"{local}@example.org"
    passwd = tmp_path / "passwd"
    passwd.write_text(f"{addr}:{stored}::::::\n")
    p = srv.cli("user", "import", str(passwd))
    assert p.returncode == 0 and "1 imported, 0 skipped" in p.stdout, p.stdout + p.stderr

    before = user_row(srv, addr)
    if local == "plain":
        # {PLAIN} is hashed at import time, never stored as it is
        assert before[0].startswith("$argon2id$") and password not in before[0]
    else:
        assert before[0] == stored
    assert not before[1], f"SCRAM keys before any login: {before}"
    c = subs_client(srv)
    expect_535(auth_plain(c, addr, password + "-wrong"))
    # no SCRAM keys yet: SCRAM fails like a wrong password
    expect_535(auth_scram(c, addr, password)[0])
    assert user_row(srv, addr) == before, "changed after a failed login"
    r = auth_plain(c, addr, password)
    assert (r.code, r.enh) == (235, "2.7.0"), r
    c.close()
    pw_hash, scram = user_row(srv, addr)
    assert pw_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), pw_hash
    assert scram and scram.startswith("SCRAM-SHA-256$4096:"), scram
    [up] = srv.logs("auth.hash_upgraded")
    assert up["user"] == addr and up["from"] == (scheme or "argon2id"), up
    # SCRAM works now, and so do PLAIN and LOGIN against the new hash
    with sub_client(srv) as c:
        r, sc = auth_scram(c, addr, password)
        assert r.code == 235 and sc.server_verified, r
    with sub_client(srv) as c:
        assert auth_login(c, addr, password).code == 235
    with sub_client(srv) as c:
        expect_535(auth_plain(c, addr, stored))          # the old hash is no password
    assert user_row(srv, addr)[0] == pw_hash, "re-hashed although already current"
    assert len(srv.logs("auth.hash_upgraded")) == 1


def test_parallel_guesses_do_not_exceed_the_user_limit(postern):
    # max_attempts_per_username = 5 must bound the guesses an attacker gets,
    # however many connections it opens at once
    srv = submission_server(postern, auth={"delay_base": "0", "max_attempts_per_ip": 1000,
                                           "fast_block_threshold": 1000},
                            config={"limits": {"connections_per_ip": 100}})   # 40 at once
    n = 40
    clients = [subs_client(srv) for _ in range(n)]
    for i, c in enumerate(clients):
        c.send(f"AUTH PLAIN {plain_response(ALICE, f'parallel-{i}')}\r\n")
    codes = [c.reply(timeout=60).code for c in clients]
    for c in clients:
        c.close()
    evaluated = codes.count(535)
    assert set(codes) <= {535, 454}, codes
    assert evaluated <= 5, f"{evaluated} passwords tried for one user with a limit of 5: {codes}"
    # and then the user is blocked
    with sub_client(srv) as c:
        expect_454(auth_plain(c, ALICE, PASSWORD))


def test_parallel_right_passwords_wait_for_a_slot(postern):
    # an office behind one address, a webmail: more logins at once than
    # max_attempts_per_ip allows checks in flight, all with the right
    # password and none answered from the cache (off). They wait for a slot;
    # none is refused (was: 454 4.7.0 for all past the third)
    srv = submission_server(postern, auth={"delay_base": "0", "max_attempts_per_ip": 3,
                                           "max_attempts_per_username": 3},
                            config={"auth": {"cache_ttl": "0"},
                                    "limits": {"connections_per_ip": 100}})
    n = 24
    clients = [subs_client(srv) for _ in range(n)]
    for c in clients:
        c.send(f"AUTH PLAIN {plain_response(ALICE, PASSWORD)}\r\n")
    codes = [c.reply(timeout=90).code for c in clients]
    for c in clients:
        c.close()
    assert codes == [235] * n, codes


def test_parallel_scram_exchanges_do_not_exceed_the_user_limit(postern):
    # SCRAM's proof comes in a second message: the exchanges opened in
    # parallel must count as guesses in flight from their first message on
    srv = submission_server(postern, auth={"delay_base": "0", "max_attempts_per_ip": 1000,
                                           "fast_block_threshold": 1000})
    n = 20
    clients = [subs_client(srv) for _ in range(n)]
    scrams = [ScramSha256(ALICE, f"scram-guess-{i}") for i in range(n)]
    firsts = [c.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
              for c, sc in zip(clients, scrams)]
    assert {r.code for r in firsts} <= {334, 454}, firsts
    open_ = [(c, sc, r) for c, sc, r in zip(clients, scrams, firsts) if r.code == 334]
    assert len(open_) <= 5, f"{len(open_)} SCRAM exchanges for one user with a limit of 5"
    finals = [c.cmd(b64(sc.client_final(unb64(r.text).decode()))).code for c, sc, r in open_]
    assert finals and set(finals) == {535}, finals
    for c in clients:
        c.close()
    with sub_client(srv) as c:                          # and then the user is blocked
        expect_454(auth_plain(c, ALICE, PASSWORD))


def test_old_failure_records_are_pruned(postern):
    """Failure rows only grow with failures: the failure path prunes those
    older than the longest window of all protocols (at the first failure of
    a process, then at most once a minute)."""
    short = {"delay_base": "0", "ip_window": "1s", "username_window": "1s", "fast_window": "1s",
             "max_attempts_per_ip": 1000, "max_attempts_per_username": 1000,
             "fast_block_threshold": 1000}
    srv = submission_server(postern, auth=short, config={"auth": {"imap": short, "pop3": short}})
    for i in range(30):
        with sub_client(srv) as c:
            assert auth_plain(c, f"nobody{i}@example.org", "x").code == 535
    con = db(srv)
    assert con.execute("SELECT count(*) FROM auth_failures").fetchone()[0] >= 30
    con.close()
    assert srv.stop() == 0
    time.sleep(1.5)                                     # all of them now out of every window
    srv.start()
    with sub_client(srv) as c:
        assert auth_plain(c, "late@example.org", "x").code == 535
    con = db(srv)
    left = con.execute("SELECT count(*) FROM auth_failures").fetchone()[0]
    con.close()
    # the last failure's own rows: its IP, user, and user from the IP
    assert left <= 3, f"{left} failure rows kept past every window"


def test_audit_file_is_private_and_reopened_on_sighup(postern):
    srv = submission_server(postern, auth={"delay_base": "0"})
    with sub_client(srv) as c:
        assert auth_plain(c, ALICE, "wrong-1").code == 535
    assert srv.audit_path.stat().st_mode & 0o777 == 0o600
    assert len(audit_events(srv, "auth.failure")) == 1
    rotated = srv.audit_path.with_suffix(".1")
    srv.audit_path.rename(rotated)
    srv.send_signal(signal.SIGHUP)
    srv.wait_log("tls.reloaded")
    with sub_client(srv) as c:
        assert auth_plain(c, ALICE, "wrong-2").code == 535
    deadline = time.monotonic() + 5
    while not (srv.audit_path.exists() and audit_events(srv, "auth.failure")):
        assert time.monotonic() < deadline, "the failure never reached the new audit file"
        time.sleep(0.05)
    assert srv.audit_path.stat().st_mode & 0o777 == 0o600
    assert len(srv.logs("auth.failure", path=rotated)) == 1


def test_shutdown_during_failure_delay(postern):
    # a session waiting out its failure delay has nothing to finish: SIGTERM
    # closes it at once, like an idle one, not at the end of the grace period
    srv = submission_server(postern, auth={"delay_base": "30s", "delay_max": "30s"},
                            config={"timeouts": {"shutdown": "6s"}})
    c = sub_client(srv)
    c.send(f"AUTH PLAIN {plain_response(ALICE, 'wrong')}\r\n")
    srv.wait_log("auth.failure")
    t = time.monotonic()
    assert srv.stop() == 0
    took = time.monotonic() - t
    data = c.read_until_closed(timeout=5)
    c.close()
    assert 235 not in smtp_reply_codes(data), data
    assert took < 3, f"shutdown took {took:.1f}s: the failure delay held it up"
