"""IMAP mailbox commands (RFC 9051 6.3.4-6.3.9, 6.3.11): LIST with patterns and
the hierarchy delimiter, LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and
SPECIAL-USE (RFC 6154, the folders a new user gets); CREATE with hierarchy and
refused names; mailbox names in modified UTF-7 (RFC 3501 5.1.3) and UTF-8 (RFC
6855 3); DELETE; RENAME with children, of INBOX and of a selected mailbox;
SUBSCRIBE / UNSUBSCRIBE / LSUB; STATUS with SIZE (RFC 8438) and DELETED (RFC
9051 6.3.11); and the limits on names, LIST patterns and the number of
mailboxes (imap.max_mailboxes).

Most tests share one server (module scope); each works in mailboxes named after
the test. Tests of limits get a server of their own."""
import re
import time

import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, own_srv, SPECIAL_USE, capability, fetch_all, fill, imap_conn, imap_server,
                           module_server, resp_code, simple_message)


# ---- LIST ----------------------------------------------------------------------------------------


def list_names(c, ref='""', pat='"*"', cmd="LIST"):
    r = c.ok(f"{cmd} {ref} {pat}")
    out = {}
    for line in r.lines(cmd):
        m = re.match(rf'{cmd} \(([^)]*)\) (?:"/"|NIL) (.*)$', line, re.S)
        assert m, line
        name = m.group(2)
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif name.startswith("{"):
            name = name.split("\r\n", 1)[1]
        out[name] = m.group(1).split()
    return out


def test_new_user_gets_special_use_folders(srv):
    srv.add_user("carol@example.org")
    c = imap_conn(srv, login="carol@example.org")
    names = list_names(c)
    assert set(names) == {"INBOX", *SPECIAL_USE}, names
    for name, use in SPECIAL_USE.items():
        assert use in names[name], (name, names[name])
    assert "\\HasNoChildren" in names["INBOX"]
    # RFC 6154: LIST (SPECIAL-USE) selection returns only those
    r = c.ok('LIST (SPECIAL-USE) "" "*"')
    got = {l.rsplit(" ", 1)[1].strip('"') for l in r.lines("LIST")}
    assert got == set(SPECIAL_USE), got
    c.close()


def test_list_patterns(srv):
    c = imap_conn(srv)
    for n in ("lp", "lp/a", "lp/a/deep", "lp/b", "lpx"):
        c.ok(f'CREATE "{n}"')
    assert set(list_names(c, pat='"lp*"')) == {"lp", "lp/a", "lp/a/deep", "lp/b", "lpx"}
    assert set(list_names(c, pat='"lp%"')) == {"lp", "lpx"}
    assert set(list_names(c, pat='"lp/%"')) == {"lp/a", "lp/b"}
    assert set(list_names(c, ref='"lp/"', pat='"%"')) == {"lp/a", "lp/b"}
    assert set(list_names(c, pat='"lp/*/deep"')) == {"lp/a/deep"}
    top = list_names(c, pat='"%"')
    assert "lp" in top and "lp/a" not in top and "INBOX" in top
    assert set(list_names(c, pat='"inbox"')) == {"INBOX"}
    assert list_names(c, pat='"nomatch*"') == {}
    # the hierarchy delimiter (RFC 9051 6.3.9)
    r = c.ok('LIST "" ""')
    assert r.lines("LIST") == ['LIST (\\Noselect) "/" ""'], r
    r = c.cmd("LIST")
    assert r.status == "BAD", r
    c.close()


