"""postern import on source trees from elsewhere that try to hurt: symbolic links out
of the tree, absurd file names, FIFOs, files that are no messages, malformed
dovecot-uidlist (bad numbers, duplicate and unordered UIDs, UIDs past the next UID,
huge lines, NUL octets), keywords and subscriptions with names IMAP does not allow,
folder names postern cannot use or that collide, huge UIDVALIDITY, messages beyond
limits.message_size. The import goes on, skips what it must with a reason, reads
nothing outside the tree and never changes it."""
import os
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import postern_env, run_postern
from imap_fixtures import imap_conn, imap_server, resp_code, simple_message

ALICE = "alice@example.org"


def maildir(root, folder=""):
    d = Path(root) / folder if folder else Path(root)
    for s in ("cur", "new", "tmp"):
        (d / s).mkdir(parents=True, exist_ok=True)
    return d


def put(d, name, data=None, sub="cur", mtime=1700000000):
    p = os.path.join(bytes(d / sub), name if isinstance(name, bytes) else name.encode())
    with open(p, "wb") as f:
        f.write(data if data is not None else simple_message(ascii(os.fsdecode(name))[:40]))
    os.utime(p, (mtime, mtime))
    return p


def run_import(srv, src, *extra, env=None):
    e = postern_env()
    e.update(env or {})
    return run_postern("import", "maildir", "--user", ALICE, src, *extra, config=srv.config_path,
                       env=e, timeout=120)


def rows(srv, folder="INBOX"):
    db_path = srv.maildir_path("alice") / "postern-index.db"
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT m.uid, m.flags, m.keywords, m.size FROM messages m JOIN mailboxes b "
                          "ON b.id = m.mailbox_id WHERE b.name = ? ORDER BY m.uid", (folder,)).fetchall()


def mailbox(srv, name):
    with sqlite3.connect(srv.maildir_path("alice") / "postern-index.db") as db:
        return db.execute("SELECT uidvalidity, uidnext, EXISTS (SELECT 1 FROM subscriptions s "
                          "WHERE s.name = mailboxes.name) FROM mailboxes WHERE name = ?",
                          (name,)).fetchone()


def subscriptions(srv):
    with sqlite3.connect(srv.maildir_path("alice") / "postern-index.db") as db:
        return {r[0] for r in db.execute("SELECT name FROM subscriptions")}


def all_data(srv):
    return b"".join(p.read_bytes() for p in srv.data_dir.rglob("*")
                    if p.is_file() and not p.is_symlink() and p.suffix not in (".db", ".db-wal"))


def skipped(p, what):
    m = re.search(r"skipped: (\d+) " + re.escape(what), p.stdout)
    return int(m.group(1)) if m else 0


def test_symbolic_links_are_never_followed(postern, tmp_path):
    outside = tmp_path / "outside"
    secret = maildir(outside)
    put(secret, "1700000000.secret:2,S", b"Subject: SECRET-OUTSIDE\n\nnot yours\n")
    (outside / "uidlist").write_text("3 V42 N2\n1 :1700000000.secret\n")
    (outside / "subs").write_text("V\t2\n\nINBOX\n")
    src = maildir(tmp_path / "src")
    put(src, "1700000001.good:2,S")
    os.symlink("/etc/passwd", src / "cur" / "1700000002.passwd:2,S")
    os.symlink(src / "cur" / "1700000001.good:2,S", src / "cur" / "1700000003.twin:2,")
    os.symlink(outside, src / ".Evil")                       # a folder that is a link
    evil2 = src / ".Evil2"
    evil2.mkdir()
    os.symlink(outside / "cur", evil2 / "cur")              # a folder whose cur/ is a link
    os.symlink(outside / "uidlist", src / "dovecot-uidlist")
    os.symlink(outside / "subs", src / "subscriptions")
    os.symlink("/etc/hostname", src / "dovecot-keywords")
    before = {p: p.lstat().st_mtime_ns for p in src.rglob("*")}

    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [r[0] for r in rows(srv)] == [1], rows(srv)      # the one real message
    data = all_data(srv)
    assert b"SECRET-OUTSIDE" not in data and b"root:x:0" not in data
    assert skipped(p, "symbolic links") >= 6, p.stdout
    assert mailbox(srv, "Evil") is None and mailbox(srv, "Evil2") is None
    assert {p: p.lstat().st_mtime_ns for p in src.rglob("*")} == before


