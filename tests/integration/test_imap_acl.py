"""Shared mailboxes (RFC 4314 ACLs, RFC 2342 NAMESPACE): each right granted and
withheld, grants across domains refused (IMAP and CLI), a mailbox without
rights invisible, the owner's rights fixed, IDLE and CONDSTORE for a sharer,
the CLI, and hostile rights strings and identifiers."""
import re
import time

import pytest

from conftest import DOMAIN
from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, ALICE, BOB, box, capability, exists_of, fetch_all, imap_conn, simple_message)

CAROL = f"carol@{DOMAIN}"
OUTSIDER = "bob@other.test"


@pytest.fixture(scope="module", autouse=True)
def users(srv):
    srv.add_user(CAROL)
    srv.add_domain("other.test")
    srv.add_user(OUTSIDER)


def shared(owner, name):
    return f'"Shared/{owner}/{name}"'


def share(srv, mailbox, grantee, rights, owner=ALICE):
    p = srv.cli("mailbox", "share", owner, mailbox, grantee, rights)
    assert p.returncode == 0, p.stderr
    return p


def owner_box(srv, name, n=2):
    a = imap_conn(srv)
    box(a, name, n)
    return a


def list_names(r):
    return [re.sub(r'^LIST \([^)]*\) "/" ', "", l).strip('"') for l in r.lines("LIST")]


# ---- namespace, capability, visibility -----------------------------------------------------------


def test_capability_and_namespace(srv):
    c = imap_conn(srv, login=BOB)
    caps = capability(c)
    assert "ACL" in caps and "RIGHTS=texk" in caps
    r = c.ok("NAMESPACE")
    assert r.lines("NAMESPACE") == ['NAMESPACE (("" "/")) NIL (("Shared/" "/"))'], r
    c.close()


def test_lookup_right_lists_and_nothing_is_invisible(srv):
    a = owner_box(srv, "vis-l")
    box(a, "vis-r", 1)
    box(a, "vis-none", 1)
    share(srv, "vis-l", BOB, "l")
    share(srv, "vis-r", BOB, "r")
    b = imap_conn(srv, login=BOB)
    names = list_names(b.ok('LIST "" "*"'))
    assert f"Shared/{ALICE}/vis-l" in names
    assert f"Shared/{ALICE}/vis-r" not in names          # r without l: not listed
    assert f"Shared/{ALICE}/vis-none" not in names
    assert "Shared" in names and f"Shared/{ALICE}" in names
    top = b.ok('LIST "" "%"')
    assert any(l.startswith("LIST (\\Noselect \\HasChildren)") and l.endswith('"Shared"')
               for l in top.lines("LIST")), top
    # l without r: known, but not readable -> NOPERM; no right at all -> as if absent
    r = b.cmd(f"SELECT {shared(ALICE, 'vis-l')}")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    for cmd in (f"SELECT {shared(ALICE, 'vis-none')}", f"STATUS {shared(ALICE, 'vis-none')} (MESSAGES)",
                f"MYRIGHTS {shared(ALICE, 'vis-none')}", f"SELECT {shared(ALICE, 'no-such-box')}",
                f"DELETE {shared(ALICE, 'vis-none')}"):
        r = b.cmd(cmd)
        assert (r.status, r.code) == ("NO", "NONEXISTENT"), (cmd, r)
    # r without l: selectable by name
    r = b.ok(f"EXAMINE {shared(ALICE, 'vis-r')}")
    assert exists_of(r) == 1
    # carol was granted nothing
    cl = imap_conn(srv, login=CAROL)
    assert not [n for n in list_names(cl.ok('LIST "" "*"')) if n.startswith("Shared")]
    for c in (a, b, cl):
        c.close()


# ---- each right, granted and withheld -------------------------------------------------------------