def test_list_extended_options(srv):
    """RFC 5258: several patterns, RETURN (SUBSCRIBED), SUBSCRIBED RECURSIVEMATCH
    with CHILDINFO, unknown options refused."""
    c = imap_conn(srv)
    for name in ("zlx/a", "zlx/b", "zly"):
        c.ok(f'CREATE "{name}"')
    c.ok('SUBSCRIBE "zlx/a"')
    c.ok('SUBSCRIBE "zly"')
    r = c.ok('LIST "" ("zlx/*" "zly")')
    assert sorted(l.split()[-1] for l in r.lines("LIST")) == ['"zlx/a"', '"zlx/b"', '"zly"'], r
    r = c.ok('LIST "" "zl*" RETURN (SUBSCRIBED CHILDREN)')
    attrs = {l.split('"/"')[1].strip(): l for l in r.lines("LIST")}
    assert "\\Subscribed" in attrs['"zlx/a"'] and "\\Subscribed" not in attrs['"zlx/b"'], r
    assert "\\Subscribed" not in attrs['"zlx"'] and "\\HasChildren" in attrs['"zlx"'], r
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "zl%"')
    lines = r.lines("LIST")
    assert any('"zlx" ("CHILDINFO" ("SUBSCRIBED"))' in l for l in lines), r
    assert any(l.endswith('"zly"') and "\\Subscribed" in l for l in lines), r
    r = c.ok('LIST (SUBSCRIBED) "" "zl%"')
    assert [l.split()[-1] for l in r.lines("LIST")] == ['"zly"'], r
    for bad in ('LIST (RECURSIVEMATCH) "" "*"', 'LIST (BOGUS) "" "*"',
                'LIST "" "*" RETURN (BOGUS)', 'LIST "" ()', 'LIST "" "*" RETURN (STATUS (NOPE))'):
        assert c.cmd(bad).status == "BAD", bad
    c.close()


def test_list_status(srv):
    c = imap_conn(srv)
    assert "LIST-STATUS" in capability(c)
    fill(c, "ls1", 2)
    r = c.ok('LIST "" "ls1" RETURN (STATUS (MESSAGES UIDNEXT))')
    assert any(l.startswith("STATUS") and "MESSAGES 2" in l for l in r.lines()), r
    c.close()


# ---- CREATE --------------------------------------------------------------------------------------


def test_create_and_hierarchy(srv):
    c = imap_conn(srv)
    c.ok('CREATE "cr/sub"')
    names = list_names(c, pat='"cr*"')
    assert "cr" in names and "cr/sub" in names, names
    assert "\\HasChildren" in names["cr"] and "\\HasNoChildren" in names["cr/sub"]
    r = c.cmd('CREATE "cr/sub"')
    assert r.status == "NO" and r.code == "ALREADYEXISTS", r
    r = c.cmd("CREATE INBOX")
    assert r.status == "NO", r
    r = c.cmd("CREATE inbox")
    assert r.status == "NO", r
    c.ok('CREATE "cr/trail/"')                    # trailing separator: a hint only
    assert "cr/trail" in list_names(c, pat='"cr/*"')
    for bad in ('"a//b"', '"/lead"', '".hidden"', '"x/../y"', '"pct%"', '"star*"', '""',
                "{3}\r\na\x01b", '"' + "n" * 300 + '"'):
        if bad.startswith("{"):
            c.send(b"cb CREATE {3}\r\n")
            assert c.read_response().startswith(b"+")
            c.send(b"a\x01b\r\n")
            r = c.wait_tagged("cb")
        else:
            r = c.cmd(f"CREATE {bad}")
        assert r.status in ("NO", "BAD"), (bad, r)
    # nothing of those reached the disk
    md = srv.maildir_path("alice")
    assert not any(p.name.startswith("..") for p in md.iterdir())
    c.close()


def test_mailbox_names_modified_utf7(srv):
    """RFC 3501 5.1.3 / RFC 6855 3: an IMAP4rev1 session sees international
    mailbox names in modified UTF-7; a session that enabled UTF8=ACCEPT sees
    UTF-8. The index keeps UTF-8 (store/mbox.h)."""
    c = imap_conn(srv)
    c.ok('CREATE "Gr&APwA3w-e"')                  # "Gr\u00fc\u00dfe" in modified UTF-7
    names = list_names(c, pat='"Gr*"')
    assert set(names) == {"Gr&APwA3w-e"}, names
    c.ok('SELECT "Gr&APwA3w-e"')
    u = imap_conn(srv)
    u.ok("ENABLE UTF8=ACCEPT")
    raw = u.ok('LIST "" "Gr*"')
    assert "Gr\u00fc\u00dfe" in raw.lines("LIST")[0], raw
    u.ok('CREATE "Stra\u00dfe"'.encode())
    raw = c.ok('LIST "" "Stra*"')
    assert raw.lines("LIST") and all(max(l.encode()) < 0x80 for l in raw.lines("LIST")), raw
    assert "Stra&AN8-e" in raw.lines("LIST")[0], raw
    c.close()
    u.close()


