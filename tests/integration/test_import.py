"""postern import: moving from a real Dovecot without IMAP or POP3 clients noticing.

A Dovecot (dovecot_fixture.py) gets mail the way clients give it: APPEND with dates
and flags into INBOX and into "Archiv/2026 Ärger" (a UTF-8 name, modified UTF-7 on
disk), keywords, a message expunged (a gap in the UIDs), subscriptions, a POP3
session (UIDLs saved in dovecot-uidlist's P fields). It is stopped, and a message is
put in new/ as a delivery agent would (Dovecot never saw it). Then `postern import
dovecot` moves it, and postern's IMAP must show the same UIDVALIDITY, UIDs, flags,
keywords, internal dates, folders and subscriptions; its index and its POP3 the same
UIDLs.

Also: the import resumed after kill -9, an import while postern serves a selected
session, a plain Maildir (UIDs in file order), the fs layout, a mailbox that already
holds mail, the source never changed, and the service user reading the source.
Hostile source trees are in test_import_hostile.py.
"""
import hashlib
import imaplib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import POSTERN_BIN, PASSWORD, postern_env, run_postern
from dovecot_fixture import Dovecot, need_dovecot, sha512_crypt
from imap_fixtures import deliver_smtp, imap_conn, imap_server, imaps, simple_message
from pop3_fixtures import pop3_server, pop3s

ALICE = "alice@example.org"
CAROL = "carol@example.org"
ARCHIV = "Archiv/2026 Ärger"
LISTS = "Lists/postern"


# ---- modified UTF-7 (RFC 3501 5.1.3) for names in IMAP commands ----------------------------------


def mutf7(name):
    out, run = [], []

    def flush():
        if run:
            b = "".join(run).encode("utf-16-be")
            import base64
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) < 0x7f:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def q(name):
    return '"' + mutf7(name) + '"'


# ---- what an IMAP server shows -------------------------------------------------------------------


def parse_date(text):
    return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z").timestamp()


def folder_state(m, name):
    """{uidvalidity, uidnext, msgs: {uid: (flags, internaldate)}} as the server shows it."""
    typ, data = m.status(q(name), "(UIDVALIDITY UIDNEXT)")
    assert typ == "OK", (name, data)
    status = data[0].decode()
    uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", status).group(1))
    uidnext = int(re.search(r"UIDNEXT (\d+)", status).group(1))
    typ, _ = m.select(q(name), readonly=True)
    assert typ == "OK", name
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE)")
    msgs = {}
    for item in data:
        line = item.decode() if isinstance(item, bytes) else item[0].decode()
        mu = re.search(r"UID (\d+)", line)
        if not mu:
            continue
        flags = set(re.search(r"FLAGS \(([^)]*)\)", line).group(1).split()) - {"\\Recent"}
        date = parse_date(re.search(r'INTERNALDATE "([^"]+)"', line).group(1))
        msgs[int(mu.group(1))] = (flags, date)
    m.close()
    return {"uidvalidity": uidvalidity, "uidnext": uidnext, "msgs": msgs}


def names(m, cmd):
    typ, data = getattr(m, cmd)()
    assert typ == "OK", data
    out = set()
    for line in data:
        mo = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))$', line)
        assert mo, line
        raw = (mo.group(2) or mo.group(3)).decode()
        out.add(decode_mutf7(raw))
    return out


def decode_mutf7(s):
    import base64

    def run(mo):
        body = mo.group(1)
        if body == "":
            return "&"
        b = body.replace(",", "/")
        b += "=" * (-len(b) % 4)
        return base64.b64decode(b).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", run, s)


def message(subject, date="Mon, 02 Mar 2026 10:00:00 +0000"):
    return simple_message(subject, date=date)