def test_read_right(srv):
    a = owner_box(srv, "r-box", 2)
    share(srv, "r-box", BOB, "l")
    b = imap_conn(srv, login=BOB)
    for cmd in (f"SELECT {shared(ALICE, 'r-box')}", f"EXAMINE {shared(ALICE, 'r-box')}",
                f"STATUS {shared(ALICE, 'r-box')} (MESSAGES)"):
        r = b.cmd(cmd)
        assert (r.status, r.code) == ("NO", "NOPERM"), (cmd, r)
    share(srv, "r-box", BOB, "lr")
    r = b.ok(f"STATUS {shared(ALICE, 'r-box')} (MESSAGES)")
    assert r.lines("STATUS") == [f'STATUS "Shared/{ALICE}/r-box" (MESSAGES 2)'], r
    r = b.ok(f"SELECT {shared(ALICE, 'r-box')}")
    assert exists_of(r) == 2
    assert "[READ-ONLY]" in r.text                           # nothing it could change
    f = fetch_all(b.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert b"r-box-1" in f[1]["BODY[HEADER.FIELDS (SUBJECT)]"]
    r = b.ok("SEARCH SUBJECT r-box-2")
    assert r.lines("SEARCH") == ["SEARCH 2"]
    # COPY from it into one's own mailbox needs r only
    r = b.ok("COPY 1 INBOX")
    assert "COPYUID" in r.text
    a.close()
    b.close()


def test_seen_right(srv):
    a = owner_box(srv, "s-box", 2)
    share(srv, "s-box", BOB, "lrw")
    b = imap_conn(srv, login=BOB)
    b.ok(f"SELECT {shared(ALICE, 's-box')}")
    r = b.cmd("STORE 1 +FLAGS (\\Seen)")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    b.ok("FETCH 1 BODY[]")                                  # no s: does not set \Seen
    a.ok("SELECT s-box")
    assert "\\Seen" not in fetch_all(a.ok("FETCH 1 FLAGS"))[1]["FLAGS"]
    share(srv, "s-box", BOB, "lrs")
    b.ok(f"SELECT {shared(ALICE, 's-box')}")
    b.ok("STORE 1 +FLAGS (\\Seen)")
    b.ok("FETCH 2 BODY[]")
    flags = fetch_all(a.ok("FETCH 1:2 FLAGS"))
    assert "\\Seen" in flags[1]["FLAGS"] and "\\Seen" in flags[2]["FLAGS"], flags
    a.close()
    b.close()


def test_write_right(srv):
    a = owner_box(srv, "w-box", 1)
    share(srv, "w-box", BOB, "lrs")
    b = imap_conn(srv, login=BOB)
    b.ok(f"SELECT {shared(ALICE, 'w-box')}")
    for flag in ("\\Flagged", "\\Answered", "$Label1"):
        r = b.cmd(f"STORE 1 +FLAGS ({flag})")
        assert (r.status, r.code) == ("NO", "NOPERM"), (flag, r)
    # FLAGS (replace) with only s: the other flags stay as they are
    a.ok("SELECT w-box")
    a.ok("STORE 1 +FLAGS (\\Flagged)")
    b.ok("STORE 1 FLAGS (\\Seen)")
    assert set(fetch_all(a.ok("FETCH 1 FLAGS"))[1]["FLAGS"]) == {"\\Seen", "\\Flagged"}
    share(srv, "w-box", BOB, "lrsw")
    b.ok(f"SELECT {shared(ALICE, 'w-box')}")
    b.ok("STORE 1 +FLAGS ($Label1 \\Answered)")
    assert {"$Label1", "\\Answered"} <= set(fetch_all(a.ok("FETCH 1 FLAGS"))[1]["FLAGS"])
    a.close()
    b.close()


def test_delete_message_and_expunge_rights(srv):
    a = owner_box(srv, "te-box", 3)
    share(srv, "te-box", BOB, "lrsw")
    b = imap_conn(srv, login=BOB)
    b.ok(f"SELECT {shared(ALICE, 'te-box')}")
    r = b.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    share(srv, "te-box", BOB, "lrswt")
    b.ok(f"SELECT {shared(ALICE, 'te-box')}")
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    r = b.cmd("EXPUNGE")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    b.ok("CLOSE")                                            # no e: CLOSE expunges nothing
    a.ok("SELECT te-box")
    assert exists_of(a.ok("NOOP")) in (None, 3)
    assert len(fetch_all(a.ok("FETCH 1:* UID"))) == 3
    share(srv, "te-box", BOB, "lrswte")
    b.ok(f"SELECT {shared(ALICE, 'te-box')}")
    r = b.ok("EXPUNGE")
    assert "1 EXPUNGE" in r.lines(), r
    assert len(fetch_all(a.ok("FETCH 1:* UID"))) == 2
    a.close()
    b.close()


def test_insert_right(srv):
    a = owner_box(srv, "i-box", 1)
    share(srv, "i-box", BOB, "lr")
    b = imap_conn(srv, login=BOB)
    box(b, "bob-src", 2)
    r = b.append(f"Shared/{ALICE}/i-box", simple_message("appended"))
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    b.ok("SELECT bob-src")
    for cmd in (f"COPY 1 {shared(ALICE, 'i-box')}", f"MOVE 1 {shared(ALICE, 'i-box')}"):
        r = b.cmd(cmd)
        assert (r.status, r.code) == ("NO", "NOPERM"), (cmd, r)
    share(srv, "i-box", BOB, "lri")
    # APPEND's flags without the rights for them are dropped
    r = b.append(f"Shared/{ALICE}/i-box", simple_message("appended"), flags="\\Seen \\Flagged")
    assert r.status == "OK" and "APPENDUID" in r.text, r
    b.ok(f"COPY 1 {shared(ALICE, 'i-box')}")
    b.ok(f"MOVE 2 {shared(ALICE, 'i-box')}")
    a.ok("SELECT i-box")
    f = fetch_all(a.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert len(f) == 4, f
    assert not {"\\Seen", "\\Flagged"} & set(f[2]["FLAGS"]), f
    subjects = b"".join(v["BODY[HEADER.FIELDS (SUBJECT)]"] for v in f.values())
    assert b"bob-src-1" in subjects and b"bob-src-2" in subjects and b"appended" in subjects
    assert len(fetch_all(b.ok("FETCH 1:* UID"))) == 1        # MOVE took bob-src-2 away
    # into a shared mailbox, the copy counts against the owner's quota
    p = srv.cli("user", "quota", ALICE, "--messages", "1")
    assert p.returncode == 0, p.stderr
    try:
        r = b.cmd(f"COPY 1 {shared(ALICE, 'i-box')}")
        assert (r.status, r.code) == ("NO", "OVERQUOTA"), r
        b.ok("COPY 1 INBOX")                                 # bob's own quota is not alice's
    finally:
        assert srv.cli("user", "quota", ALICE, "--messages", "default").returncode == 0
    a.close()
    b.close()


def test_move_out_needs_t_and_e(srv):
    a = owner_box(srv, "mv-box", 2)
    share(srv, "mv-box", BOB, "lrsw")
    b = imap_conn(srv, login=BOB)
    b.ok(f"SELECT {shared(ALICE, 'mv-box')}")
    r = b.cmd("MOVE 1 INBOX")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    share(srv, "mv-box", BOB, "lrswte")
    b.ok(f"SELECT {shared(ALICE, 'mv-box')}")
    b.ok("MOVE 1 INBOX")
    a.ok("SELECT mv-box")
    assert len(fetch_all(a.ok("FETCH 1:* UID"))) == 1
    a.close()
    b.close()


def test_create_and_delete_rights(srv):
    a = owner_box(srv, "kx-box", 0)
    share(srv, "kx-box", BOB, "lr")
    b = imap_conn(srv, login=BOB)
    r = b.cmd(f"CREATE {shared(ALICE, 'kx-box/child')}")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    r = b.cmd(f"DELETE {shared(ALICE, 'kx-box')}")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    share(srv, "kx-box", BOB, "lrk")
    b.ok(f"CREATE {shared(ALICE, 'kx-box/child')}")
    assert "kx-box/child" in list_names(a.ok('LIST "" "kx-box/*"'))
    # the child has the parent's grants: bob sees and may use what he made
    assert f"Shared/{ALICE}/kx-box/child" in list_names(b.ok('LIST "" "Shared/*"'))
    r = b.cmd(f"DELETE {shared(ALICE, 'kx-box/child')}")
    assert (r.status, r.code) == ("NO", "NOPERM"), r
    share(srv, "kx-box/child", BOB, "lrx")
    b.ok(f"DELETE {shared(ALICE, 'kx-box/child')}")
    assert "kx-box/child" not in list_names(a.ok('LIST "" "kx-box/*"'))
    p = srv.cli("mailbox", "acl", ALICE, "kx-box/child")
    assert p.returncode == 0 and p.stdout == "", (p.stdout, p.stderr)   # grants went too
    # the namespace itself is no mailbox of anyone's
    for cmd in ('CREATE "Shared"', f'CREATE "Shared/{ALICE}"', 'CREATE "Shared/x"',
                f'RENAME {shared(ALICE, "kx-box")} "mine"'):
        assert b.cmd(cmd).status == "NO", cmd
    a.close()
    b.close()


def test_admin_right_and_acl_commands(srv):
    a = owner_box(srv, "a-box", 0)
    share(srv, "a-box", BOB, "lr")
    b = imap_conn(srv, login=BOB)
    r = b.ok(f"MYRIGHTS {shared(ALICE, 'a-box')}")
    assert r.lines("MYRIGHTS") == [f'MYRIGHTS "Shared/{ALICE}/a-box" lr'], r
    for cmd in (f"GETACL {shared(ALICE, 'a-box')}", f"LISTRIGHTS {shared(ALICE, 'a-box')} {CAROL}",
                f"SETACL {shared(ALICE, 'a-box')} {CAROL} lr",
                f"DELETEACL {shared(ALICE, 'a-box')} {BOB}"):
        r = b.cmd(cmd)
        assert (r.status, r.code) == ("NO", "NOPERM"), (cmd, r)
    # the owner: everything, always
    r = a.ok("MYRIGHTS a-box")
    assert r.lines("MYRIGHTS") == ['MYRIGHTS "a-box" lrswipkxteacd'], r
    r = a.ok("GETACL a-box")
    assert r.lines("ACL") == [f'ACL "a-box" "{ALICE}" lrswipkxteacd "{BOB}" lr'], r
    r = a.ok(f"LISTRIGHTS a-box {ALICE}")
    assert r.lines("LISTRIGHTS") == [f'LISTRIGHTS "a-box" "{ALICE}" lrswipkxtea'], r
    r = a.ok(f"LISTRIGHTS a-box {CAROL}")
    assert r.lines("LISTRIGHTS") == [f'LISTRIGHTS "a-box" "{CAROL}" "" l r s w i p k x t e a c d']
    r = a.cmd(f"SETACL a-box {ALICE} lr")
    assert (r.status, r.code) == ("NO", "CANNOT"), r
    r = a.cmd(f"DELETEACL a-box {ALICE}")
    assert (r.status, r.code) == ("NO", "CANNOT"), r
    assert a.ok("MYRIGHTS a-box").lines("MYRIGHTS") == ['MYRIGHTS "a-box" lrswipkxteacd']
    # +/- modifiers; with a, bob administers too (c and d mapped per RFC 4314 2.1.1)
    a.ok(f"SETACL a-box {BOB} +ac")
    assert b.ok(f"MYRIGHTS {shared(ALICE, 'a-box')}").lines("MYRIGHTS") == \
        [f'MYRIGHTS "Shared/{ALICE}/a-box" lrkxac']
    b.ok(f"SETACL {shared(ALICE, 'a-box')} {CAROL} lrs")
    a.ok(f"SETACL a-box {BOB} -c")
    r = b.ok(f"GETACL {shared(ALICE, 'a-box')}")
    assert r.lines("ACL") == [f'ACL "Shared/{ALICE}/a-box" "{ALICE}" lrswipkxteacd "{BOB}" lra '
                              f'"{CAROL}" lrs'], r
    b.ok(f"DELETEACL {shared(ALICE, 'a-box')} {CAROL}")
    p = srv.cli("mailbox", "acl", ALICE, "a-box")
    assert p.stdout.split("\n")[:-1] == [f"a-box {BOB} lra"], p.stdout
    a.close()
    b.close()


# ---- across domains, the owner, hostile input -------------------------------------------------------


def test_cross_domain_grant_refused(srv):
    a = owner_box(srv, "xd-box", 1)
    r = a.cmd(f"SETACL xd-box {OUTSIDER} lr")
    assert (r.status, r.code) == ("NO", "CANNOT") and "domain" in r.text, r
    p = srv.cli("mailbox", "share", ALICE, "xd-box", OUTSIDER, "lr")
    assert p.returncode != 0 and "domain" in p.stderr, (p.stdout, p.stderr)
    p = srv.cli("mailbox", "share", OUTSIDER, "INBOX", ALICE, "lr")
    assert p.returncode != 0 and "domain" in p.stderr, (p.stdout, p.stderr)
    assert srv.cli("mailbox", "acl", ALICE, "xd-box").stdout == ""
    # and bob@other.test reaches nothing of alice's, by any name
    o = imap_conn(srv, login=OUTSIDER)
    for name in (shared(ALICE, "xd-box"), shared(ALICE, "INBOX")):
        r = o.cmd(f"SELECT {name}")
        assert (r.status, r.code) == ("NO", "NONEXISTENT"), r
    assert not [n for n in list_names(o.ok('LIST "" "*"')) if n.startswith("Shared")]
    a.close()
    o.close()


def test_hostile_rights_and_identifiers(srv):
    a = owner_box(srv, "h-box", 0)
    for rights in ("LR", "lrz", "l r", "1", "\\Seen", "l" * 100, "+", "-"):
        r = a.cmd(f'SETACL h-box {BOB} "{rights}"')
        assert r.status in ("BAD", "OK"), (rights, r)
        if rights not in ("+", "-"):
            assert r.status == "BAD", (rights, r)
    for ident in ("anyone", "authenticated", f"-{BOB}", "nobody@example.org", "x" * 400,
                  "bob", '""', "*@example.org", f"{BOB}%"):
        r = a.cmd(f'SETACL h-box "{ident}" lr')
        assert r.status in ("NO", "BAD"), (ident, r)
    # wildcards and nonsense in the mailbox name reach no mailbox
    for name in ('"Shared/*/INBOX"', '"Shared/%/INBOX"', f'"Shared/{ALICE}/*"', '"Shared//INBOX"',
                 '"Shared/"', f'"Shared/{ALICE}"', f'"Shared/{ALICE}/"'):
        r = a.cmd(f"GETACL {name}")
        assert (r.status, r.code) == ("NO", "NONEXISTENT"), (name, r)
    assert srv.cli("mailbox", "acl", ALICE, "h-box").stdout == ""
    # a huge identifier as a literal: refused, the session goes on
    a.send(b"t900 SETACL h-box {5000+}\r\n" + b"a" * 5000 + b" lr\r\n")
    r = a.wait_tagged("t900")
    assert r.status in ("NO", "BAD"), r
    a.ok("NOOP")
    a.close()


def test_cli(srv):
    a = owner_box(srv, "cli-box", 0)
    p = srv.cli("mailbox", "share", ALICE, "cli-box", BOB, "lr")
    assert p.returncode == 0 and "lr" in p.stdout, p.stderr
    p = srv.cli("mailbox", "share", ALICE, "cli-box", BOB, "+si")
    assert p.returncode == 0, p.stderr
    assert srv.cli("mailbox", "acl", ALICE, "cli-box").stdout == f"cli-box {BOB} lrsi\n"
    assert f"cli-box {BOB} lrsi" in srv.cli("mailbox", "acl", ALICE).stdout
    for bad in (("share", ALICE, "cli-box", BOB, "lrQ"), ("share", ALICE, "no-such-box", BOB, "lr"),
                ("share", ALICE, "cli-box", "ghost@example.org", "lr"),
                ("share", ALICE, "cli-box", ALICE, "lr"), ("share", ALICE, "cli-box", "anyone", "lr"),
                ("share", ALICE, "cli-box", BOB), ("acl",)):
        p = srv.cli("mailbox", *bad)
        assert p.returncode != 0, (bad, p.stdout)
        assert p.stderr, bad
    assert srv.cli("mailbox", "acl", ALICE, "cli-box").stdout == f"cli-box {BOB} lrsi\n"
    p = srv.cli("mailbox", "unshare", ALICE, "cli-box", BOB)
    assert p.returncode == 0, p.stderr
    assert srv.cli("mailbox", "acl", ALICE, "cli-box").stdout == ""
    help_text = srv.cli("mailbox", "--help").stdout
    assert "share OWNER MAILBOX GRANTEE RIGHTS" in help_text and "lrswipkxtea" in help_text
    assert "mailbox share|unshare|acl" in srv.cli("--help").stdout
    a.close()


def test_owner_rename_and_user_deletion_carry_grants(srv):
    a = owner_box(srv, "rn-box", 1)
    share(srv, "rn-box", BOB, "lr")
    a.ok('RENAME rn-box rn-renamed')
    b = imap_conn(srv, login=BOB)
    names = list_names(b.ok('LIST "" "Shared/*"'))
    assert f"Shared/{ALICE}/rn-renamed" in names and f"Shared/{ALICE}/rn-box" not in names
    assert exists_of(b.ok(f"EXAMINE {shared(ALICE, 'rn-renamed')}")) == 1
    a.close()
    b.close()


# ---- IDLE and CONDSTORE for a sharer ------------------------------------------------------------


def test_shared_idle_wakes_up_the_sharer(srv):
    a = owner_box(srv, "idle-box", 1)
    share(srv, "idle-box", BOB, "lrs")
    share(srv, "idle-box", CAROL, "lrswite")
    b = imap_conn(srv, login=BOB)
    assert exists_of(b.ok(f"SELECT {shared(ALICE, 'idle-box')}")) == 1
    tag = b.next_tag()
    b.send(f"{tag} IDLE\r\n".encode())
    b.until(lambda r: r.startswith(b"+"))
    assert b.quiet(0.3)
    a.ok("SELECT idle-box")
    # the owner appends: bob hears of it
    assert a.append("idle-box", simple_message("new while idling")).status == "OK"
    got = b.until(lambda r: re.fullmatch(rb"\* \d+ EXISTS", r) is not None, timeout=5)
    assert got[-1] == b"* 2 EXISTS", got
    # another sharer changes flags and expunges: bob hears of both
    c = imap_conn(srv, login=CAROL)
    c.ok(f"SELECT {shared(ALICE, 'idle-box')}")
    c.ok("STORE 2 +FLAGS (\\Flagged)")
    got = b.until(lambda r: b"FETCH" in r, timeout=5)
    assert re.match(rb"\* 2 FETCH \(.*\\Flagged", got[-1]), got
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    got = b.until(lambda r: r.endswith(b"EXPUNGE"), timeout=5)
    assert got[-1] == b"* 1 EXPUNGE", got
    b.send(b"DONE\r\n")
    assert b.wait_tagged(tag).status == "OK"
    for x in (a, b, c):
        x.close()


def test_condstore_on_a_shared_mailbox(srv):
    a = owner_box(srv, "cs-box", 2)
    share(srv, "cs-box", BOB, "lrsw")
    r = a.ok("SELECT cs-box (CONDSTORE)")
    owner_hms = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(r.lines())).group(1))
    b = imap_conn(srv, login=BOB)
    r = b.ok(f"SELECT {shared(ALICE, 'cs-box')} (CONDSTORE)")
    hms = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(r.lines())).group(1))
    assert hms == owner_hms                                  # one mailbox, one modseq
    a.ok("STORE 2 +FLAGS (\\Flagged)")
    r = b.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})")
    f = fetch_all(r)
    assert list(f) == [2] and int(f[2]["MODSEQ"][0]) > hms, r
    r = b.ok(f"STORE 1 (UNCHANGEDSINCE {hms}) +FLAGS ($Done)")
    assert "MODSEQ" in " ".join(r.lines())
    r = b.ok(f"STORE 2 (UNCHANGEDSINCE {hms}) +FLAGS ($Done)")
    assert "MODIFIED 2" in r.text, r
    r = b.ok(f"STATUS {shared(ALICE, 'cs-box')} (HIGHESTMODSEQ)")
    a_hms = a.ok("STATUS cs-box (HIGHESTMODSEQ)").lines("STATUS")[0].split()[-1]
    assert r.lines("STATUS")[0].split()[-1] == a_hms, r
    a.close()
    b.close()
