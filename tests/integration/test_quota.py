"""Quotas (RFC 9208 for IMAP; 452 4.2.2 for SMTP and LMTP).

Per-user limits on storage (RFC822.SIZE octets) and on the number of
messages: `postern user quota` sets, shows and clears a user's own, the
`quota` group of the configuration gives the defaults. Usage is kept as the
mail arrives and leaves (the mailbox index's totals plus deliveries not yet
in it), never by rescanning. Over quota: IMAP APPEND and COPY get
NO [OVERQUOTA] with nothing written (APPEND before its literal is sent), SMTP
and LMTP deliveries get 452 4.2.2 (temporary: the sender retries) at RCPT
when the mailbox is full already (or would be with MAIL's SIZE=), else after
the data: SMTP for the whole message, LMTP per recipient. A delivery that
fills a mailbox past 90 % brings its user one warning from the postmaster.
Reading and deleting always work, even with a limit lowered below the usage.
"""
import re
import smtplib
import time

import pytest

from conftest import DOMAIN, HOST, HOSTNAME, free_port, make_message
from imap_fixtures import IMAPConn, imap_conn, simple_message
from pop3_fixtures import POP3Conn, pop3_server
from test_lmtp import LMTPClient

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
KIB = 1024


# ---- helpers ---------------------------------------------------------------------------------


def server(postern, config=None, lmtp=False):
    """SMTP, IMAP, POP3 (and LMTP when asked) on one server."""
    cfg = dict(config or {})
    port = None
    if lmtp:
        port = free_port()
        cfg["listen"] = {**cfg.get("listen", {}), "lmtp": [f"{HOST}:{port}"]}
    srv = pop3_server(postern, config=cfg)
    srv.lmtp_port = port
    return srv


def set_quota(srv, user=ALICE, storage=None, messages=None, expect=0):
    args = ["user", "quota", user]
    if storage is not None:
        args += ["--storage", str(storage)]
    if messages is not None:
        args += ["--messages", str(messages)]
    p = srv.cli(*args)
    assert p.returncode == expect, (args, p.stdout, p.stderr)
    return p


def usage(srv, user=ALICE):
    """(octets used, messages used, storage limit text, message limit text) from the CLI."""
    out = set_quota(srv, user).stdout
    st = re.search(r"storage:\s+(\d+) octets used, limit (.*)", out)
    ms = re.search(r"messages:\s+(\d+) used, limit (.*)", out)
    assert st and ms, out
    return int(st.group(1)), int(ms.group(1)), st.group(2), ms.group(2)


def quota_response(r):
    """{resource: (used, limit)} of the untagged QUOTA response of a Result."""
    lines = r.lines("QUOTA ")
    assert len(lines) == 1, r
    m = re.match(r'QUOTA "" \((.*)\)\Z', lines[0])
    assert m, lines
    words = m.group(1).split()
    return {words[i]: (int(words[i + 1]), int(words[i + 2])) for i in range(0, len(words), 3)}


def smtp_deliver(srv, rcpts, msg, mail_from="sender@remote.test"):
    """One SMTP transaction with the raw client; returns the reply after the data, or the
    first refused RCPT's reply."""
    with srv.connect() as c:
        c.ehlo()
        c.cmd(f"MAIL FROM:<{mail_from}>", expect=250)
        for rcpt in rcpts:
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            if r.code != 250:
                return r
        c.cmd("DATA", expect=354)
        c.send(msg + b".\r\n")
        return c.reply()


