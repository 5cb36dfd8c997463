"""IMAP sessions in step with each other and with the Maildir (RFC 9051 5.2, 5.5,
7.4.1): mail delivered over SMTP shows up in INBOX; two sessions on one mailbox
see each other's flag changes, appends and expunges, never an EXPUNGE during
FETCH / STORE / SEARCH, and still learn of others' changes after a change of
their own; changes made to the Maildir by other programs are picked up;
sessions on both workers changing flags and syncing never lose a message or a
flag, and follow a rename; the index can be deleted and is rebuilt from the
files; UIDVALIDITY changes when a mailbox name is used again (2.3.1.1).

IDLE is in test_imap_idle.py, EXPUNGE races in test_imap_expunge.py."""
import os
import re
import time
from pathlib import Path

import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, BOB, box, deliver_smtp, exists_of, fetch_all, imap_conn, imap_server,
                           module_server, resp_code, simple_message, write_maildir)


# ---- SMTP delivery -------------------------------------------------------------------------------


def test_smtp_delivery_appears_in_inbox(srv):
    c = imap_conn(srv, login=BOB)
    n0 = exists_of(c.ok("SELECT INBOX"))
    msg = deliver_smtp(srv, BOB, subject="delivered to bob")
    deadline = time.monotonic() + 5
    n1 = n0
    while n1 == n0 and time.monotonic() < deadline:
        n1 = exists_of(c.ok("NOOP")) or n0
        time.sleep(0.1)
    assert n1 == n0 + 1, (n0, n1)
    r = c.ok(f"FETCH {n1} (FLAGS RFC822.SIZE BODY.PEEK[])")
    f = fetch_all(r)[n1]
    assert f["FLAGS"] == ["\\Recent"]                  # new mail, first seen by this session
    body = f["BODY[]"]
    assert body.startswith(b"Return-Path: <sender@remote.test>\r\n"), body[:200]
    assert msg.split(b"\r\n\r\n", 1)[1] in body
    assert int(f["RFC822.SIZE"]) == len(body)
    # a fresh SELECT and STATUS agree
    c2 = imap_conn(srv, login=BOB)
    r = c2.ok("STATUS INBOX (MESSAGES UNSEEN)")
    assert f"MESSAGES {n1}" in r.lines()[0], r
    assert exists_of(c2.ok("SELECT INBOX")) == n1
    # the file moved from new/ to cur/ once the index knew it
    assert srv.maildir("bob") == []
    c.close()
    c2.close()


# ---- two sessions --------------------------------------------------------------------------------


def test_two_sessions_see_flags_appends_and_expunges(srv):
    a = imap_conn(srv)
    b = imap_conn(srv)
    box(a, "two1", 3)
    a.ok("SELECT two1")
    b.ok("SELECT two1")
    a.ok("STORE 1 +FLAGS (\\Flagged Custom)")
    r = b.ok("NOOP")
    f = fetch_all(r)
    assert 1 in f and set(f[1]["FLAGS"]) == {"\\Flagged", "Custom"}, r
    r = b.ok("NOOP")
    assert fetch_all(r) == {}, r                        # reported once
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    r = b.ok("NOOP")
    assert "2 EXPUNGE" in r.lines(), r
    assert a.append("two1", simple_message("new one")).status == "OK"
    r = b.ok("NOOP")
    assert exists_of(r) == 3, r
    r = b.ok("FETCH 1:* (UID FLAGS)")
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [1, 3, 4], r
    # and the other way round
    b.ok("STORE 3 +FLAGS (\\Answered)")
    r = a.ok("NOOP")
    assert "\\Answered" in fetch_all(r)[3]["FLAGS"], r
    a.close()
    b.close()


def test_no_expunge_during_fetch_store_search(srv):
    """RFC 9051 7.4.1: EXPUNGE responses are not sent while FETCH, STORE or SEARCH
    runs (sequence numbers would shift under the client); NOOP sends them."""
    a = imap_conn(srv)
    b = imap_conn(srv)
    box(a, "two2", 4)
    a.ok("SELECT two2")
    b.ok("SELECT two2")
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    for cmd in ("FETCH 1:* FLAGS", "SEARCH ALL", "UID FETCH 1:* FLAGS"):
        r = b.ok(cmd)
        assert not [l for l in r.lines() if l.endswith("EXPUNGE")], (cmd, r)
    r = b.ok("NOOP")
    assert "2 EXPUNGE" in r.lines(), r
    a.close()
    b.close()