def test_create_hierarchy_under_existing_leaf_and_select(srv):
    c = imap_conn(srv)
    c.ok("CREATE leaf")
    c.append("leaf", simple_message("in leaf"))
    c.ok('CREATE "leaf/child"')
    r = c.ok("SELECT leaf")
    assert "1 EXISTS" in r.lines()
    r = c.ok('SELECT "leaf/child"')
    assert "0 EXISTS" in r.lines()
    c.close()


# ---- DELETE / RENAME -----------------------------------------------------------------------------


def test_delete(srv):
    c = imap_conn(srv)
    r = c.cmd("DELETE INBOX")
    assert r.status == "NO", r
    r = c.cmd("DELETE inbox")
    assert r.status == "NO", r
    c.ok('CREATE "del/kid"')
    r = c.cmd("DELETE del")
    assert r.status == "NO", r                    # has children
    c.append("del/kid", simple_message("gone soon"))
    c.ok('DELETE "del/kid"')
    c.ok("DELETE del")
    names = list_names(c, pat='"del*"')
    assert names == {}, names
    r = c.cmd("DELETE del")
    assert r.status == "NO" and r.code == "NONEXISTENT", r
    md = srv.maildir_path("alice")
    assert not (md / ".del").exists() and not (md / ".del.kid").exists()
    # deleting the selected mailbox: it is no longer selected
    c.ok("CREATE delsel")
    c.ok("SELECT delsel")
    c.ok("DELETE delsel")
    r = c.cmd("FETCH 1:* FLAGS")
    assert r.status in ("BAD", "NO"), r
    # a refused DELETE of the selected mailbox leaves it selected
    c.ok('CREATE "selkid/kid"')
    c.append("selkid", simple_message("stays"))
    c.ok("SELECT selkid")
    r = c.cmd("DELETE selkid")
    assert r.status == "NO", r
    assert fetch_all(c.ok("FETCH 1 FLAGS"))[1]["FLAGS"] == ["\\Recent"], "still selected"
    c.close()


