"""The verified-credentials cache (auth.cache_ttl, auth.cache_size): a second
login with the same password skips Argon2id, whichever protocol made the
first (IMAP LOGIN, AUTHENTICATE, SMTP AUTH PLAIN/LOGIN); the log says so with
`cached: true`. A password change or a deleted user (the CLI, another
process) takes effect at once; wrong passwords are never remembered and the
limiter counts each; a blocked user is refused before the cache; hash
upgrades happen on the first, slow login; fresh user data (any_sender) is
read on every login; ttl 0 turns it off and entries expire."""
import subprocess
import time

from imap_fixtures import IMAPConn, _own_ports as imap_own_ports, quote
from submission_util import (ALICE, BOB, NO_LIMITS, PASSWORD, auth_login, auth_plain, auth_scram,
                             plain_response, sub_client, submission_server, timed)


def auth_server(postern, limits=None, cache=None):
    """listen.submission(s) and listen.imap(s), the same auth limits for both
    (default: none reached), auth.cache_* from `cache`."""
    limits = dict(NO_LIMITS if limits is None else limits)
    config = {"auth": {"imap": dict(limits), **(cache or {})}, "limits": {"errors": 100}}
    srv = submission_server(postern, auth=limits, start=False, config=config)
    imap_own_ports(srv, None)
    srv.write_config(srv.port)
    srv.start()
    return srv


def imap_login(srv, user=ALICE, password=PASSWORD):
    """LOGIN on imaps, then LOGOUT: the tagged result of the LOGIN."""
    c = IMAPConn(srv.imaps_port, tls=True)
    r = c.cmd(f"LOGIN {quote(user)} {quote(password)}")
    if r.status == "OK":
        c.ok("LOGOUT")
    c.close()
    return r


def ok(r):
    assert r.status == "OK", r


def failed(r):
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r


def successes(srv, n):
    """The `cached` fields of the first n auth.success lines (waits for them)."""
    return [e["cached"] for e in srv.wait_log("auth.success", count=n)[:n]]


# ---- hits and misses ---------------------------------------------------------------------------


def test_second_imap_login_is_a_hit_and_fast(postern):
    srv = auth_server(postern)
    first, t_first = timed(imap_login, srv)
    ok(first)
    cached = []
    for _ in range(5):
        r, dt = timed(imap_login, srv)
        ok(r)
        cached.append(dt)
    assert successes(srv, 6) == [False] + [True] * 5
    # Argon2id (19 MiB, t=2) ran for the first only; the wall times include TLS
    # set-up on a loaded machine, so only the order is asserted
    assert min(cached) < t_first, (t_first, cached)
    assert srv.logs("auth.failure") == []


def test_another_password_or_user_misses(postern):
    srv = auth_server(postern)
    ok(imap_login(srv))
    failed(imap_login(srv, password=PASSWORD + "x"))
    ok(imap_login(srv, user=BOB))                    # bob's first: a miss of its own
    ok(imap_login(srv, user=BOB))
    assert [(e["user"], e["cached"]) for e in srv.wait_log("auth.success", count=3)] == \
        [(ALICE, False), (BOB, False), (BOB, True)]


def test_password_change_by_the_cli_applies_at_once(postern):
    srv = auth_server(postern)
    ok(imap_login(srv))
    ok(imap_login(srv))                              # cached now
    p = srv.cli("user", "passwd", ALICE, "--password-stdin", input="Brand-New-Pw-42\n")
    assert p.returncode == 0, p.stderr
    failed(imap_login(srv))                          # the old password: no longer
    [f] = srv.wait_log("auth.failure")
    assert (f["user"], f["reason"]) == (ALICE, "bad_password"), f
    ok(imap_login(srv, password="Brand-New-Pw-42"))
    ok(imap_login(srv, password="Brand-New-Pw-42"))
    assert successes(srv, 4) == [False, True, False, True]


