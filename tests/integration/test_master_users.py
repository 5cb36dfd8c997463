"""Master users (auth.master_login, `postern master add|list|remove`): an
administrator's credential that opens any user's mailbox over IMAP and POP3,
as "user*master" (IMAP LOGIN, POP3 USER/PASS) or SASL PLAIN with the user as
authzid and the master as authcid (IMAP AUTHENTICATE, POP3 AUTH). Off by
default; never for SMTP submission; every attempt is an auth.master_login
event in the audit log naming both; failures count against the master; a
master removed is refused at once (the credentials cache included); the
hostile forms (empty parts, several '*', overlong names) are refused cleanly.
"""
import sqlite3

from conftest import HOST, merge_config
from imap_fixtures import IMAPConn, deliver_smtp, quote
from pop3_fixtures import ALICE, BOB, PASSWORD, POP3Conn, pop3_server
import submission_util
from submission_util import NO_LIMITS, auth_login, auth_plain, plain_response, sub_client

MASTER = "admin"
MASTER_PW = "Master-Pw-9 with spaces"


def master_server(postern, enabled=True, masters=(MASTER,), config=None, pop3_auth=None):
    """IMAP, POP3, submission and the audit log (srv.audit_path); auth.master_login
    as `enabled` (None: the key left out); masters made with the CLI."""
    over = {"auth": {"smtp": dict(NO_LIMITS)}}
    if enabled is not None:
        over["auth"]["master_login"] = enabled
    srv = pop3_server(postern, config=merge_config(over, config or {}), auth=pop3_auth,
                      start=False)
    srv.audit_path = srv.root / "audit.log"
    srv.overrides = merge_config(srv.overrides, {"log": {"audit_file": str(srv.audit_path)}})
    submission_util._own_ports(srv, {})
    srv.write_config(srv.port)
    for name in masters:
        add_master(srv, name)
    srv.start()
    return srv


def add_master(srv, name, password=MASTER_PW):
    p = srv.cli("master", "add", name, "--password-stdin", input=password + "\n")
    assert p.returncode == 0, p.stderr
    return p


def audit(srv, event="auth.master_login"):
    return srv.logs(event, path=srv.audit_path)


def imap_login(srv, user, password=MASTER_PW):
    """LOGIN on imaps: (result, connection) with the connection still open."""
    c = IMAPConn(srv.imaps_port, tls=True)
    return c.cmd(f"LOGIN {quote(user)} {quote(password)}"), c


def imap_plain(srv, authzid, authcid, password=MASTER_PW):
    c = IMAPConn(srv.imaps_port, tls=True)
    return c.cmd("AUTHENTICATE PLAIN " + plain_response(authcid, password, authzid)), c


def exists(c, mailbox="INBOX"):
    r = c.ok(f"SELECT {mailbox}")
    [n] = [int(l.split()[0]) for l in r.lines() if l.endswith("EXISTS")]
    return n


def failed(r):
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r


def success_event(srv, user, protocol, master=MASTER):
    [e] = [e for e in audit(srv) if e["result"] == "success"]
    assert (e["user"], e["master"], e["protocol"], e["ip"]) == (user, master, protocol, HOST), e
    return e


def failure_events(srv):
    return [(e["user"], e["master"], e["reason"]) for e in audit(srv) if e["result"] == "failure"]


# ---- the logins ----------------------------------------------------------------------------------


def test_imap_login_with_star_acts_as_the_user(postern):
    srv = master_server(postern)
    deliver_smtp(srv, rcpt=ALICE)
    r, c = imap_login(srv, f"{ALICE}*{MASTER}")
    assert r.status == "OK", r
    assert exists(c) == 1                 # alice's INBOX, not an empty one
    c.ok("LOGOUT")
    c.close()
    success_event(srv, ALICE, "imap")
    # the normal line too, with who really logged in
    [s] = srv.logs("auth.success")
    assert (s["user"], s["master"]) == (ALICE, MASTER), s
    [d] = srv.wait_log("imap.disconnect", lambda e: e.get("user") == ALICE)
    assert d["master"] == MASTER, d
    # bob's mailbox is bob's
    r, c = imap_login(srv, f"{BOB}*{MASTER}")
    assert r.status == "OK", r
    assert exists(c) == 0
    c.close()
    # no password in any log
    for path in (srv.audit_path, srv.log_path):
        assert MASTER_PW.encode() not in path.read_bytes()