def test_rename(srv):
    c = imap_conn(srv)
    c.ok("CREATE rn1")
    c.append("rn1", simple_message("keep me"), flags="\\Flagged")
    c.ok("RENAME rn1 rn2")
    names = list_names(c, pat='"rn*"')
    assert set(names) == {"rn2"}, names
    r = c.ok("SELECT rn2")
    assert "1 EXISTS" in r.lines()
    r = c.ok("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert b"keep me" in r.untagged[0] and b"\\Flagged" in r.untagged[0]
    c.ok("CREATE rn3")
    r = c.cmd("RENAME rn2 rn3")
    assert r.status == "NO" and r.code == "ALREADYEXISTS", r
    r = c.cmd("RENAME nosuch rn4")
    assert r.status == "NO", r
    r = c.cmd('RENAME rn3 "bad//name"')
    assert r.status == "NO", r
    c.close()


def test_rename_moves_children(srv):
    """RFC 9051 6.3.6: inferior hierarchical names are renamed too."""
    c = imap_conn(srv)
    c.ok('CREATE "rk1/kid"')
    c.append("rk1/kid", simple_message("kid mail"))
    c.ok("RENAME rk1 rk2")
    assert set(list_names(c, pat='"rk*"')) == {"rk2", "rk2/kid"}
    assert "1 EXISTS" in c.ok('SELECT "rk2/kid"').lines()
    c.close()


def test_rename_inbox_keeps_inbox(srv):
    """RFC 9051 6.3.6: renaming INBOX moves its messages and leaves an empty INBOX
    (or is refused); either way INBOX must still be there and selectable."""
    s_user = "dave@example.org"
    srv.add_user(s_user)
    c = imap_conn(srv, login=s_user)
    c.append("INBOX", simple_message("old inbox mail"))
    r = c.cmd("RENAME INBOX oldinbox")
    names = list_names(c)
    assert "INBOX" in names
    r2 = c.ok("SELECT INBOX")
    if r.status == "OK":
        assert "0 EXISTS" in r2.lines()
        assert "1 EXISTS" in c.ok("SELECT oldinbox").lines()
    else:
        assert "1 EXISTS" in r2.lines()
    c.close()


def test_rename_of_the_selected_mailbox(srv):
    """RFC 9051 6.3.6: the session stays on the renamed mailbox; another
    session that has it selected follows it too."""
    a, b = imap_conn(srv), imap_conn(srv)
    fill(a, "rs1", 3)
    a.ok("SELECT rs1")
    b.ok("SELECT rs1")
    a.ok('RENAME rs1 "rs1 new"')
    r = a.ok("STORE 2 +FLAGS (\\Flagged)")
    assert "\\Flagged" in r.lines("FETCH")[0], r
    assert a.ok("FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject)])").untagged
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert [l for l in a.ok("EXPUNGE").lines() if l.endswith("EXPUNGE")] == ["1 EXPUNGE"]
    # the other session learns of the expunge, then works on the new name
    r = b.ok("NOOP")
    assert "1 EXPUNGE" in r.lines(), r
    b.ok("STORE 1 -FLAGS (\\Flagged)")
    r = a.ok("STATUS \"rs1 new\" (MESSAGES)")
    assert "MESSAGES 2" in r.lines("STATUS")[0], r
    # a parent renamed under a selected child
    fill(a, "rs2/kid", 1)
    a.ok('SELECT "rs2/kid"')
    a.ok('RENAME rs2 rs3')
    a.ok("STORE 1 +FLAGS (\\Seen)")
    assert a.ok('STATUS "rs3/kid" (UNSEEN)').lines("STATUS")[0].endswith("(UNSEEN 0)")
    a.close()
    b.close()


# ---- SUBSCRIBE / LSUB ----------------------------------------------------------------------------


def test_subscribe_and_lsub(srv):
    c = imap_conn(srv)
    c.ok("CREATE subme")
    assert "subme" not in list_names(c, cmd="LSUB")     # CREATE does not subscribe
    c.ok("SUBSCRIBE subme")
    assert "subme" in list_names(c, cmd="LSUB")
    r = c.ok('LIST (SUBSCRIBED) "" "sub*"')
    lines = r.lines("LIST")
    assert len(lines) == 1 and "\\Subscribed" in lines[0] and "subme" in lines[0], r
    c.ok("UNSUBSCRIBE subme")
    assert "subme" not in list_names(c, cmd="LSUB")
    r = c.cmd("SUBSCRIBE nosuchbox")
    # RFC 9051 6.3.7 allows subscribing to a name that does not exist; refusing is fine too
    assert r.status in ("OK", "NO"), r
    c.close()


def test_subscription_outlives_its_mailbox(srv):
    """RFC 9051 6.3.7: a subscription is not removed with its mailbox; LIST
    (SUBSCRIBED) shows it \\NonExistent (RFC 5258 3.1), plain LIST does
    not, LSUB shows it \\Noselect; a new mailbox of that name is subscribed
    again, RENAME takes the subscription along."""
    c = imap_conn(srv)
    c.ok('CREATE "gone/x"')
    c.ok('SUBSCRIBE "gone/x"')
    c.ok('DELETE "gone/x"')
    r = c.ok('LIST (SUBSCRIBED) "" "gone/*"')
    assert r.lines("LIST") == ['LIST (\\Subscribed \\NonExistent) "/" "gone/x"'], r
    assert c.ok('LIST "" "gone/*"').lines("LIST") == []
    assert c.ok('LSUB "" "gone/*"').lines("LSUB") == ['LSUB (\\Noselect) "/" "gone/x"']
    c.ok('CREATE "gone/x"')
    r = c.ok('LIST "" "gone/x" RETURN (SUBSCRIBED)')
    assert "\\Subscribed" in r.lines("LIST")[0], r
    c.ok('RENAME "gone/x" "gone/y"')
    r = c.ok('LIST (SUBSCRIBED) "" "gone/*"')
    assert r.lines("LIST") == ['LIST (\\HasNoChildren \\Subscribed) "/" "gone/y"'], r
    c.ok('UNSUBSCRIBE "gone/y"')
    assert c.ok('LIST (SUBSCRIBED) "" "gone/*"').lines("LIST") == []
    assert c.cmd('UNSUBSCRIBE "never/was"').status == "NO"
    c.close()


def test_recursivematch_lists_parents_of_unlisted_subscribed_children(srv):
    """RFC 5258 3.5: with RECURSIVEMATCH a parent that is not subscribed but
    has a subscribed child the patterns do not match is listed with CHILDINFO
    and without \\Subscribed; one whose subscribed children are listed
    themselves is not."""
    c = imap_conn(srv)
    for name in ("rm/p2/k", "rm/p7/p7", "rm/p8/p8", "rm/p8/p9"):
        c.ok(f'CREATE "{name}"')
        c.ok(f'SUBSCRIBE "{name}"')
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "rm/p2%" RETURN (CHILDREN)')
    assert r.lines("LIST") == ['LIST (\\HasChildren) "/" "rm/p2" ("CHILDINFO" ("SUBSCRIBED"))'], r
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "rm*p7"')
    assert r.lines("LIST") == ['LIST (\\HasNoChildren \\Subscribed) "/" "rm/p7/p7"'], r
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "rm*p8"')
    assert sorted(r.lines("LIST")) == ['LIST (\\HasChildren) "/" "rm/p8" ("CHILDINFO" ("SUBSCRIBED"))',
                                       'LIST (\\HasNoChildren \\Subscribed) "/" "rm/p8/p8"'], r
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("rm/p2" "rm/p2/k")')
    assert r.lines("LIST") == ['LIST (\\HasNoChildren \\Subscribed) "/" "rm/p2/k"'], r
    r = c.ok('LIST "" "rm/%" RETURN (CHILDREN SUBSCRIBED)')
    assert all("\\Subscribed" not in l for l in r.lines("LIST")), r
    c.close()


def test_lsub_percent_gives_the_parent_of_a_subscribed_child(srv):
    """RFC 3501 6.3.9: "foo/bar" subscribed, "foo" not: LSUB "" "%" returns
    foo with \\Noselect, not foo/bar; once foo/bar is unsubscribed, nothing."""
    c = imap_conn(srv)
    for name in ("ls/one", "ls/two/kid"):
        c.ok(f'CREATE "{name}"')
    c.ok('SUBSCRIBE "ls/one"')
    c.ok('SUBSCRIBE "ls/two/kid"')
    r = c.ok('LSUB "" "ls/%"')
    assert sorted(r.lines("LSUB")) == ['LSUB () "/" "ls/one"', 'LSUB (\\Noselect) "/" "ls/two"'], r
    r = c.ok('LSUB "" "ls/*"')
    assert sorted(r.lines("LSUB")) == ['LSUB () "/" "ls/one"', 'LSUB () "/" "ls/two/kid"'], r
    c.ok('UNSUBSCRIBE "ls/two/kid"')
    assert c.ok('LSUB "" "ls/%"').lines("LSUB") == ['LSUB () "/" "ls/one"']
    c.close()


# ---- STATUS --------------------------------------------------------------------------------------


def test_status(srv):
    c = imap_conn(srv)
    c.ok("CREATE st1")
    msgs = [simple_message(f"s{i}", body="x" * (10 * i)) for i in range(3)]
    for i, m in enumerate(msgs):
        c.append("st1", m, flags="\\Seen" if i == 1 else None)
    r = c.ok("STATUS st1 (MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ)")
    line = r.lines("STATUS")[0]
    m = re.match(r'STATUS "?st1"? \((.*)\)$', line)
    assert m, line
    vals = dict(zip(m.group(1).split()[::2], map(int, m.group(1).split()[1::2])))
    assert vals["MESSAGES"] == 3 and vals["UIDNEXT"] == 4 and vals["UNSEEN"] == 2, vals
    assert vals["SIZE"] == sum(len(x) for x in msgs), vals
    assert vals["UIDVALIDITY"] > 0 and vals["HIGHESTMODSEQ"] > 0
    r = c.ok("SELECT st1")
    assert resp_code(r, "UIDVALIDITY") == str(vals["UIDVALIDITY"])
    assert resp_code(r, "HIGHESTMODSEQ") == str(vals["HIGHESTMODSEQ"])
    r = c.cmd("STATUS st1 (BOGUS)")
    assert r.status == "BAD", r
    r = c.cmd("STATUS nosuch (MESSAGES)")
    assert r.status == "NO", r
    r = c.cmd("STATUS st1")
    assert r.status == "BAD", r
    c.close()


def test_status_deleted(srv):
    c = imap_conn(srv)
    fill(c, "rv2", 4)
    c.ok("SELECT rv2")
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    c.ok("UNSELECT")
    r = c.ok("STATUS rv2 (MESSAGES DELETED SIZE)")
    m = re.search(r"\(MESSAGES 4 DELETED 2 SIZE \d+\)", r.lines("STATUS")[0])
    assert m, r
    c.close()


# ---- names, patterns, counts ---------------------------------------------------------------------


def test_long_names_and_keywords(own_srv):
    c = imap_conn(own_srv)
    for cmd in ('SELECT "' + "n" * 300 + '"', 'CREATE "' + "a/" * 200 + 'x"',
                'STATUS "' + "n" * 5000 + '" (MESSAGES)', 'RENAME INBOX "' + "n" * 300 + '"'):
        r = c.cmd(cmd)
        assert r.status in ("NO", "BAD"), (cmd[:40], r)
    c.append("INBOX", simple_message("kw"))
    c.ok("SELECT INBOX")
    kw = "k" * 300
    r = c.cmd(f"STORE 1 +FLAGS ({kw})")
    if r.status == "OK":
        flags = fetch_all(c.ok("FETCH 1 FLAGS"))[1]["FLAGS"]
        assert kw in flags, f"keyword stored truncated: {flags}"
    else:
        assert r.status in ("NO", "BAD"), r
    c.close()


def test_many_mailboxes_are_all_listed(postern):
    s = imap_server(postern)
    c = imap_conn(s)
    n = 530
    c.send(b"".join(b"m%d CREATE box%04d\r\n" % (i, i) for i in range(n)))
    got = c.until(lambda r: r.startswith(b"m%d " % (n - 1)), timeout=120)
    assert sum(1 for r in got if re.match(rb"m\d+ OK", r)) == n, got[-3:]
    r = c.ok('LIST "" "box*"', timeout=30)
    assert len(r.lines("LIST")) == n, f"{len(r.lines('LIST'))} of {n} mailboxes listed"
    r = c.ok('LIST "" "*"', timeout=30)
    assert len(r.lines("LIST")) == n + 6
    c.close()


def test_list_pattern_of_many_wildcards_answers_at_once(postern):
    """A LIST pattern of hundreds of wildcards must cost |pattern| x |name|,
    not an exponential backtrack that stalls the worker."""
    s = imap_server(postern)
    c = imap_conn(s)
    c.ok('CREATE "Archive/2026/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"')
    for pat in ("%" * 400 + "x", "*%" * 200 + "x", "A" + "%a" * 150 + "%b"):
        t0 = time.monotonic()
        r = c.ok('LIST "" "%s"' % pat, timeout=10)
        assert r.lines("LIST") == [], r
        assert time.monotonic() - t0 < 1.0, pat[:20]
    r = c.ok('LIST "" "%%/%%/%%a"')
    assert len(r.lines("LIST")) == 1, r
    r = c.ok('LIST "" "*"')
    assert len(r.lines("LIST")) >= 8, r
    c.close()


def test_mailbox_count_limit(postern):
    s = imap_server(postern, config={"imap": {"max_mailboxes": 10, "max_search_results": 3}})
    c = imap_conn(s)
    have = len(c.ok('LIST "" "*"').lines("LIST"))     # INBOX and the special-use ones
    for i in range(10 - have):
        c.ok(f'CREATE "lim{i}"')
    r = c.cmd('CREATE "one-too-many"')
    assert r.status == "NO" and r.code == "LIMIT", r
    # the parents a CREATE would add count too
    c.ok('DELETE "lim0"')
    r = c.cmd('CREATE "p/q"')
    assert r.status == "NO" and r.code == "LIMIT", r
    c.ok('CREATE "p"')
    assert len(c.ok('LIST "" "*"').lines("LIST")) == 10
    # imap.max_search_results: more matches than that is NO [LIMIT], not a partial answer
    c.ok('SELECT INBOX')
    for i in range(4):
        assert c.append("INBOX", simple_message(f"s{i}")).status == "OK"
    c.ok("NOOP")
    r = c.cmd("SEARCH ALL")
    assert r.status == "NO" and r.code == "LIMIT" and r.lines("SEARCH") == [], r
    r = c.ok("SEARCH 1:3")
    assert r.lines("SEARCH") == ["SEARCH 1 2 3"], r
    c.close()


def test_list_patterns_are_bounded_in_total(own_srv):
    c = imap_conn(own_srv)
    many = " ".join(['"' + "*" * 60 + 'X"'] * 20)       # 20 x 62 octets > 1 KiB
    r = c.cmd(f'LIST "" ({many})')
    assert r.status == "BAD", r
    r = c.ok('LIST "" ("INBOX" "Sent" "Trash")')
    assert len(r.lines("LIST")) == 3, r
    c.close()