def test_deleted_user_no_longer_logs_in(postern):
    srv = auth_server(postern)
    srv.add_user("carol@example.org", "Carol-Pw-1")
    ok(imap_login(srv, "carol@example.org", "Carol-Pw-1"))
    ok(imap_login(srv, "carol@example.org", "Carol-Pw-1"))
    assert successes(srv, 2) == [False, True]
    p = srv.cli("user", "del", "carol@example.org")
    assert p.returncode == 0, p.stderr
    failed(imap_login(srv, "carol@example.org", "Carol-Pw-1"))
    [f] = srv.wait_log("auth.failure")
    assert (f["user"], f["reason"]) == ("carol@example.org", "unknown_user"), f
    # made again with the same password: a new hash (a new salt), a new entry
    srv.add_user("carol@example.org", "Carol-Pw-1")
    ok(imap_login(srv, "carol@example.org", "Carol-Pw-1"))
    assert successes(srv, 3) == [False, True, False]


# ---- the limiter -------------------------------------------------------------------------------


def test_wrong_passwords_are_never_cached_and_always_counted(postern):
    # the user from this address is blocked with the user: a refusal (a
    # blocked user alone is checked from a known network: test_login_lockout.py)
    srv = auth_server(postern, limits={"delay_base": "0", "max_attempts_per_username": 3,
                                       "max_attempts_per_client_user": 3,
                                       "max_attempts_per_ip": 1000,
                                       "fast_block_threshold": 1000})
    ok(imap_login(srv))
    for _ in range(2):                                # the same wrong password twice
        failed(imap_login(srv, password="wrong"))
    ok(imap_login(srv))                               # a hit clears alice's failures ...
    failed(imap_login(srv, password="wrong"))
    fails = srv.wait_log("auth.failure", count=3)
    assert [e["user_failures"] for e in fails] == [1, 2, 1], fails
    assert [e["ip_failures"] for e in fails] == [1, 2, 3], fails   # ... not the IP's
    for _ in range(2):                                # to the limit of 3: blocked
        failed(imap_login(srv, password="wrong"))
    assert [b["scope"] for b in srv.wait_log("auth.blocked", count=2)] == ["ip_user", "user"]
    # the right, cached password is refused: the limiter comes before the cache
    r = imap_login(srv)
    assert r.status == "NO" and r.code == "UNAVAILABLE", r
    with sub_client(srv) as c:
        r = auth_plain(c, ALICE, PASSWORD)
        assert (r.code, r.enh) == (454, "4.7.0"), r
    assert successes(srv, 2) == [False, True]
    assert len(srv.logs("auth.success")) == 2
    assert len(srv.logs("auth.failure")) == 5


def test_unblocked_user_logs_in_from_the_cache_again(postern):
    srv = auth_server(postern, limits={"delay_base": "0", "max_attempts_per_username": 1,
                                       "max_attempts_per_client_user": 1,
                                       "max_attempts_per_ip": 1000,
                                       "fast_block_threshold": 1000})
    ok(imap_login(srv))
    failed(imap_login(srv, password="wrong"))         # blocked at once
    assert imap_login(srv).code == "UNAVAILABLE"
    p = srv.cli("auth", "unblock", ALICE)
    assert p.returncode == 0, p.stderr
    p = srv.cli("auth", "unblock", f"127.0.0.1 {ALICE}")
    assert p.returncode == 0, p.stderr
    ok(imap_login(srv))
    assert successes(srv, 2) == [False, True]


# ---- one cache for every protocol and mechanism -------------------------------------------------


def test_smtp_auth_after_imap_login_is_a_hit(postern):
    srv = auth_server(postern)
    ok(imap_login(srv))
    with sub_client(srv) as c:
        r = auth_plain(c, ALICE, PASSWORD)
        assert (r.code, r.enh) == (235, "2.7.0"), r
    with sub_client(srv) as c:
        assert auth_login(c, ALICE, PASSWORD).code == 235
    c = IMAPConn(srv.imaps_port, tls=True)
    ok(c.cmd("AUTHENTICATE PLAIN " + plain_response(ALICE, PASSWORD)))
    c.close()
    # SCRAM has its own cheap proof check and no part in the cache
    with sub_client(srv) as c:
        r, sc = auth_scram(c, ALICE, PASSWORD)
        assert r.code == 235 and sc.server_verified, r
    events = srv.wait_log("auth.success", count=5)
    assert [(e["protocol"], e["cached"]) for e in events] == \
        [("imap", False), ("smtp", True), ("smtp", True), ("imap", True), ("smtp", False)]