def test_odd_files_and_names(postern, tmp_path):
    src = maildir(tmp_path / "src")
    put(src, "1700000001.ok:2,S")
    put(src, b"1700000002.new\nline:2,S")                   # a newline in the name
    put(src, b"1700000003.\xff\xfe:2,F")                    # not UTF-8: still a Maildir name
    put(src, b":2,S")                                        # no base at all
    put(src, "1700000004." + "x" * 230 + ":2,S")             # long, but a name
    put(src, "1700000005.empty:2,", b"")
    put(src, "1700000006.binary:2,", b"\x00\x01\x02ELF\x00binary")
    put(src, "1700000007.noheader:2,", b"just some text without a header\n")
    put(src, "1700000008.weird:2,SZZ\x01q,junk=1")           # a control character
    put(src, "1700000012.weird:2,SZZq,junk=1")               # letters no flag has
    os.mkfifo(src / "cur" / "1700000009.fifo:2,")            # must not hang the import
    (src / "cur" / "1700000010.dir:2,").mkdir()
    put(src, "1700000011.dup:2,S")
    put(src, "1700000011.dup", sub="new")                    # same base in new/ and cur/
    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stdout + p.stderr
    got = rows(srv)
    assert len(got) == 5, (got, p.stdout, p.stderr)         # ok, \xff, long, weird, dup
    assert skipped(p, "file names no Maildir has") == 3
    assert all(line.startswith(("postern:", "{")) for line in p.stderr.splitlines()), p.stderr
    assert skipped(p, "empty files") == 1
    assert skipped(p, "not RFC 5322 messages") == 2
    assert skipped(p, "not regular files") == 2
    assert skipped(p, "the same message twice") == 1


def uidlist_tree(tmp_path, lines, files):
    src = maildir(tmp_path / "src")
    for i, name in enumerate(files):
        put(src, name, mtime=1700000000 + i)
    (src / "dovecot-uidlist").write_bytes(b"\n".join(lines) + b"\n")
    return src


def test_malformed_uidlist(postern, tmp_path):
    files = [f"17000000{i:02d}.m{i}:2,S" for i in range(10)]
    base = [f.split(":")[0].encode() for f in files]
    lines = [
        b"3 V1234 N6 Gxyz",                          # a bad GUID: the header is refused
    ]
    src = uidlist_tree(tmp_path, lines, files)
    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stderr
    assert [r[0] for r in rows(srv)] == list(range(1, 11))   # as a plain Maildir
    assert mailbox(srv, "INBOX")[0] != 1234

    lines = [
        b"3 V1234 N6",
        b"2 :" + base[0],
        b"garbage",
        b"x5 :" + base[1],
        b"4 :" + base[2],
        b"4 :" + base[3],                            # the same UID again
        b"3 :" + base[4],                            # below the one before
        b"9 Wnotanumber :" + base[5],
        b"10 :" + base[6],                           # past N6: Dovecot writes such
        b"4294967295 :" + base[7],
        b"11 :" + b"z" * (1 << 20),                  # a megabyte line
        b"12 :a\x00b",
        b"13 :gone-file",                            # expunged long ago
        b"14 :" + base[0],                           # the same file under another UID
        b"15 P" + b"u" * 90 + b" :" + base[8],       # a UIDL RFC 1939 does not allow
    ]
    srv = imap_server(postern, start=False)
    p = run_import(srv, uidlist_tree(tmp_path / "b", lines, files))
    assert p.returncode == 0, p.stdout + p.stderr
    got = {r[0] for r in rows(srv)}
    # listed ones keep their UIDs; files whose lines were bad come after the last UID
    assert {2, 4, 10, 15} <= got, got
    assert len(got) == 10, got
    assert max(got) == 15 + 6, got                          # bases 1, 3, 4, 5, 7, 9: UIDs 16..21
    assert mailbox(srv, "INBOX")[:2] == (1234, 22)
    assert skipped(p, "dovecot-uidlist lines not usable") >= 8, p.stdout
    assert skipped(p, "POP3 UIDLs dropped") == 1