def sized_message(octets, subject="sized"):
    """A message of about `octets` octets (wire form)."""
    head = make_message(subject=subject, body="")
    line = b"x" * 76 + b"\r\n"
    return head + line * max(0, (octets - len(head)) // len(line))


def files(srv, user="alice", sub="new"):
    return len(srv.maildir(user, sub=sub))


def stored(srv, user="alice"):
    """Every message file of a user's Maildir (all folders), and what tmp/ dirs hold."""
    root = srv.maildir_path(user)
    msgs = [p for p in root.rglob("*") if p.is_file() and p.parent.name in ("new", "cur")]
    tmp = [p for p in root.rglob("*") if p.is_file() and p.parent.name == "tmp"]
    return msgs, tmp


def warnings_in(srv, user="alice"):
    """The quota warnings in the user's INBOX (new/ and cur/)."""
    out = []
    for sub in ("new", "cur"):
        for p in srv.maildir(user, sub=sub):
            if b"id quota-warning;" in p.read_bytes():
                out.append(p)
    return out


# ---- the CLI -----------------------------------------------------------------------------------


def test_cli_sets_shows_and_clears_limits(postern):
    srv = postern()
    used, n, slimit, mlimit = usage(srv)
    assert (used, n) == (0, 0)
    assert slimit == "none (the default)" and mlimit == "none (the default)"
    out = set_quota(srv, storage="2G", messages=100000).stdout
    assert "2147483648 = 2G (its own)" in out and "100000 (its own)" in out, out
    out = set_quota(srv, storage="default").stdout
    assert "limit none (the default)" in out and "100000 (its own)" in out, out
    out = set_quota(srv, messages="none").stdout
    assert re.search(r"messages: 0 used, limit none \(its own\)", out), out
    out = set_quota(srv, messages="default", storage="500M").stdout
    assert "524288000 = 500M (its own)" in out and "messages: 0 used, limit none (the default)" in out
    # the list: every user, a default marked
    p = srv.cli("user", "quota")
    assert p.returncode == 0, p.stderr
    rows = {ln.split()[0]: ln for ln in p.stdout.splitlines() if "@" in ln}
    assert set(rows) == {ALICE, BOB}
    assert "524288000" in rows[ALICE] and "none*" in rows[BOB], p.stdout
    # `user list` is as it was
    assert srv.cli("user", "list").stdout.split() == [ALICE, BOB]


def test_cli_refuses_bad_values(postern):
    srv = postern()
    for value in ("2X", "-1", "1.5G", "", "99999999999999999999G", "G"):
        p = srv.cli("user", "quota", ALICE, "--storage", value)
        assert p.returncode == 2, (value, p.stdout, p.stderr)
    for value in ("1e9", "-5", "ten", "1000000001", "5K"):
        p = srv.cli("user", "quota", ALICE, "--messages", value)
        assert p.returncode == 2, (value, p.stdout, p.stderr)
    assert usage(srv)[2:] == ("none (the default)", "none (the default)")
    p = srv.cli("user", "quota", f"nobody@{DOMAIN}", "--storage", "1G")
    assert p.returncode == 1 and "no such user" in p.stderr, p.stderr
    p = srv.cli("user", "quota", f"nobody@{DOMAIN}")
    assert p.returncode == 1
    # options without an address, or with another subcommand
    assert srv.cli("user", "quota", "--storage", "1G").returncode == 2
    assert srv.cli("user", "list", "--messages", "5").returncode == 2
    assert srv.cli("user", "quota", "not-an-address").returncode == 2


def test_defaults_from_config(postern):
    srv = server(postern, {"quota": {"storage": "10K", "messages": 5}})
    assert usage(srv)[2:] == ("10240 = 10K (the default)", "5 (the default)")
    set_quota(srv, BOB, messages=7)
    assert usage(srv, BOB)[2:] == ("10240 = 10K (the default)", "7 (its own)")
    c = imap_conn(srv)
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.lines("QUOTAROOT") == ['QUOTAROOT "INBOX" ""'], r
    assert quota_response(r) == {"STORAGE": (0, 10), "MESSAGE": (0, 5)}
    # a user's own "none" wins over the default
    set_quota(srv, storage="none", messages="none")
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.lines("QUOTAROOT") == ['QUOTAROOT "INBOX"'] and r.lines("QUOTA ") == [], r


def test_config_refuses_bad_quota_values(postern):
    srv = postern(start=False)
    for bad, key in (({"storage": "lots"}, "storage"), ({"messages": -1}, "messages"),
                     ({"storage": 5}, "storage"), ({"size": "1G"}, "size")):
        srv.overrides["quota"] = bad
        srv.write_config(srv.port)
        p = srv.cli("config", "check")
        assert p.returncode != 0 and f"'{key}'" in p.stderr, (bad, p.stderr)


# ---- IMAP ------------------------------------------------------------------------------------


def test_imap_capability_getquotaroot_getquota_setquota(postern):
    srv = server(postern)
    set_quota(srv, storage="1M", messages=10)
    c = imap_conn(srv)
    caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].split()
    for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
        assert cap in caps, caps
    assert "QUOTASET" not in caps
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.lines("QUOTAROOT") == ['QUOTAROOT "INBOX" ""']
    assert quota_response(r) == {"STORAGE": (0, 1024), "MESSAGE": (0, 10)}
    msg = simple_message("one", body="x" * 5000)
    assert c.append("INBOX", msg).status == "OK"
    r = c.ok('GETQUOTA ""')
    assert quota_response(r) == {"STORAGE": (-(-len(msg) // KIB), 1024), "MESSAGE": (1, 10)}, r
    assert c.append("Archive", msg).status == "OK"
    r = c.ok("GETQUOTAROOT Archive")
    assert r.lines("QUOTAROOT") == ['QUOTAROOT "Archive" ""']
    assert quota_response(r)["MESSAGE"] == (2, 10)
    # EXPUNGE gives it back
    c.ok("SELECT Archive")
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    assert quota_response(c.ok('GETQUOTA ""'))["MESSAGE"] == (1, 10)
    # deleting a mailbox with messages, too
    c.ok("CREATE Old")
    assert c.append("Old", msg).status == "OK"
    assert quota_response(c.ok('GETQUOTA ""'))["MESSAGE"] == (2, 10)
    c.ok("SELECT INBOX")
    c.ok("DELETE Old")
    assert quota_response(c.ok('GETQUOTA ""'))["MESSAGE"] == (1, 10)
    assert usage(srv)[:2] == (len(msg), 1)
    # no other quota root, and no setting quotas over IMAP
    for cmd in ('GETQUOTA "user.alice"', "GETQUOTA INBOX"):
        r = c.cmd(cmd)
        assert r.status == "NO" and r.code == "NONEXISTENT", (cmd, r)
    r = c.cmd('SETQUOTA "" (STORAGE 999999)')
    assert r.status == "NO" and r.code == "NOPERM", r
    assert quota_response(c.ok('GETQUOTA ""'))["STORAGE"][1] == 1024
    r = c.cmd("GETQUOTAROOT nosuchbox")
    assert r.status == "NO" and r.code == "NONEXISTENT", r


def test_imap_user_without_limits_has_no_quota_root(postern):
    srv = server(postern)
    c = imap_conn(srv, login=BOB)
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.lines("QUOTAROOT") == ['QUOTAROOT "INBOX"'] and r.lines("QUOTA ") == [], r
    r = c.cmd('GETQUOTA ""')
    assert r.status == "NO" and r.code == "NONEXISTENT", r
    assert c.append("INBOX", simple_message("free")).status == "OK"


def test_imap_quota_commands_hostile(postern):
    srv = server(postern)
    set_quota(srv, messages=3)
    c = IMAPConn(srv.imaps_port, tls=True)
    for cmd in ("GETQUOTAROOT INBOX", 'GETQUOTA ""', 'SETQUOTA "" (STORAGE 1)'):
        r = c.cmd(cmd)
        assert r.status == "BAD" and "before login" in r.text, (cmd, r)
    c.login()
    for cmd in ("GETQUOTAROOT", "GETQUOTAROOT INBOX extra", "GETQUOTA", 'GETQUOTA "" ""',
                "GETQUOTA (", "UID GETQUOTA \"\"", "GETQUOTAROOT \"unterminated"):
        r = c.cmd(cmd)
        assert r.status == "BAD", (cmd, r)
    r = c.cmd('SETQUOTA "" (STORAGE 1 MESSAGE 2 ' + "X 1 " * 2000 + ")")
    assert r.status in ("NO", "BAD"), r
    r = c.cmd("GETQUOTAROOT " + "a/" * 200 + "b")
    assert r.status in ("NO", "BAD"), r
    assert quota_response(c.ok('GETQUOTA ""')) == {"MESSAGE": (0, 3)}


def test_status_deleted_storage(postern):
    srv = server(postern)
    c = imap_conn(srv)
    msgs = [simple_message(f"d{i}", body="y" * (3000 * (i + 1))) for i in range(3)]
    c.ok("CREATE Del")
    for m in msgs:
        assert c.append("Del", m).status == "OK"
    r = c.ok("STATUS Del (MESSAGES DELETED DELETED-STORAGE)")
    assert r.lines("STATUS") == ['STATUS "Del" (MESSAGES 3 DELETED 0 DELETED-STORAGE 0)'], r
    c.ok("SELECT Del")
    c.ok("STORE 1,3 +FLAGS (\\Deleted)")
    kib = -(-(len(msgs[0]) + len(msgs[2])) // KIB)
    r = c.ok("STATUS Del (DELETED-STORAGE DELETED)")
    assert r.lines("STATUS") == [f'STATUS "Del" (DELETED-STORAGE {kib} DELETED 2)'], r
    c.ok("EXPUNGE")
    r = c.ok("STATUS Del (DELETED-STORAGE)")
    assert r.lines("STATUS") == ['STATUS "Del" (DELETED-STORAGE 0)'], r


def test_append_over_quota_refused_before_the_literal(postern):
    srv = server(postern)
    set_quota(srv, storage="20K", messages=2)
    c = imap_conn(srv)
    assert c.append("INBOX", simple_message("a")).status == "OK"
    before = stored(srv)
    # too big for what is left: NO before the literal is sent (no "+")
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{{30 * KIB}}}\r\n".encode())
    r = c.wait_tagged(tag)
    assert r.status == "NO" and r.code == "OVERQUOTA" and r.continuations == [], r
    # the session goes on: the literal was never read as commands
    assert c.append("INBOX", simple_message("b")).status == "OK"
    # now the message count is the limit
    r = c.append("Archive", simple_message("c"))
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    # a non-synchronising literal arrives anyway: refused after it, nothing written
    msg = simple_message("d")
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    r = c.wait_tagged(tag)
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    msgs, tmp = stored(srv)
    assert len(msgs) == len(before[0]) + 1 and tmp == [], (msgs, tmp)
    c.ok("NOOP")
    assert quota_response(c.ok('GETQUOTA ""'))["MESSAGE"] == (2, 2)


def test_copy_over_quota_all_or_nothing_and_move_unaffected(postern):
    srv = server(postern)
    set_quota(srv, messages=3)
    c = imap_conn(srv)
    c.ok("CREATE Src")
    for i in range(2):
        assert c.append("Src", simple_message(f"s{i}")).status == "OK"
    c.ok("CREATE Dst")
    c.ok("SELECT Src")
    r = c.cmd("COPY 1:2 Dst")            # 2 + 2 > 3: nothing copied
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    assert "MESSAGES 0" in c.ok("STATUS Dst (MESSAGES)").lines("STATUS")[0]
    r = c.ok("UID COPY 1 Dst")           # 3: fits exactly
    assert r.code.startswith("COPYUID"), r
    r = c.cmd("COPY 2 Dst")
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    # at the limit, MOVE still works: it changes nothing of the usage
    r = c.ok("MOVE 1:2 Dst")
    assert "MESSAGES 3" in c.ok("STATUS Dst (MESSAGES)").lines("STATUS")[0]
    assert quota_response(c.ok('GETQUOTA ""'))["MESSAGE"] == (3, 3)
    msgs, tmp = stored(srv)
    assert len(msgs) == 3 and tmp == []


# ---- SMTP and LMTP ---------------------------------------------------------------------------


def test_smtp_full_mailbox_gets_452_at_rcpt(postern):
    srv = server(postern)
    set_quota(srv, messages=1)
    assert smtp_deliver(srv, [ALICE], make_message("first")).code == 250
    r = smtp_deliver(srv, [ALICE], make_message("second"))
    assert (r.code, r.enh) == (452, "4.2.2"), r
    assert "full" in r.text.lower()
    # a real client sees it at RCPT too, and the other recipient still gets it
    with smtplib.SMTP(HOST, srv.port, timeout=10) as s:
        refused = s.sendmail("sender@remote.test", [ALICE, BOB], make_message("both"))
    assert refused == {ALICE: (452, b"4.2.2 <alice@example.org>: Mailbox full, try again later")}
    # the first message, and the warning it brought (100 % of one message)
    assert files(srv, "alice") == 2 and len(warnings_in(srv)) == 1 and files(srv, "bob") == 1
    # the alias reaching a full mailbox is refused the same way (temporary)
    r = smtp_deliver(srv, [f"both@{DOMAIN}"], make_message("alias"))
    assert (r.code, r.enh) == (452, "4.2.2"), r


def test_smtp_declared_size_checked_at_rcpt(postern):
    srv = server(postern)
    set_quota(srv, storage="10K")
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test> SIZE=20000", expect=250)
        r = c.cmd(f"RCPT TO:<{ALICE}>")
        assert (r.code, r.enh) == (452, "4.2.2"), r
        assert c.cmd(f"RCPT TO:<{BOB}>").code == 250
        c.cmd("RSET", expect=250)
        c.cmd("MAIL FROM:<s@remote.test> SIZE=2000", expect=250)
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250


def test_smtp_over_quota_after_data_refuses_the_whole_message(postern):
    srv = server(postern)
    set_quota(srv, storage="10K")
    r = smtp_deliver(srv, [BOB, ALICE], sized_message(20 * KIB))
    assert (r.code, r.enh) == (452, "4.2.2"), r
    # nothing for anyone: the sender retries the whole message later
    assert srv.all_delivered() == []
    assert srv.wait_log("smtp.transaction", lambda e: e["result"] == "rejected: mailbox full")
    assert smtp_deliver(srv, [BOB, ALICE], sized_message(4 * KIB)).code == 250
    assert files(srv, "alice") == 1 and files(srv, "bob") == 1


def test_lmtp_refuses_per_recipient(postern):
    srv = server(postern, lmtp=True)
    set_quota(srv, storage="10K")
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE, BOB], sized_message(20 * KIB))
        assert (replies[0].code, replies[0].enh) == (452, "4.2.2"), replies
        assert ALICE in replies[0].text
        assert replies[1].code == 250, replies
    assert files(srv, "alice") == 0 and files(srv, "bob") == 1
    # full already: refused at RCPT
    set_quota(srv, storage="none", messages=1)
    with LMTPClient(srv.lmtp_port) as c:
        assert c.transaction([ALICE], make_message("fills it"))[0].code == 250
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd(f"RCPT TO:<{ALICE}>")
        assert (r.code, r.enh) == (452, "4.2.2"), r
        c.cmd(f"RCPT TO:<{BOB}>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message("bob only") + b".\r\n")
        assert c.reply().code == 250      # one reply: one accepted recipient
    # alice: the message that filled it and the warning it brought
    assert files(srv, "alice") == 2 and len(warnings_in(srv)) == 1 and files(srv, "bob") == 2


# ---- usage accounting ------------------------------------------------------------------------


def test_usage_counts_deliveries_once_across_syncs_and_pop3(postern):
    srv = server(postern)
    msgs = [make_message(f"m{i}", body=("z" * 70 + "\n") * (10 * (i + 1))) for i in range(3)]
    for m in msgs:
        assert smtp_deliver(srv, [ALICE], m).code == 250
    used, n, _, _ = usage(srv)
    assert n == 3 and used > sum(len(m) for m in msgs), used   # plus Return-Path, Received
    # the index takes the deliveries in: the same usage, not twice
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    assert usage(srv)[:2] == (used, 3)
    sizes = [int(x) for x in re.findall(r"RFC822\.SIZE (\d+)", " ".join(
        c.ok("FETCH 1:* (RFC822.SIZE)").lines()))]
    assert sum(sizes) == used, (sizes, used)
    # another delivery while a session has INBOX open, then its sync
    assert smtp_deliver(srv, [ALICE], make_message("m3")).code == 250
    assert usage(srv)[1] == 4
    c.ok("NOOP")
    assert usage(srv)[1] == 4
    c.cmd("LOGOUT")
    # POP3 takes mail in and deletes it: the usage follows
    p = POP3Conn(srv.pop3s_port, tls=True)
    p.login()
    p.ok("DELE 1")
    p.ok("DELE 2")
    assert p.cmd("QUIT").ok
    assert usage(srv)[1] == 2


def test_index_rebuilt_by_hand_keeps_usage_right(postern):
    srv = server(postern)
    for i in range(2):
        assert smtp_deliver(srv, [ALICE], make_message(f"r{i}")).code == 250
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    c.cmd("LOGOUT")
    used = usage(srv)[:2]
    (srv.maildir_path("alice") / "postern-index.db").unlink()
    for extra in ("-wal", "-shm"):
        (srv.maildir_path("alice") / f"postern-index.db{extra}").unlink(missing_ok=True)
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    assert usage(srv)[:2] == used


def test_warning_once_per_crossing(postern):
    srv = server(postern)
    limit = 50 * KIB
    line = limit - limit // 10
    set_quota(srv, storage=limit)
    msg = sized_message(4 * KIB)
    warned_at = None
    # as near the limit as a whole message (and its trace fields) still fits
    while usage(srv)[0] < limit - len(msg) - KIB:
        before = usage(srv)[0]
        assert smtp_deliver(srv, [ALICE], msg).code == 250
        after = usage(srv)[0]
        got = warnings_in(srv)
        if after < line:
            assert got == [], (before, after)
        elif warned_at is None:
            assert len(got) == 1, (before, after)
            warned_at = after
    assert warned_at is not None and len(warnings_in(srv)) == 1
    text = warnings_in(srv)[0].read_bytes().decode()
    assert f"From: Postmaster <postmaster@{HOSTNAME}>" in text
    assert re.search(r"^Return-Path: <>$", text, re.M) and "Auto-Submitted: auto-generated" in text
    assert f"To: <{ALICE}>" in text and "Subject: Your mailbox is almost full" in text
    assert srv.wait_log("quota.warning_sent")
    # full: refused, and still one warning
    while smtp_deliver(srv, [ALICE], msg).code == 250:
        pass
    assert len(srv.logs("quota.warning_sent")) == 1
    # below the line again, then across it: a second warning
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    c.ok("STORE 1:8 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    c.cmd("LOGOUT")
    assert usage(srv)[0] < line
    while usage(srv)[0] < line:
        assert smtp_deliver(srv, [ALICE], msg).code == 250
    assert len(srv.logs("quota.warning_sent")) == 2


def test_limit_lowered_below_usage(postern):
    srv = server(postern)
    for i in range(5):
        assert smtp_deliver(srv, [ALICE], make_message(f"l{i}")).code == 250
    set_quota(srv, messages=2)
    r = smtp_deliver(srv, [ALICE], make_message("refused"))
    assert (r.code, r.enh) == (452, "4.2.2"), r
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    assert quota_response(c.ok('GETQUOTA ""')) == {"MESSAGE": (5, 2)}
    r = c.append("INBOX", simple_message("no"))
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    c.ok("CREATE Keep")
    r = c.cmd("COPY 1 Keep")
    assert r.status == "NO" and r.code == "OVERQUOTA", r
    # reading, flagging, moving and deleting still work
    assert b"Subject: l0" in c.ok("FETCH 1 BODY.PEEK[]").untagged[0]
    c.ok("STORE 2 +FLAGS (\\Flagged)")
    c.ok("MOVE 5 Keep")
    c.ok("STORE 1:3 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    assert quota_response(c.ok('GETQUOTA ""')) == {"MESSAGE": (2, 2)}
    r = smtp_deliver(srv, [ALICE], make_message("still full"))
    assert r.code == 452
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    assert smtp_deliver(srv, [ALICE], make_message("room again")).code == 250


def test_deleted_user_takes_its_usage_along(postern):
    srv = server(postern)
    set_quota(srv, BOB, messages=5)
    assert smtp_deliver(srv, [BOB], make_message("b")).code == 250
    assert usage(srv, BOB)[1] == 1
    c = imap_conn(srv, login=BOB)
    c.ok("SELECT INBOX")
    c.cmd("LOGOUT")
    assert srv.cli("user", "del", BOB).returncode == 0
    srv.add_user(BOB)
    # its own limit went with it; the kept Maildir is counted again at its next login
    assert usage(srv, BOB)[3] == "none (the default)"
    c = imap_conn(srv, login=BOB)
    assert usage(srv, BOB)[1] == 1
    assert smtp_deliver(srv, [BOB], make_message("b2")).code == 250
    assert usage(srv, BOB)[1] == 2


def test_imported_mail_counts(postern, tmp_path):
    srv = server(postern)
    src = tmp_path / "old"
    for sub in ("cur", "new", "tmp"):
        (src / sub).mkdir(parents=True)
    msgs = [make_message(f"old{i}") for i in range(4)]
    for i, m in enumerate(msgs):
        (src / "cur" / f"170000000{i}.host:2,S").write_bytes(m.replace(b"\r\n", b"\n"))
    set_quota(srv, messages=3)
    p = srv.cli("import", "maildir", "--user", ALICE, str(src))
    assert p.returncode == 0, p.stdout + p.stderr
    # never refused for the quota, but counted: now over it, before any login
    assert usage(srv)[:2] == (sum(len(m) for m in msgs), 4)
    r = smtp_deliver(srv, [ALICE], make_message("new"))
    assert (r.code, r.enh) == (452, "4.2.2"), r