def test_user_data_is_read_fresh_on_a_hit(postern):
    """The cache only says the password is right: whether the user may send
    as anyone comes from the store on every login."""
    srv = auth_server(postern)
    with sub_client(srv) as c:
        assert auth_plain(c, ALICE, PASSWORD).code == 235
        r = c.cmd(f"MAIL FROM:<{BOB}>")
        assert (r.code, r.enh) == (553, "5.7.1"), r
    assert srv.cli("user", "sender-check", ALICE, "off").returncode == 0
    with sub_client(srv) as c:
        assert auth_plain(c, ALICE, PASSWORD).code == 235
        c.cmd(f"MAIL FROM:<{BOB}>", expect=250)
    assert successes(srv, 2) == [False, True]


def _openssl_sha512_crypt(password):
    return subprocess.run(["openssl", "passwd", "-6", "-salt", "CacheSalt", "-stdin"],
                          input=password, stdout=subprocess.PIPE, text=True, check=True,
                          timeout=30).stdout.strip()


def test_hash_upgrade_happens_on_the_first_login(postern, tmp_path):
    srv = auth_server(postern)
    passwd = tmp_path / "passwd"
    passwd.write_text(f"dave@example.org:{_openssl_sha512_crypt('Dave-Pw-9')}::::::\n")
    p = srv.cli("user", "import", str(passwd))
    assert p.returncode == 0, p.stdout + p.stderr
    for _ in range(3):
        ok(imap_login(srv, "dave@example.org", "Dave-Pw-9"))
    assert successes(srv, 3) == [False, True, True]
    [up] = srv.logs("auth.hash_upgraded")
    assert (up["user"], up["from"]) == ("dave@example.org", "sha512-crypt"), up
    failed(imap_login(srv, "dave@example.org", "Dave-Pw-9x"))


# ---- settings --------------------------------------------------------------------------------


def test_ttl_zero_turns_the_cache_off(postern):
    srv = auth_server(postern, cache={"cache_ttl": "0"})
    for _ in range(3):
        ok(imap_login(srv))
    assert successes(srv, 3) == [False, False, False]


def test_entries_expire(postern):
    srv = auth_server(postern, cache={"cache_ttl": "1s"})
    ok(imap_login(srv))
    ok(imap_login(srv))
    time.sleep(1.3)
    ok(imap_login(srv))
    ok(imap_login(srv))
    assert successes(srv, 4) == [False, True, False, True]


def test_size_bound_evicts_the_least_recently_used(postern):
    srv = auth_server(postern, cache={"cache_size": 1})
    ok(imap_login(srv))
    ok(imap_login(srv, user=BOB))                    # alice's entry makes room for bob's
    ok(imap_login(srv, user=BOB))
    ok(imap_login(srv))
    assert [(e["user"], e["cached"]) for e in srv.wait_log("auth.success", count=4)] == \
        [(ALICE, False), (BOB, False), (BOB, True), (ALICE, False)]


def test_cache_settings_are_checked(postern):
    srv = postern(config={"auth": {"cache_ttl": "30s", "cache_size": 5}}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
    for bad, message in (({"cache_size": 0}, "'cache_size' out of range"),
                         ({"cache_ttl": "2d"}, "'cache_ttl' out of range"),
                         ({"cache_ttl": "soon"}, "malformed duration")):
        srv.overrides = {"auth": bad}
        srv.write_config()
        p = srv.cli("config", "check")
        assert p.returncode != 0 and message in p.stderr, p.stderr