# After a command of its own that changes the mailbox (STORE, FETCH BODY[] setting
# \Seen, COPY/MOVE/EXPUNGE), a session must still be told about what *others* did
# before it: their expunges, flag changes and new messages.
OWN_CHANGES = ["STORE 1 +FLAGS (\\Seen)", "STORE 1 +FLAGS.SILENT (\\Seen)", "FETCH 1 BODY[]",
               "UID STORE 1 +FLAGS (\\Answered)", "MOVE 1 INBOX", "EXPUNGE"]


@pytest.mark.parametrize("own", OWN_CHANGES)
def test_others_expunge_reported_after_own_change(srv, own):
    a = imap_conn(srv)
    b = imap_conn(srv)
    name = "oc%d" % OWN_CHANGES.index(own)
    box(a, name, 4)
    a.ok(f"SELECT {name}")
    b.ok(f"SELECT {name}")
    a.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    r = b.ok(own)
    r2 = b.ok("NOOP")
    lines = r.lines() + r2.lines()
    assert any(l == "3 EXPUNGE" or (own in ("MOVE 1 INBOX",) and l == "2 EXPUNGE" and
               lines.index(l) > 0) for l in lines), (own, lines)
    # the two sessions agree on the mailbox afterwards
    ua = [int(v["UID"]) for v in fetch_all(a.ok("FETCH 1:* UID")).values()]
    ub = [int(v["UID"]) for v in fetch_all(b.ok("FETCH 1:* UID")).values()]
    assert ua == ub, (own, ua, ub)
    a.close()
    b.close()


def test_others_append_and_flags_reported_after_own_store(srv):
    a = imap_conn(srv)
    b = imap_conn(srv)
    box(a, "oc_app", 2)
    a.ok("SELECT oc_app")
    b.ok("SELECT oc_app")
    assert a.append("oc_app", simple_message("third")).status == "OK"
    a.ok("STORE 2 +FLAGS (\\Flagged)")
    r = b.ok("STORE 1 +FLAGS (\\Seen)")
    r2 = b.ok("NOOP")
    lines = r.lines() + r2.lines()
    assert "3 EXISTS" in lines, lines
    f = {**fetch_all(r), **fetch_all(r2)}
    assert "\\Flagged" in f.get(2, {}).get("FLAGS", []), lines
    a.close()
    b.close()


def test_maildir_changes_by_other_programs(srv):
    """The Maildir is the truth: a flag set by renaming a file, a file removed,
    a file dropped into new/ are all reported on NOOP."""
    c = imap_conn(srv)
    box(c, "md1", 3)
    c.ok("SELECT md1")
    cur = srv.maildir_path("alice") / ".md1" / "cur"
    files = sorted(cur.iterdir())
    assert len(files) == 3
    time.sleep(0.01)
    files[0].rename(files[0].with_name(files[0].name.split(":2,")[0] + ":2,FS"))
    files[1].unlink()
    write_maildir(srv.maildir_path("alice") / ".md1", [simple_message("dropped in")], host="other")
    r = c.ok("NOOP")
    assert "2 EXPUNGE" in r.lines(), r
    assert exists_of(r) == 3, r
    f = fetch_all(r)
    assert set(f[1]["FLAGS"]) == {"\\Flagged", "\\Seen", "\\Recent"}, r
    r = c.ok("FETCH 3 BODY.PEEK[HEADER.FIELDS (Subject)]")
    assert b"dropped in" in r.untagged[0]
    c.close()


def test_keyword_changes_by_others_are_reported_own_changes_once(srv):
    a, b = imap_conn(srv), imap_conn(srv)
    box(a, "kw1", 2)
    a.ok("SELECT kw1")
    b.ok("SELECT kw1")
    b.ok("STORE 1 +FLAGS.SILENT ($Work)")
    r = a.ok("NOOP")
    # (a selected first: the messages are \Recent in its session)
    assert [l for l in r.lines("FETCH")] == ["1 FETCH (UID 1 FLAGS (\\Recent $Work))"], r
    # a keyword taken away, system flags unchanged: still news
    b.ok("STORE 1 -FLAGS.SILENT ($Work)")
    r = a.ok("NOOP")
    assert r.lines("FETCH") == ["1 FETCH (UID 1 FLAGS (\\Recent))"], r
    # a's own change is reported by its STORE, not again by the next NOOP
    r = a.ok("STORE 2 +FLAGS ($Own)")
    assert len(r.lines("FETCH")) == 1, r
    assert a.ok("NOOP").lines("FETCH") == []
    a.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
    assert a.ok("NOOP").lines("FETCH") == []
    # a FETCH that sets \Seen reports it there only
    r = a.ok("FETCH 1 (BODY[TEXT])")
    assert "\\Seen" in r.lines("FETCH")[0], r
    assert a.ok("NOOP").lines("FETCH") == []
    # b learns all of them
    r = b.ok("NOOP")
    assert len(r.lines("FETCH")) == 2, r
    a.close()
    b.close()