def test_imap_authenticate_plain_with_authzid(postern):
    srv = master_server(postern)
    deliver_smtp(srv, rcpt=BOB)
    r, c = imap_plain(srv, BOB, MASTER)
    assert r.status == "OK", r
    assert exists(c) == 1
    c.close()
    success_event(srv, BOB, "imap")
    # the master name in any case, the user too
    r, c = imap_plain(srv, BOB.upper(), MASTER.upper())
    assert r.status == "OK", r
    c.close()
    # authzid equal to authcid is an ordinary login (RFC 4616), alice's own password
    r, c = imap_plain(srv, ALICE, ALICE, PASSWORD)
    assert r.status == "OK", r
    c.close()
    assert len([e for e in audit(srv) if e["result"] == "success"]) == 2


def test_pop3_user_pass_and_auth_plain(postern):
    srv = master_server(postern)
    deliver_smtp(srv, rcpt=ALICE)
    deliver_smtp(srv, rcpt=ALICE, subject="second")
    c = POP3Conn(srv.pop3s_port, tls=True)
    c.ok(f"USER {ALICE}*{MASTER}")
    c.ok(f"PASS {MASTER_PW}")
    assert c.ok("STAT").text.split()[0] == "2"
    c.ok("QUIT")
    c.close()
    [login] = srv.wait_log("pop3.login")
    assert (login["user"], login["master"], login["messages"]) == (ALICE, MASTER, 2), login
    success_event(srv, ALICE, "pop3")

    c = POP3Conn(srv.pop3s_port, tls=True)
    st = c.cmd("AUTH PLAIN " + plain_response(MASTER, MASTER_PW, authzid=BOB))
    assert st.ok, st
    assert c.ok("STAT").text.split()[0] == "0"
    c.ok("QUIT")
    c.close()
    assert [(e["user"], e["protocol"]) for e in audit(srv) if e["result"] == "success"] == \
        [(ALICE, "pop3"), (BOB, "pop3")]


def test_wrong_master_password_refused(postern):
    srv = master_server(postern)
    r, c = imap_login(srv, f"{ALICE}*{MASTER}", "wrong")
    failed(r)
    c.close()
    r, c = imap_plain(srv, ALICE, MASTER, "wrong")
    failed(r)
    c.close()
    c = POP3Conn(srv.pop3s_port, tls=True)
    c.ok(f"USER {ALICE}*{MASTER}")
    st = c.cmd("PASS wrong")
    assert not st.ok and st.code == "AUTH", st
    c.close()
    assert failure_events(srv) == [(ALICE, MASTER, "bad_password")] * 3
    assert [e["protocol"] for e in audit(srv)] == ["imap", "imap", "pop3"]
    # the limiter's own line counts the master, not alice
    assert [e["user"] for e in audit(srv, "auth.failure")] == [MASTER] * 3
    # and a user's password is no master's: alice's own password as the master's
    r, c = imap_login(srv, f"{BOB}*{MASTER}", PASSWORD)
    failed(r)
    c.close()


def test_disabled_by_default_and_by_config(postern):
    for enabled in (None, False):
        srv = master_server(postern, enabled=enabled)
        r, c = imap_login(srv, f"{ALICE}*{MASTER}")
        failed(r)
        c.close()
        r, c = imap_plain(srv, ALICE, MASTER)
        failed(r)
        c.close()
        c = POP3Conn(srv.pop3s_port, tls=True)
        c.ok(f"USER {ALICE}*{MASTER}")
        assert not c.cmd(f"PASS {MASTER_PW}").ok
        c.close()
        assert audit(srv) == []           # no master login was even tried
        assert [(e["user"], e["reason"]) for e in audit(srv, "auth.failure")] == [
            (f"{ALICE}*{MASTER}", "unknown_user"), (MASTER, "authzid_refused"),
            (f"{ALICE}*{MASTER}", "unknown_user")]
        assert "master login is off" in srv.cli("master", "list").stdout
        srv.stop()