# ---- the Dovecot source, made once ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot_tree(tmp_path_factory):
    """Dovecot's mail tree after real sessions, and what Dovecot showed (the truth)."""
    need_dovecot()
    root = tmp_path_factory.mktemp("dovecot")
    dv = Dovecot(root, {ALICE: "{PLAIN}" + PASSWORD, CAROL: sha512_crypt("carolpw")}).start()
    try:
        m = dv.imap(ALICE, PASSWORD)
        for i in range(6):
            flags = "(\\Seen)" if i in (0, 4) else None
            date = f'"0{i + 1}-Mar-2026 10:0{i}:00 +0100"'
            assert m.append("INBOX", flags, date, message(f"inbox {i}"))[0] == "OK"
        assert m.create(q(ARCHIV))[0] == "OK"
        assert m.append(q(ARCHIV), "(\\Flagged $Label1 Work)", '"15-Jan-2025 08:30:00 +0000"',
                        message("archived 1"))[0] == "OK"
        assert m.append(q(ARCHIV), "(\\Seen \\Answered)", None, message("archived 2"))[0] == "OK"
        assert m.create(q(LISTS))[0] == "OK"
        assert m.append(q(LISTS), None, None, message("list mail"))[0] == "OK"
        assert m.subscribe("INBOX")[0] == "OK"
        assert m.subscribe(q(ARCHIV))[0] == "OK"
        m.select("INBOX")
        assert m.store("2", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"                                   # UID 2 gone: a gap
        assert m.uid("STORE", "3", "+FLAGS", "(\\Answered $Junk)")[0] == "OK"
        assert m.uid("STORE", "4", "+FLAGS", "(\\Flagged \\Draft)")[0] == "OK"
        m.logout()
        p = dv.pop3(ALICE, PASSWORD)                                    # saves UIDLs (P fields)
        pop3_uidls = [line.split()[1].decode() for line in p.uidl()[1]]
        p.quit()
        m = dv.imap(ALICE, PASSWORD)                                    # one more, no P field
        assert m.append("INBOX", None, '"20-Mar-2026 12:00:00 +0000"', message("after pop3"))[0] == "OK"
        truth = {name: folder_state(m, name) for name in ("INBOX", ARCHIV, LISTS)}
        lsub = names(m, "lsub")
        m.logout()
        m = dv.imap(CAROL, "carolpw")
        assert m.append("INBOX", "(\\Seen)", None, message("carol's"))[0] == "OK"
        carol = folder_state(m, "INBOX")
        m.logout()
    finally:
        dv.stop()
    # delivered while nobody looked: Dovecot has no UID for it yet
    newdir = dv.maildir(ALICE) / "new"
    (newdir / "1773000000.M1P1.delivered").write_bytes(message("delivered late"))
    os.utime(newdir / "1773000000.M1P1.delivered", (1773000000, 1773000000))
    assert "P" in (dv.maildir(ALICE) / "dovecot-uidlist").read_text()
    return {"dv": dv, "truth": truth, "lsub": lsub, "pop3": pop3_uidls, "carol": carol}


def copy_tree(dovecot_tree, dest):
    """A copy of the source tree (times kept), so each test starts from the same one."""
    src = dovecot_tree["dv"].mail_root
    shutil.copytree(src, dest, symlinks=True)
    return Path(dest)


def snapshot(root):
    """Every file's name, size, mtime and content hash: a source must stay as it was."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        out[str(p.relative_to(root))] = (st.st_size if p.is_file() else 0, st.st_mtime_ns, digest)
    return out


def import_cmd(srv, *args, env=None, timeout=120):
    e = postern_env()
    e.update(env or {})
    return run_postern("import", *args, config=srv.config_path, env=e, timeout=timeout)


def passwd_copy(dovecot_tree, dest):
    shutil.copy(dovecot_tree["dv"].passwd, dest)
    return dest


def index_db(srv, user="alice"):
    return srv.maildir_path(user) / "postern-index.db"


def pop3_uidls(srv, user="alice"):
    """INBOX's stored POP3 UIDLs by UID, read from the index (postern's POP3 is not here yet)."""
    with sqlite3.connect(index_db(srv, user)) as db:
        rows = db.execute("SELECT m.uid, m.pop3_uidl FROM messages m JOIN mailboxes b "
                          "ON b.id = m.mailbox_id WHERE b.name = 'INBOX' ORDER BY m.uid").fetchall()
    return dict(rows)


# ---- the tests ---------------------------------------------------------------------------------
# (POP3 UIDLs are checked in the index and through postern's POP3 listener.)


def test_dovecot_import_keeps_what_clients_saw(postern, dovecot_tree, tmp_path):
    srv = pop3_server(postern)                               # IMAP and POP3 listeners
    tree = copy_tree(dovecot_tree, tmp_path / "mail")
    before = snapshot(tree)
    pw = passwd_copy(dovecot_tree, tmp_path / "passwd")
    p = import_cmd(srv, "dovecot", "--passwd-file", pw, "--mail-root", tree)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "user carol@example.org imported" in p.stdout
    assert "nothing skipped" in p.stdout, p.stdout
    assert snapshot(tree) == before, "the source tree was changed"

    truth = dovecot_tree["truth"]
    m = imaps(srv)
    for name, want in truth.items():
        got = folder_state(m, name)
        assert got["uidvalidity"] == want["uidvalidity"], name
        msgs = dict(got["msgs"])
        if name == "INBOX":
            # the one Dovecot never saw comes after every UID Dovecot gave
            late = msgs.pop(want["uidnext"])
            assert late[0] == set() and late[1] == 1773000000
            assert got["uidnext"] == want["uidnext"] + 1
        else:
            assert got["uidnext"] == want["uidnext"], name
        assert msgs == want["msgs"], name
    assert 2 not in truth["INBOX"]["msgs"]                  # the gap stayed a gap
    assert truth["INBOX"]["msgs"][3][0] == {"\\Answered", "$Junk"}
    assert truth[ARCHIV]["msgs"][1][0] == {"\\Flagged", "$Label1", "Work"}

    # folders and subscriptions: Dovecot's subscribed ones are, its others are not
    listed = names(m, "list")
    assert {"INBOX", ARCHIV, LISTS} <= listed
    lsub = names(m, "lsub")
    assert dovecot_tree["lsub"] <= lsub, (dovecot_tree["lsub"], lsub)
    assert LISTS not in lsub and "Lists" not in lsub and "Archiv" not in lsub
    m.logout()

    # POP3 clients see the UIDLs Dovecot's POP3 showed; the newer ones as its format makes them
    stored = pop3_uidls(srv)
    uids = sorted(truth["INBOX"]["msgs"])
    assert [stored[u] for u in uids[:len(dovecot_tree["pop3"])]] == dovecot_tree["pop3"]
    uv = truth["INBOX"]["uidvalidity"]
    assert stored[uids[-1]] == "%08x%08x" % (uids[-1], uv)
    # and through postern's POP3 itself: message n is the n-th UID
    p3 = pop3s(srv)
    listed = [line.split()[1].decode() for line in p3.uidl()[1]]
    p3.quit()
    assert listed[:len(uids)] == [stored[u] for u in uids]
    assert listed[:len(dovecot_tree["pop3"])] == dovecot_tree["pop3"]
    assert len(listed) == len(uids) + 1                      # + the one Dovecot never saw

    # carol came with her Dovecot password hash, and her mail
    m = imaps(srv, user=CAROL, password="carolpw")
    got = folder_state(m, "INBOX")
    assert got["uidvalidity"] == dovecot_tree["carol"]["uidvalidity"]
    assert got["msgs"] == dovecot_tree["carol"]["msgs"]
    m.logout()

    # a second run has nothing left to do
    p = import_cmd(srv, "dovecot", "--passwd-file", pw, "--mail-root", tree)
    assert p.returncode == 0, p.stderr
    assert "imported: 2 users, 4 folders, 0 messages" in p.stdout, p.stdout
    assert "handled by an earlier run" in p.stdout


def wait_index_count(db_path, at_least, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=1) as db:
                    n = db.execute("SELECT count(*) FROM messages").fetchone()[0]
                if n >= at_least:
                    return n
            except sqlite3.Error:
                pass
        assert proc.poll() is None, "the import ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("the import made no progress")


def many_messages_tree(root, n, user="alice"):
    """A Dovecot-style Maildir (uidlist, flags) of n small messages, UIDs with gaps."""
    md = Path(root) / "example.org" / user / "Maildir"
    for d in ("cur", "new", "tmp"):
        (md / d).mkdir(parents=True, exist_ok=True)
    lines = [f"3 V1600000000 N{3 * n + 1} G{'ab' * 16}"]
    for i in range(n):
        uid = 3 * i + 1
        base = f"{1600000000 + i}.M{i}P1.source"
        flags = "S" if i % 2 else "FS"
        path = md / "cur" / f"{base}:2,{flags}"
        path.write_bytes(message(f"bulk {i}"))
        os.utime(path, (1600000000 + i, 1600000000 + i))
        lines.append(f"{uid} P{uid:08x}5f5e1000 :{base}")
    (md / "dovecot-uidlist").write_text("\n".join(lines) + "\n")
    return md


def test_interrupted_import_resumes_without_duplicates(postern, tmp_path):
    srv = imap_server(postern, start=False)
    src = many_messages_tree(tmp_path / "mail", 60)
    env = postern_env()
    env.update({"POSTERN_IMPORT_BATCH": "4", "POSTERN_IMPORT_BATCH_DELAY_MS": "150"})
    proc = subprocess.Popen([POSTERN_BIN, "import", "maildir", "--user", ALICE, str(src),
                             "-c", str(srv.config_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    n = wait_index_count(index_db(srv), 12, proc)
    os.killpg(proc.pid, signal.SIGKILL)                      # kill -9 in the middle
    proc.communicate(timeout=10)
    assert n < 60
    p = import_cmd(srv, "maildir", "--user", ALICE, src, env={"POSTERN_IMPORT_BATCH": "7"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(resumed;" in p.stdout, p.stdout
    with sqlite3.connect(index_db(srv)) as db:
        rows = db.execute("SELECT uid, flags, pop3_uidl FROM messages m JOIN mailboxes b ON "
                          "b.id = m.mailbox_id WHERE b.name = 'INBOX' ORDER BY uid").fetchall()
        box = db.execute("SELECT uidvalidity, uidnext FROM mailboxes WHERE name = 'INBOX'").fetchone()
    assert [r[0] for r in rows] == [3 * i + 1 for i in range(60)]   # each once, UIDs kept
    assert all(r[2] == "%08x5f5e1000" % r[0] for r in rows)
    assert box == (1600000000, 181)
    cur = list((srv.maildir_path("alice") / "cur").iterdir())
    assert len(cur) == 60, "a file of the killed batch was left in cur/"
    assert not [f for f in (srv.maildir_path("alice") / "tmp").iterdir()
                if f.name.startswith("import.")], "copies of the killed batch were left in tmp/"
    srv.start()
    m = imaps(srv)
    state = folder_state(m, "INBOX")
    assert len(state["msgs"]) == 60 and state["uidnext"] == 181
    m.logout()


def test_import_while_a_session_is_selected(postern, tmp_path):
    srv = imap_server(postern)
    c = imap_conn(srv)
    r = c.ok("SELECT INBOX")
    assert "0 EXISTS" in r.lines()
    src = many_messages_tree(tmp_path / "mail", 30)
    env = postern_env()
    env.update({"POSTERN_IMPORT_BATCH": "5", "POSTERN_IMPORT_BATCH_DELAY_MS": "300"})
    proc = subprocess.Popen([POSTERN_BIN, "import", "maildir", "--user", ALICE, str(src),
                             "-c", str(srv.config_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    seen, delivered = [], False
    deadline = time.monotonic() + 60
    while (not seen or seen[-1] < 30) and time.monotonic() < deadline:
        r = c.ok("NOOP")                                  # the session keeps working meanwhile
        seen += [int(l.split()[0]) for l in r.lines() if l.endswith(" EXISTS")]
        if seen and not delivered:                        # mail arrives in the middle
            deliver_smtp(srv, subject="arrived during the import")
            delivered = True
        time.sleep(0.1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert seen and 30 in seen, seen
    assert any(0 < n < 30 for n in seen), f"no batch seen arriving: {seen}"
    assert all(n % 5 == 0 for n in seen if n <= 30), seen  # whole batches, never half of one
    # the mail that arrived meanwhile waited, and comes after every imported UID
    r = c.ok("NOOP")
    r = c.ok("UID FETCH 1:* (FLAGS)")
    uids = sorted(int(x) for x in re.findall(rb"UID (\d+)", b" ".join(r.untagged)))
    assert uids == [3 * i + 1 for i in range(30)] + [91], uids
    r = c.ok("UID FETCH 4,91 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"bulk 1" in b" ".join(r.untagged) and b"arrived during the import" in b" ".join(r.untagged)
    r = c.append("INBOX", simple_message("after"))
    assert r.status == "OK" and "[APPENDUID 1600000000 92]" in r.text, r
    assert "32 EXISTS" in r.lines(), r
    c.close()


def test_plain_maildir_gets_uids_in_file_order(postern, tmp_path):
    srv = imap_server(postern)
    md = tmp_path / "plain"
    files = {   # name -> (flags on the file name, subfolder)
        "1700000003.host3:2,S": ("INBOX", {"\\Seen"}),
        "1700000001.host1:2,RF": ("INBOX", {"\\Answered", "\\Flagged"}),
        "1700000002.host2": ("INBOX", set()),      # in new/
        "1700000010.a:2,T": ("Work/Done", {"\\Deleted"}),
        "1700000009.b:2,DS": ("Work/Done", {"\\Draft", "\\Seen"}),
    }
    for name, (folder, _) in files.items():
        d = md if folder == "INBOX" else md / ".Work.Done"
        sub = "new" if ":2," not in name else "cur"
        for s in ("cur", "new", "tmp"):
            (d / s).mkdir(parents=True, exist_ok=True)
        p = d / sub / name
        p.write_bytes(message(name))
        t = int(name.split(".")[0])
        os.utime(p, (t, t))
    p = import_cmd(srv, "maildir", "--user", "bob@example.org", md)
    assert p.returncode == 0, p.stdout + p.stderr
    m = imaps(srv, user="bob@example.org")
    inbox = folder_state(m, "INBOX")
    assert inbox["msgs"] == {1: ({"\\Answered", "\\Flagged"}, 1700000001), 2: (set(), 1700000002),
                             3: ({"\\Seen"}, 1700000003)}
    assert inbox["uidnext"] == 4
    done = folder_state(m, "Work/Done")
    assert done["msgs"] == {1: ({"\\Draft", "\\Seen"}, 1700000009), 2: ({"\\Deleted"}, 1700000010)}
    assert "Work/Done" in names(m, "lsub")                  # no subscriptions file: postern's default
    typ, data = m.select("INBOX")
    typ, data = m.uid("FETCH", "2", "(BODY.PEEK[])")
    assert b"Subject: 1700000002.host2" in data[0][1]
    m.logout()


def test_imported_keywords_survive_an_index_rebuild(postern, tmp_path):
    """The import writes keywords the way it reads them (dovecot-keywords and
    a letter in the file name, docs/operations.md), and lists them for
    FLAGS: deleting the index afterwards loses none of them."""
    srv = imap_server(postern)
    md = tmp_path / "kw"
    for s in ("cur", "new", "tmp"):
        (md / s).mkdir(parents=True, exist_ok=True)
    (md / "dovecot-keywords").write_text("0 $Forwarded\n1 Old\n2 $Junk\n")
    for name in ("1700000001.a:2,Sa", "1700000002.b:2,bc", "1700000003.c:2,"):
        (md / "cur" / name).write_bytes(message(name))
    p = import_cmd(srv, "maildir", "--user", "bob@example.org", md)
    assert p.returncode == 0, p.stdout + p.stderr

    def flags_now():
        c = imap_conn(srv, login="bob@example.org")
        r = c.ok("EXAMINE INBOX")
        listed = r.lines("FLAGS")[0]
        got = [set(re.search(r"FLAGS \(([^)]*)\)", l).group(1).split()) - {"\\Recent"}
               for l in c.ok("FETCH 1:* FLAGS").lines("FETCH")]
        c.close()
        return listed, got

    want = [{"\\Seen", "$Forwarded"}, {"Old", "$Junk"}, set()]
    listed, got = flags_now()
    assert got == want and all(k in listed for k in ("$Forwarded", "Old", "$Junk")), (listed, got)
    assert srv.stop() == 0
    for suffix in ("", "-wal", "-shm"):
        f = srv.maildir_path("bob").joinpath("postern-index.db" + suffix)
        if f.exists():
            f.unlink()
    srv.start()
    listed, got = flags_now()
    assert got == want and all(k in listed for k in ("$Forwarded", "Old", "$Junk")), (listed, got)


def test_fs_layout_from_a_real_dovecot(postern, tmp_path):
    need_dovecot()
    dv = Dovecot(tmp_path / "dv", {ALICE: "{PLAIN}" + PASSWORD}, layout=":LAYOUT=fs").start()
    try:
        m = dv.imap(ALICE, PASSWORD)
        assert m.create(q("Projekte/Größe"))[0] == "OK"
        assert m.append(q("Projekte/Größe"), "(\\Seen)", '"03-Mar-2026 10:00:00 +0000"',
                        message("fs"))[0] == "OK"
        assert m.append("INBOX", None, None, message("root inbox"))[0] == "OK"
        truth = {n: folder_state(m, n) for n in ("INBOX", "Projekte/Größe")}
        m.logout()
    finally:
        dv.stop()
    assert (dv.maildir(ALICE) / "Projekte" / "Gr&APYA3w-e" / "cur").is_dir()
    srv = imap_server(postern)
    p = import_cmd(srv, "dovecot", "--passwd-file", dv.passwd, "--mail-root", dv.mail_root,
                   "--mail-location", "maildir:%d/%n/Maildir:LAYOUT=fs")
    assert p.returncode == 0, p.stdout + p.stderr
    m = imaps(srv)
    for name, want in truth.items():
        got = folder_state(m, name)
        assert (got["uidvalidity"], got["msgs"]) == (want["uidvalidity"], want["msgs"]), name
    m.logout()


def test_mailbox_with_mail_is_left_alone(postern, dovecot_tree, tmp_path):
    srv = imap_server(postern)
    c = imap_conn(srv)
    assert c.append("INBOX", simple_message("received by postern")).status == "OK"
    c.close()
    tree = copy_tree(dovecot_tree, tmp_path / "mail")
    p = import_cmd(srv, "dovecot", "--passwd-file", passwd_copy(dovecot_tree, tmp_path / "pw"),
                   "--mail-root", tree, "--user", ALICE)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "INBOX already holds mail" in p.stderr, p.stderr
    assert "FAILED: 1 folder" in p.stdout
    m = imaps(srv)
    inbox = folder_state(m, "INBOX")
    assert len(inbox["msgs"]) == 1 and inbox["uidvalidity"] != dovecot_tree["truth"]["INBOX"]["uidvalidity"]
    # the other folders came over all the same
    assert folder_state(m, ARCHIV)["msgs"] == dovecot_tree["truth"][ARCHIV]["msgs"]
    m.logout()


def test_help_and_usage(postern):
    srv = postern(start=False)
    p = run_postern("--help")
    assert "import maildir" in p.stdout and "import dovecot" in p.stdout
    p = srv.cli("import", "--help")
    assert p.returncode == 0 and "--mail-location" in p.stdout and "resume" not in p.stderr
    p = srv.cli("import", "maildir", "/nonexistent")
    assert p.returncode == 2 and "--user" in p.stderr
    p = srv.cli("import", "dovecot", "--mail-root", "/x")
    assert p.returncode == 2
    p = srv.cli("import", "maildir", "--user", "nobody@example.org", "/tmp")
    assert p.returncode == 1 and "postern user add" in p.stderr
    p = srv.cli("import", "maildir", "--user", ALICE, "--layout", "mbox", "/tmp")
    assert p.returncode == 2
    p = srv.cli("import", "maildir", "--user", ALICE, "--pop3-uidl-format", "%m", "/tmp")
    assert p.returncode == 2 and "%m" in p.stderr


@pytest.fixture
def svc_user():
    """A system user of its own for postern, removed afterwards."""
    import pwd
    name = f"pi{os.getpid() % 100000}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell",
                    "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def test_root_imports_as_the_service_user(postern, tmp_path, svc_user):
    """The passwd-file is read as root (0600 is common); the source tree only as the
    service user, who must be given read access first; everything written belongs to it."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from dovecot_fixture import let_others_through
    let_others_through(tmp_path)
    srv = postern(config={"user": svc_user.pw_name, "group": svc_user.pw_name}, start=False,
                  template=False)
    srv.add_domain("example.org")
    tree = tmp_path / "vmail"
    many_messages_tree(tree, 3)
    for p in [tree, *tree.rglob("*")]:
        p.chmod(0o700 if p.is_dir() else 0o600)              # root's alone, as /var/vmail often is
    pw = tmp_path / "users"
    pw.write_text(f"{ALICE}:{sha512_crypt('pw1')}::::::\n")
    pw.chmod(0o600)
    p = srv.cli("import", "dovecot", "--passwd-file", pw, "--mail-root", tree)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"setfacl -R -m u:{svc_user.pw_name}:rX {tree}" in p.stderr, p.stderr
    assert not (srv.data_dir / "mail" / "example.org" / "alice" / "Maildir" / "cur").exists() or \
        not list((srv.data_dir / "mail" / "example.org" / "alice" / "Maildir" / "cur").iterdir())
    for p in [tree, *tree.rglob("*")]:
        p.chmod(p.stat().st_mode | (0o005 if p.is_dir() else 0o004))
    p = srv.cli("import", "dovecot", "--passwd-file", pw, "--mail-root", tree)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "3 messages imported" in p.stdout
    others = [str(x) for x in [srv.data_dir, *srv.data_dir.rglob("*")] if x.lstat().st_uid != svc_user.pw_uid]
    assert not others, f"written as someone else than the service user: {others}"


def test_progress_line_only_on_a_terminal(postern, tmp_path):
    import pty
    srv = imap_server(postern, start=False)
    src = many_messages_tree(tmp_path / "mail", 20)
    master, slave = pty.openpty()
    env = postern_env()
    env.update({"POSTERN_IMPORT_BATCH": "5"})
    proc = subprocess.Popen([POSTERN_BIN, "import", "maildir", "--user", ALICE, str(src), "-c",
                             str(srv.config_path)], stdout=slave, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                                      # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(60)
    assert proc.returncode == 0, out
    assert b"\r\x1b[K" in out and b"alice@example.org INBOX: 20/20 messages" in out, out
    assert b"imported: 1 user, 1 folder, 20 messages" in out
    p = import_cmd(srv, "maildir", "--user", "bob@example.org", src)     # not a terminal
    assert p.returncode == 0 and "\r" not in p.stdout and "20 messages imported" in p.stdout