def test_uids_near_the_top_are_refused(postern, tmp_path):
    files = ["1700000000.a:2,S", "1700000001.b:2,S"]
    lines = [b"3 V4294967295 N4294967290", b"4000000000 :1700000000.a", b"5 :1700000001.b"]
    srv = imap_server(postern)
    p = run_import(srv, uidlist_tree(tmp_path, lines, files))
    assert p.returncode == 0, p.stderr
    # UIDVALIDITY at the very top is kept, and postern's own still work afterwards
    assert mailbox(srv, "INBOX")[0] == 4294967295
    got = [r[0] for r in rows(srv)]
    assert len(got) == 2 and max(got) < 0xF0000000, got
    c = imap_conn(srv)
    c.ok('CREATE "after"')
    r = c.ok('STATUS "after" (UIDVALIDITY)')
    assert not re.search(r"UIDVALIDITY 0\b", " ".join(r.lines())), r
    c.close()


def test_keywords_and_subscriptions_with_bad_names(postern, tmp_path):
    src = maildir(tmp_path / "src")
    maildir(src, ".Work")
    maildir(src, ".Play")
    put(src, "1700000000.k:2,Sabcdz")
    (src / "dovecot-uidlist").write_text("3 V99 N2\n1 :1700000000.k\n")
    (src / "dovecot-keywords").write_bytes(
        b"0 $Good\n1 has space\n2 \\Seen\n3 Also(bad\n30 beyond\nx nonsense\n25 Last\n" +
        b"4 " + b"k" * 5000 + b"\n")
    (src / "subscriptions").write_bytes(b"V\t2\n\nWork\nNo\x01tSuch\nGhost\n" + b"x" * 5000 +
                                        b"\nbad\x01q\n")
    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stdout + p.stderr
    assert rows(srv)[0][2] == "$Good Last"
    assert mailbox(srv, "Work")[2] == 1 and mailbox(srv, "Play")[2] == 0
    assert mailbox(srv, "INBOX")[2] == 0                    # not in the list: not subscribed
    # a subscription is a name: "Ghost" is kept though no such folder came (as Dovecot keeps it)
    subs = subscriptions(srv)
    assert {"Work", "Ghost"} <= subs and not {"Play", "INBOX"} & subs, subs
    assert skipped(p, "subscriptions not kept") == 3, p.stdout
    assert skipped(p, "keywords dropped") >= 6, p.stdout


def test_folder_names_postern_cannot_use(postern, tmp_path):
    src = maildir(tmp_path / "src")
    for folder in (".we~ird", ".100%", ".a..b", ".INBOX", ".inbox", ".Fine", ".Caf&AOk-"):
        put(maildir(src, folder), "1700000000.x:2,S")
    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stdout + p.stderr
    assert mailbox(srv, "Fine") is not None and mailbox(srv, "Café") is not None
    assert skipped(p, "folders not imported") == 5, p.stdout   # ~, %, empty level, 2 x INBOX
    assert "name collision" in p.stderr
    assert len(rows(srv)) == 0                                 # the root has no message


def test_messages_beyond_the_size_limit_are_imported(postern, tmp_path):
    src = maildir(tmp_path / "src")
    put(src, "1700000000.big:2,S", simple_message("big", body="x" * 5000 + "\n"))
    put(src, "1700000001.small:2,S")
    srv = imap_server(postern, config={"limits": {"message_size": "2K"}}, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stderr
    assert len(rows(srv)) == 2
    assert "1 message larger than limits.message_size (imported anyway" in p.stdout, p.stdout


def test_uidlist_names_leaving_the_folder(postern, tmp_path):
    """Names in dovecot-uidlist are looked up among the folder's own files only."""
    src = maildir(tmp_path / "src")
    put(src, "1700000000.a:2,S")
    (tmp_path / "src" / "..secret").write_bytes(b"Subject: NOT-A-MAIL-OF-THIS-FOLDER\n\nx\n")
    (src / "dovecot-uidlist").write_text("3 V7 N9\n1 :../../..secret\n2 :/etc/passwd\n"
                                         "3 :1700000000.a\n")
    srv = imap_server(postern, start=False)
    p = run_import(srv, src)
    assert p.returncode == 0, p.stderr
    assert [r[0] for r in rows(srv)] == [3]
    assert b"NOT-A-MAIL-OF-THIS-FOLDER" not in all_data(srv)
