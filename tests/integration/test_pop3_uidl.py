"""POP3 UIDL (RFC 1939 7): the same for a message across sessions, a server
restart, IMAP flag changes (which rename the file), an IMAP expunge of
another message, and an index rebuild (postern-index.db deleted, new UIDs);
a UIDL kept from an import wins. Each message is known by its Subject."""
import re
import sqlite3

from imap_fixtures import imap_conn, resp_code, simple_message, write_maildir
from pop3_fixtures import pop3_conn, pop3_server


def uidl_by_subject(srv):
    """{subject: uidl} over POP3, from TOP n 0 and UIDL."""
    c = pop3_conn(srv)
    st, lines = c.multi("UIDL")
    out = {}
    for line in lines:
        n, uidl = line.decode().split()
        _, head = c.multi(f"TOP {n} 0")
        subject = next(h for h in head if h.startswith(b"Subject: "))[9:].decode()
        out[subject] = uidl
    c.ok("QUIT")
    return out


def test_uidl_is_stable(postern):
    s = pop3_server(postern)
    write_maildir(s.maildir_path("alice"),
                  [simple_message(f"s{i}").replace(b"\r\n", b"\n") for i in range(5)])
    first = uidl_by_subject(s)
    assert sorted(first) == [f"s{i}" for i in range(5)]
    assert len(set(first.values())) == 5
    for u in first.values():
        assert re.fullmatch(r"[\x21-\x7e]{1,70}", u), u
    assert uidl_by_subject(s) == first                      # another session

    # IMAP changes flags (the files are renamed) and expunges another message
    im = imap_conn(s)
    im.ok("SELECT INBOX")
    im.ok("STORE 1:2 +FLAGS (\\Seen \\Flagged)")
    im.ok("STORE 4 +FLAGS (\\Answered \\Deleted)")
    im.ok("EXPUNGE")
    im.close()
    after = uidl_by_subject(s)
    assert after == {k: v for k, v in first.items() if k != "s3"}

    # a restart
    assert s.stop() == 0
    s.start()
    assert uidl_by_subject(s) == after

    # the index deleted by hand: rebuilt from the files with new UIDs and UIDVALIDITY
    im = imap_conn(s)
    old_validity = resp_code(im.ok("SELECT INBOX"), "UIDVALIDITY")
    im.close()
    assert s.stop() == 0
    for f in s.maildir_path("alice").glob("postern-index.db*"):
        f.unlink()
    s.start()
    assert uidl_by_subject(s) == after
    im = imap_conn(s)
    r = im.ok("SELECT INBOX")
    assert "4 EXISTS" in r.lines()
    assert resp_code(r, "UIDVALIDITY") != old_validity     # it was rebuilt
    im.close()


def test_imported_uidl_wins(postern):
    s = pop3_server(postern)
    write_maildir(s.maildir_path("alice"),
                  [simple_message(f"i{i}").replace(b"\r\n", b"\n") for i in range(2)])
    derived = uidl_by_subject(s)
    # what an import does (mbox_set_pop3_uidl), here straight in the index
    db = sqlite3.connect(s.maildir_path("alice") / "postern-index.db", timeout=10)
    with db:
        db.execute("UPDATE messages SET pop3_uidl = 'old-server-0001' WHERE uid = "
                   "(SELECT min(uid) FROM messages WHERE mailbox_id = "
                   "(SELECT id FROM mailboxes WHERE name = 'INBOX'))")
    db.close()
    now = uidl_by_subject(s)
    assert now["i0"] == "old-server-0001"
    assert now["i1"] == derived["i1"]