def test_enabled_without_masters_refuses(postern):
    srv = master_server(postern, masters=())
    r, c = imap_login(srv, f"{ALICE}*{MASTER}")
    failed(r)
    c.close()
    assert failure_events(srv) == [(ALICE, MASTER, "unknown_master")]


def test_target_must_exist(postern):
    srv = master_server(postern)
    r, c = imap_login(srv, f"nobody@example.org*{MASTER}")
    failed(r)
    c.close()
    r, c = imap_plain(srv, "nobody@example.org", MASTER)
    failed(r)
    c.close()
    # an alias is no mailbox
    r, c = imap_login(srv, f"both@example.org*{MASTER}")
    failed(r)
    c.close()
    assert failure_events(srv) == [("nobody@example.org", MASTER, "unknown_user")] * 2 + \
        [("both@example.org", MASTER, "unknown_user")]


def test_removed_master_is_refused_at_once_cache_included(postern):
    srv = master_server(postern)
    for _ in range(2):
        r, c = imap_login(srv, f"{ALICE}*{MASTER}")
        assert r.status == "OK", r
        c.close()
    assert [e["cached"] for e in audit(srv) if e["result"] == "success"] == [False, True]
    # the cache entry is the master's for alice: alice's own login is not answered from it,
    # nor is bob's through the same master
    r, c = imap_login(srv, ALICE, PASSWORD)
    assert r.status == "OK", r
    c.close()
    r, c = imap_login(srv, f"{BOB}*{MASTER}")
    assert r.status == "OK", r
    c.close()
    assert [(e["user"], e["cached"]) for e in srv.logs("auth.success")] == [
        (ALICE, False), (ALICE, True), (ALICE, False), (BOB, False)]

    p = srv.cli("master", "remove", MASTER)
    assert p.returncode == 0, p.stderr
    r, c = imap_login(srv, f"{ALICE}*{MASTER}")
    failed(r)
    c.close()
    assert failure_events(srv) == [(ALICE, MASTER, "unknown_master")]
    # made again with the same password: a new hash, a slow first login
    add_master(srv, MASTER)
    r, c = imap_login(srv, f"{ALICE}*{MASTER}")
    assert r.status == "OK", r
    c.close()
    assert [e["cached"] for e in audit(srv) if e["result"] == "success"] == [False, True, False,
                                                                             False]


def test_smtp_submission_refuses_master_logins(postern):
    srv = master_server(postern)
    c = sub_client(srv)
    assert auth_plain(c, MASTER, MASTER_PW, authzid=ALICE).code == 535
    assert auth_plain(c, f"{ALICE}*{MASTER}", MASTER_PW).code == 535
    assert auth_login(c, f"{ALICE}*{MASTER}", MASTER_PW).code == 535
    # and the session is not authenticated
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 530
    c.close()
    assert audit(srv) == []
    assert srv.logs("auth.success") == []
    # alice herself still may
    c = sub_client(srv)
    assert auth_plain(c, ALICE, PASSWORD).code == 235
    c.close()


# ---- the limiter -----------------------------------------------------------------------------------


def test_failures_count_against_the_master(postern):
    limits = dict(NO_LIMITS, max_attempts_per_username=3)
    srv = master_server(postern, config={"auth": {"imap": limits}})
    for _ in range(3):
        r, c = imap_login(srv, f"{ALICE}*{MASTER}", "wrong")
        failed(r)
        c.close()
    # the master is blocked now, right password or not
    r, c = imap_login(srv, f"{BOB}*{MASTER}")
    assert r.status == "NO" and r.code == "UNAVAILABLE", r
    c.close()
    assert [(e["result"], e["reason"]) for e in audit(srv)][-1] == ("refused", "ratelimited")
    [blk] = audit(srv, "auth.blocked")
    assert (blk["scope"], blk["user"]) == ("user", MASTER), blk
    # alice is not: her own password works
    r, c = imap_login(srv, ALICE, PASSWORD)
    assert r.status == "OK", r
    c.close()
    # unblocked by the CLI, the master logs in again
    assert srv.cli("auth", "unblock", MASTER).returncode == 0
    r, c = imap_login(srv, f"{BOB}*{MASTER}")
    assert r.status == "OK", r
    c.close()