def test_flag_changes_and_syncs_on_two_workers_never_lose_a_message(srv):
    """STORE renames files in cur/ while sessions on the other worker rescan
    cur/ (a drop into new/ forces a full sync each time): a sync must never
    see a message between two names, as twice or as gone. cur/ holds enough
    files that reading it takes several getdents calls."""
    import random
    import threading
    n = 2000
    setup = imap_conn(srv)
    setup.ok('CREATE "race1"')
    folder = srv.maildir_path("alice") / ".race1"
    write_maildir(folder, [simple_message(f"r{i}") for i in range(n)], sub="cur", host="race")
    assert exists_of(setup.ok("SELECT race1")) == n
    setup.close()
    storers = [imap_conn(srv) for _ in range(3)]
    syncers = [imap_conn(srv) for _ in range(5)]    # over both workers
    failures, dropped = [], [0]
    stop = time.monotonic() + 5

    def store_loop(c, k):
        rnd = random.Random(k)
        c.ok("SELECT race1")
        while time.monotonic() < stop:
            first = rnd.randrange(1, n - 100)
            for op in ("+", "-"):
                r = c.cmd(f"UID STORE {first}:{first + 100} {op}FLAGS.SILENT (\\Flagged)")
                if r.status != "OK":
                    failures.append(("store", r))

    def sync_loop(c, k):
        while time.monotonic() < stop:
            write_maildir(folder, [simple_message("poke")], host=f"poke{k}.{dropped[0]}")
            dropped[0] += 1
            r = c.cmd("SELECT race1")
            if r.status != "OK":
                failures.append(("select", r))
                continue
            r = c.ok(f"UID SEARCH UID 1:{n}")
            if len(r.lines("SEARCH")[0].split()) != n + 1:
                failures.append(("lost", r.lines("SEARCH")[0][:200]))

    threads = [threading.Thread(target=store_loop, args=(c, k)) for k, c in enumerate(storers)]
    threads += [threading.Thread(target=sync_loop, args=(c, k)) for k, c in enumerate(syncers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures[:3]
    c = imap_conn(srv)
    r = c.ok("SELECT race1")
    assert exists_of(r) == n + dropped[0], (exists_of(r), dropped[0])
    for x in storers + syncers + [c]:
        x.close()


def test_readonly_fetch_fills_the_cache_after_its_snapshot(srv):
    """A FETCH that changes nothing reads in one snapshot; the ENVELOPE and
    BODYSTRUCTURE it makes are written after it, not inside it, and another
    session's STORE is not held up meanwhile."""
    import sqlite3
    a, b = imap_conn(srv), imap_conn(srv)
    box(a, "cache1", 40)
    folder = srv.maildir_path("alice") / ".cache1"
    write_maildir(folder, [simple_message(f"raw{i}") for i in range(40)], host="cache")
    a.ok("SELECT cache1")
    b.ok("SELECT cache1")
    r = a.ok("FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
    assert len(r.lines("FETCH")) == 80, len(r.lines("FETCH"))
    b.ok("STORE 1:* +FLAGS.SILENT (\\Flagged)")
    db = sqlite3.connect(srv.maildir_path("alice") / "postern-index.db")
    n = db.execute("SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
                   "WHERE b.name = 'cache1' AND m.envelope IS NOT NULL AND m.envelope != ''"
                   ).fetchone()[0]
    db.close()
    assert n == 80, n
    a.close()
    b.close()


def test_concurrent_flag_changes_on_two_workers_all_stick(srv):
    """Two sessions add different flags to the same messages at once: each
    change is decided on the row under the lock, so neither is lost."""
    import threading
    setup = imap_conn(srv)
    box(setup, "both1", 60)
    setup.close()
    conns = [imap_conn(srv) for _ in range(6)]    # over both workers
    flags = ["\\Flagged", "\\Answered", "$A", "$B", "$C", "\\Draft"]

    def add(c, flag):
        c.ok("SELECT both1")
        for _ in range(4):
            c.ok(f"UID STORE 1:60 +FLAGS.SILENT ({flag})")
            c.ok(f"UID STORE 1:60 -FLAGS.SILENT ({flag})")
        for uid in range(1, 61):
            c.ok(f"UID STORE {uid} +FLAGS.SILENT ({flag})")

    threads = [threading.Thread(target=add, args=(c, f)) for c, f in zip(conns, flags)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = imap_conn(srv)
    c.ok("EXAMINE both1")
    f = fetch_all(c.ok("FETCH 1:* (FLAGS)"))
    missing = {n: sorted(set(flags) - set(v["FLAGS"])) for n, v in f.items()
               if set(flags) - set(v["FLAGS"])}
    assert missing == {}, list(missing.items())[:3]
    for x in conns + [c]:
        x.close()


def test_writes_follow_a_rename_by_another_session(srv):
    a, b = imap_conn(srv), imap_conn(srv)
    box(a, "ren1", 3)
    a.ok("SELECT ren1")
    b.ok('RENAME ren1 "ren1 moved"')
    r = a.ok("STORE 2 +FLAGS (\\Flagged)")   # no NOOP in between
    assert "\\Flagged" in r.lines("FETCH")[0], r
    a.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    assert a.ok('COPY 1 INBOX').text.startswith("[COPYUID"), "copy"
    r = b.ok('STATUS "ren1 moved" (MESSAGES)')
    assert "MESSAGES 2" in r.lines("STATUS")[0], r
    b.ok('SELECT "ren1 moved"')
    f = fetch_all(b.ok("FETCH 2 (FLAGS)"))
    assert "\\Flagged" in f[2]["FLAGS"], f
    a.close()
    b.close()


# ---- the index -----------------------------------------------------------------------------------


def test_index_rebuild_keeps_messages_and_flags(postern):
    s = imap_server(postern)
    c = imap_conn(s)
    msgs = [simple_message(f"rebuild {i}") for i in range(4)]
    flags = ["\\Seen", "\\Flagged", "\\Seen \\Answered", None]
    for m, f in zip(msgs, flags):
        assert c.append("INBOX", m, flags=f).status == "OK"
    box(c, "proj/sub", 2)
    c.ok("SUBSCRIBE proj")
    r = c.ok("SELECT INBOX")
    uv_before = resp_code(r, "UIDVALIDITY")
    c.ok("LOGOUT")
    c.close()
    time.sleep(1.1)                                      # UIDVALIDITY is time-based
    assert s.stop() == 0
    md = s.maildir_path("alice")
    delete_index(md)
    s.start()
    c = imap_conn(s)
    r = c.ok("SELECT INBOX")
    assert exists_of(r) == 4, r
    uv_after = resp_code(r, "UIDVALIDITY")
    assert uv_after != uv_before and int(uv_after) > int(uv_before), (uv_before, uv_after)
    r = c.ok("FETCH 1:* (FLAGS BODY.PEEK[])")
    got = {f["BODY[]"]: set(f["FLAGS"]) for f in fetch_all(r).values()}
    for m, fl in zip(msgs, flags):
        assert got[m] == set((fl or "").split()), (m[:60], got[m])
    assert "proj/sub" in str(c.ok('LIST "" "*"').lines())
    r = c.ok('SELECT "proj/sub"')
    assert exists_of(r) == 2
    assert (md / "postern-index.db").exists()
    c.close()


def test_index_rebuild_keeps_keywords(postern):
    """docs/operations.md: a deleted index is rebuilt from the Maildir and the
    flags survive: keywords too (mutt's Old, $Forwarded, $Junk), kept as
    Dovecot keeps them (dovecot-keywords and a letter in the file name); the
    rebuild is logged (imap.index_rebuilt)."""
    s = imap_server(postern)
    c = imap_conn(s)
    msgs = [simple_message(f"kw rebuild {i}") for i in range(3)]
    kws = ["$Forwarded \\Seen", "Old $Junk", None]
    for m, f in zip(msgs, kws):
        assert c.append("INBOX", m, flags=f).status == "OK"
    box(c, "kwbox", 1)
    c.ok("SELECT kwbox")
    c.ok("STORE 1 +FLAGS (Old)")
    c.ok("LOGOUT")
    c.close()
    assert s.stop() == 0
    md = s.maildir_path("alice")
    assert "0 $Forwarded" in (md / "dovecot-keywords").read_text()
    delete_index(md)
    s.start()
    c = imap_conn(s)
    r = c.ok("SELECT INBOX")
    flags = r.lines("FLAGS")[0]
    assert all(k in flags for k in ("$Forwarded", "Old", "$Junk")), r
    got = {f["BODY[]"]: set(f["FLAGS"]) for f in fetch_all(c.ok("FETCH 1:* (FLAGS BODY.PEEK[])")).values()}
    for m, fl in zip(msgs, kws):
        assert got[m] == set((fl or "").split()), (m[:60], got[m])
    c.ok("SELECT kwbox")
    assert "Old" in c.ok("FETCH 1 FLAGS").lines("FETCH")[0]
    ev = s.wait_log("imap.index_rebuilt")[-1]
    assert ev["user"] == "alice@example.org" and ev["mailboxes"] == 7 and ev["messages"] == 4, ev
    c.close()


def delete_index(maildir):
    """Deletes a user's mailbox index with its WAL and journal files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        (maildir / ("postern-index.db" + suffix)).unlink(missing_ok=True)


def open_index_files(srv):
    fds = Path(f"/proc/{srv.pid}/fd")
    out = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if "postern-index.db" in target:
            out.append(target)
    return out


def test_index_stays_open_between_logins_and_a_deleted_one_is_rebuilt(postern):
    """A webmail logs in for every page: the user's index stays open a while
    after the last session ends (no schema read, no checkpoint per login).
    Deleted meanwhile, with the server running, it is not used again: the
    next login rebuilds it (imap.index_rebuilt) under a new UIDVALIDITY. One
    worker: the second login must find the handle the first one left."""
    s = imap_server(postern, config={"workers": 1})
    c = imap_conn(s)
    assert c.append("INBOX", simple_message("kept open"), flags="\\Flagged").status == "OK"
    uv_before = resp_code(c.ok("SELECT INBOX"), "UIDVALIDITY")
    c.ok("LOGOUT")
    c.close()
    deadline = time.monotonic() + 10
    while not s.logs("imap.disconnect") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(t.endswith("/postern-index.db") for t in open_index_files(s)), open_index_files(s)
    md = s.maildir_path("alice")
    delete_index(md)
    time.sleep(1.1)                                      # UIDVALIDITY is time-based
    c = imap_conn(s)
    r = c.ok("SELECT INBOX")
    assert exists_of(r) == 1, r
    assert int(resp_code(r, "UIDVALIDITY")) > int(uv_before), (uv_before, r)
    assert fetch_all(c.ok("FETCH 1 FLAGS"))[1]["FLAGS"] == ["\\Flagged"]
    ev = s.wait_log("imap.index_rebuilt")[-1]
    assert ev["user"] == "alice@example.org", ev
    c.close()


def uidvalidity(c, name):
    r = c.ok(f"STATUS {name} (UIDVALIDITY)")
    return int(re.search(r"UIDVALIDITY (\d+)", r.lines()[0]).group(1))


def test_uidvalidity_changes_when_a_mailbox_is_recreated(srv):
    """RFC 9051 2.3.1.1: a mailbox deleted and created again under the same name
    must not hand out old UIDs under the old UIDVALIDITY. Five rounds in quick
    succession (some within one second: UIDVALIDITY must not be the clock alone)."""
    c = imap_conn(srv)
    box(c, "again", 2)
    for _ in range(5):
        uv1 = uidvalidity(c, "again")
        c.ok("DELETE again")
        c.ok("CREATE again")
        r = c.append("again", simple_message("new life"))
        c.append("again", simple_message("second"))
        uv2, uid = map(int, r.code.split()[1:])
        assert uv2 != uv1 or uid > 2, f"UIDVALIDITY {uv1} reused and UID {uid} handed out again"
    c.close()


def test_uidvalidity_of_renamed_mailbox_name_reused(srv):
    """RENAME x y, then CREATE x: the new x must not reuse x's UIDVALIDITY with
    UIDs starting over."""
    c = imap_conn(srv)
    box(c, "rnv", 2)
    for i in range(5):
        uv1 = uidvalidity(c, "rnv")
        c.ok(f"RENAME rnv rnv-old{i}")
        c.ok("CREATE rnv")
        r = c.append("rnv", simple_message("new life"))
        c.append("rnv", simple_message("second"))
        uv2, uid = map(int, r.code.split()[1:])
        assert uv2 != uv1 or uid > 2, f"UIDVALIDITY {uv1} reused and UID {uid} handed out again"
    c.close()