def test_blocked_user_stays_blocked_for_masters(postern):
    limits = dict(NO_LIMITS, max_attempts_per_username=3)
    srv = master_server(postern, config={"auth": {"imap": limits}})
    for _ in range(3):
        r, c = imap_login(srv, ALICE, "wrong")
        failed(r)
        c.close()
    r, c = imap_login(srv, f"{ALICE}*{MASTER}")
    assert r.status == "NO" and r.code == "UNAVAILABLE", r
    c.close()
    [e] = audit(srv)
    assert (e["user"], e["master"], e["result"]) == (ALICE, MASTER, "refused"), e
    r, c = imap_login(srv, f"{BOB}*{MASTER}")
    assert r.status == "OK", r
    c.close()


# ---- hostile forms -----------------------------------------------------------------------------------


def test_hostile_login_names(postern):
    srv = master_server(postern)
    cases = [
        (f"*{MASTER}", ("", MASTER, "bad_user_name")),             # empty user part
        (f"{ALICE}*", None),                       # empty master: an ordinary (unknown) name
        ("*", None),
        (f"{ALICE}**{MASTER}", (f"{ALICE}*", MASTER, "unknown_user")),    # split at the last
        (f"a*{ALICE}*{MASTER}", (f"a*{ALICE}", MASTER, "unknown_user")),
        (f"{ALICE}*{'m' * 65}", None),             # no master name is that long
        (f"{ALICE}*adm@in", None),                 # nor has an '@'
    ]
    for name, event in cases:
        before = len(failure_events(srv))
        r, c = imap_login(srv, name)
        failed(r)
        c.ok("NOOP")                             # still a working session
        c.close()
        got = failure_events(srv)[before:]
        assert got == ([event] if event else []), (name, got)
    # longer than any login name: refused before any check
    r, c = imap_login(srv, f"{'a' * 330}*{MASTER}")
    assert r.status == "BAD", r
    c.close()
    # PLAIN: a star form as authcid with an authzid, an empty authzid with a star form,
    # authzid of 255 octets
    for authzid, authcid in ((ALICE, f"{BOB}*{MASTER}"), ("x" * 255, MASTER),
                             (ALICE, "m" * 65)):
        r, c = imap_plain(srv, authzid, authcid)
        failed(r)
        c.close()
    r, c = imap_plain(srv, "", f"{ALICE}*{MASTER}")
    assert r.status == "OK", r                   # the LOGIN form inside PLAIN
    c.close()
    # POP3: a long unknown user, and a line beyond RFC 2449's 255 octets
    c = POP3Conn(srv.pop3s_port, tls=True)
    c.ok(f"USER {'a' * 240}*{MASTER}")
    assert c.cmd(f"PASS {MASTER_PW}").code == "AUTH"
    st = c.cmd(f"USER {'a' * 400}*{MASTER}")
    assert not st.ok, st
    c.ok(f"USER {ALICE}*{MASTER}")
    c.ok(f"PASS {MASTER_PW}")
    c.close()


# ---- the CLI, the schema, the config ----------------------------------------------------------------


def test_master_cli(postern):
    srv = master_server(postern, masters=())
    p = add_master(srv, "Admin")
    assert "master user admin added" in p.stdout
    add_master(srv, "helpdesk.2")
    p = srv.cli("master", "add", "admin", "--password-stdin", input="x\n")
    assert p.returncode == 1 and "already exists" in p.stderr, p.stderr
    for bad in ("a*b", "a@b", "m" * 65, "a b", "ä"):
        p = srv.cli("master", "add", bad, "--password-stdin", input="x\n")
        assert p.returncode == 2 and "not a master user name" in p.stderr, (bad, p.stderr)
    p = srv.cli("master", "add", "nopw", "--password-stdin", input="")
    assert p.returncode == 1, p.stdout
    lines = srv.cli("master", "list").stdout.splitlines()
    assert [l.split()[0] for l in lines[:2]] == ["admin", "helpdesk.2"], lines
    assert lines[2] == "2 master users; master login is on (auth.master_login)", lines
    # hashes only
    con = sqlite3.connect(srv.data_dir / "postern.db")
    rows = con.execute("SELECT name, password FROM master_users ORDER BY name").fetchall()
    con.close()
    assert [n for n, _ in rows] == ["admin", "helpdesk.2"]
    assert all(h.startswith("$argon2id$") and MASTER_PW not in h for _, h in rows), rows
    p = srv.cli("master", "remove", "ADMIN")
    assert p.returncode == 0 and "master user admin removed" in p.stdout, p.stderr
    p = srv.cli("master", "remove", "admin")
    assert p.returncode == 1 and "no such master user" in p.stderr, p.stderr
    assert srv.cli("master", "frobnicate").returncode == 2
    assert [(e["event"], e["master"], e["actor"]) for e in srv.logs(path=srv.audit_path)
            if e["event"].startswith("auth.master_")] == [
        ("auth.master_added", "admin", "cli"), ("auth.master_added", "helpdesk.2", "cli"),
        ("auth.master_removed", "admin", "cli")]
    # the new master logs in (its password was read from stdin as given, spaces kept)
    r, c = imap_login(srv, f"{ALICE}*helpdesk.2")
    assert r.status == "OK", r
    c.close()


def test_schema_step_migrates_an_older_database(postern):
    srv = postern(start=False)
    db_path = srv.data_dir / "postern.db"
    con = sqlite3.connect(db_path)
    # the database as step 4 left it, before master users (step 5) and
    # shared mailboxes (step 6): neither table, version 4
    con.execute("DROP TABLE mailbox_acl")
    con.execute("DROP TABLE master_users")
    # and before step 7 (DMARC aggregate data)
    con.executescript("DROP TRIGGER dmarc_event_recorded; DROP VIEW dmarc_events;"
                      "DROP TRIGGER dmarc_row_added; DROP TABLE dmarc_rows;"
                      "DROP TABLE dmarc_domains; DROP TABLE dmarc_days;"
                      "DROP TABLE dmarc_reports; DROP TABLE dmarc_state;")
    # and step 8 (greylisting)
    con.executescript("DROP TABLE greylist; DROP TABLE greylist_size;"
                      "ALTER TABLE users DROP COLUMN greylist;"
                      "ALTER TABLE users DROP COLUMN junk;")     # and step 9
    con.execute("DROP TABLE auth_known_networks")                 # and step 10
    con.execute("DROP TABLE send_limits")                         # and step 11
    con.executescript("DROP TABLE bans; DROP TABLE ban_generation;")   # and step 12
    con.execute("PRAGMA user_version = 4")
    con.commit()
    con.close()
    p = srv.cli("master", "list")
    assert p.returncode == 1 and "older than this postern" in p.stderr, p.stderr
    p = srv.cli("store", "migrate")
    assert p.returncode == 0, p.stderr
    add_master(srv, MASTER)
    assert srv.cli("master", "list").stdout.startswith(MASTER)
    assert srv.cli("user", "list").stdout.split() == [ALICE, BOB]
    assert any(b.name.startswith("postern.db.v4.")
               for b in (srv.data_dir / "backups").iterdir())


def test_config_check_takes_the_key(postern):
    srv = postern(start=False, config={"auth": {"master_login": True}})
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
    srv = postern(start=False, config={"auth": {"master_login": "yes"}})
    p = srv.cli("config", "check")
    assert p.returncode != 0 and "master_login" in p.stderr, p.stderr
