"""IMAP FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9, 7.5.2): every data item and
macro, ENVELOPE, BODYSTRUCTURE and BODY, body sections and partials,
RFC822.SIZE equal to the octets sent however the file is stored, the \\Seen side
effect, sequence sets (RFC 9051 9 sequence-set) small and huge; ENVELOPE of an
address header holding thousands of tiny addresses (at most
MIME_MAX_ADDRESSES structures per list, the first ones kept); the item name of
BODY[HEADER.FIELDS (...)] with a long name list (whole, or BAD when too long,
never empty); hostile messages (deep MIME nesting, thousands of parts, a header
bomb); and the memory a FETCH may use (imap.session_memory_limit, a client
that pipelines FETCHes and never reads). BINARY is in test_imap_binary.py,
CHANGEDSINCE / VANISHED in test_imap_qresync.py.

One server for the module; each test fills a mailbox of its own with APPEND
(known flags and internal dates) and compares what FETCH sends with the
octets it appended. Hostile messages and memory tests get a server of their
own."""
import re
import time

import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, own_srv, ALICE, assert_alive, crlf, deep_message, deliver_smtp, fetch_all,
                           imap_conn, imap_server, make_box, many_parts_message, module_server,
                           one, rss_kib, search_numbers, simple_message, write_maildir)


MULTIPART = crlf("""\
From: "Alice Example" <alice@example.org>
Sender: secretary@example.org
Reply-To: replies@example.org
To: Bob <bob@example.org>, carol@example.org
Cc: dave@example.org
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= multipart
Date: Tue, 03 Mar 2026 09:30:00 +0100
Message-ID: <mp1@example.org>
In-Reply-To: <orig@example.org>
X-Extra: one
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble text
--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello plain part =C3=BC
second line
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

alt text
--inner
Content-Type: text/html

<p>alt html</p>
--inner--
--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--outer
Content-Type: message/rfc822

From: inner@remote.test
Subject: inner message

inner body
--outer--
epilogue
""")


SECTIONS = {
    "1": b"Hello plain part =C3=BC\r\nsecond line",
    "1.MIME": b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
              b"quoted-printable\r\n\r\n",
    "2.1": b"alt text",
    "2.2": b"<p>alt html</p>",
    "3": b"AAECAwQFBgcICQ==",
    "4": b"From: inner@remote.test\r\nSubject: inner message\r\n\r\ninner body",
    "4.HEADER": b"From: inner@remote.test\r\nSubject: inner message\r\n\r\n",
    "4.TEXT": b"inner body",
    "HEADER": MULTIPART.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
    "TEXT": MULTIPART.split(b"\r\n\r\n", 1)[1],
}


# ---- FETCH ---------------------------------------------------------------------------------------


def test_fetch_simple_items(srv):
    c = imap_conn(srv)
    msg = simple_message("items")
    make_box(c, "f1", [msg], flags={0: "\\Flagged"}, dates={0: "05-Mar-2026 08:09:10 +0000"})
    f = one(c, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ)")
    assert f["FLAGS"] == ["\\Recent", "\\Flagged"]       # new to this session: \Recent
    assert f["INTERNALDATE"] == b"05-Mar-2026 08:09:10 +0000"
    assert int(f["RFC822.SIZE"]) == len(msg)
    assert f["UID"] == "1"
    assert len(f["MODSEQ"]) == 1 and int(f["MODSEQ"][0]) > 0
    # macros (RFC 9051 6.4.5)
    f = one(c, "FETCH 1 FAST")
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f = one(c, "FETCH 1 ALL")
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}, f
    f = one(c, "FETCH 1 FULL")
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}, f
    c.close()


def test_rfc822_size_equals_body_octets(srv):
    """RFC822.SIZE must be the exact number of octets BODY[] sends, however the
    file is stored: appended (CRLF), delivered over SMTP (stored with LF),
    dropped into new/ with LF, CRLF, mixed line ends or no final newline."""
    deliver_smtp(srv, ALICE, subject="size check smtp")
    md = srv.maildir_path("alice")
    variants = [
        b"From: <a@remote.test>\nSubject: lf\n\nline one\nline two\n",
        b"From: <a@remote.test>\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n",
        b"From: <a@remote.test>\r\nSubject: mixed\n\r\nline one\nline two\r\n",
        b"From: <a@remote.test>\nSubject: no final newline\n\nlast line",
        b"From: <a@remote.test>\nSubject: bare cr\n\nbare\rcr\n",
    ]
    write_maildir(md, variants, host="sizecheck")
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1:* (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (Subject)])")
    seen = 0
    for seq, f in fetch_all(r).items():
        subj = f["BODY[HEADER.FIELDS (SUBJECT)]"]
        if b"size check smtp" not in subj and not any(
                s in subj for s in (b"lf", b"crlf", b"mixed", b"no final", b"bare cr")):
            continue
        seen += 1
        assert int(f["RFC822.SIZE"]) == len(f["BODY[]"]), (seq, subj, f["RFC822.SIZE"], f["BODY[]"])
        # what is sent is CRLF text
        assert re.search(rb"(?<!\r)\n", f["BODY[]"]) is None, f["BODY[]"]
    assert seen == 6, r
    c.close()


def test_envelope(srv):
    c = imap_conn(srv)
    make_box(c, "f2", [MULTIPART])
    f = one(c, "FETCH 1 ENVELOPE")
    env = f["ENVELOPE"]
    date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
    assert date == b"Tue, 03 Mar 2026 09:30:00 +0100"
    assert subject == b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= multipart"
    assert from_ == [[b"Alice Example", None, b"alice", b"example.org"]], from_
    assert sender == [[None, None, b"secretary", b"example.org"]], sender
    assert reply_to == [[None, None, b"replies", b"example.org"]], reply_to
    assert to == [[b"Bob", None, b"bob", b"example.org"], [None, None, b"carol", b"example.org"]], to
    assert cc == [[None, None, b"dave", b"example.org"]]
    assert bcc is None
    assert in_reply_to == b"<orig@example.org>"
    assert message_id == b"<mp1@example.org>"
    # sender and reply-to default to from (RFC 9051 7.5.2)
    c.append("f2", simple_message("defaults"))
    f = one(c, "FETCH 2 ENVELOPE")
    env = f["ENVELOPE"]
    assert env[3] == env[2] and env[4] == env[2], env
    c.close()


def test_bodystructure_multipart(srv):
    c = imap_conn(srv)
    make_box(c, "f3", [MULTIPART])
    f = one(c, "FETCH 1 (BODYSTRUCTURE BODY)")
    bs = f["BODYSTRUCTURE"]
    # multipart: the parts, then the subtype and the extension data
    subtype_at = next(i for i, p in enumerate(bs) if not isinstance(p, list))
    assert bs[subtype_at].upper() == b"MIXED", bs
    assert len(bs[:subtype_at]) == 4, bs
    p1, p2, p3, p4 = bs[:4]
    assert (p1[0].upper(), p1[1].upper()) == (b"TEXT", b"PLAIN")
    assert [x.upper() for x in p1[2]] == [b"CHARSET", b"UTF-8"]
    assert p1[5].upper() == b"QUOTED-PRINTABLE"
    assert int(p1[6]) == len(SECTIONS["1"]), p1       # size in octets as sent
    assert int(p1[7]) in (1, 2), p1                     # lines (is the unterminated last one counted?)
    alt_sub = next(x for x in p2 if not isinstance(x, list))
    assert alt_sub.upper() == b"ALTERNATIVE" and len([x for x in p2 if isinstance(x, list)]) >= 2
    assert (p3[0].upper(), p3[1].upper(), p3[5].upper()) == (b"APPLICATION", b"OCTET-STREAM", b"BASE64")
    assert int(p3[6]) == len(SECTIONS["3"])
    assert (p4[0].upper(), p4[1].upper()) == (b"MESSAGE", b"RFC822")
    assert int(p4[6]) == len(SECTIONS["4"])
    assert p4[7][1] == b"inner message"                 # the inner ENVELOPE
    assert isinstance(p4[8], list)                     # the inner BODYSTRUCTURE
    # extension data: the boundary parameter
    ext = bs[subtype_at + 1]
    assert [x.upper() if isinstance(x, bytes) else x for x in ext] == [b"BOUNDARY", b"OUTER"], ext
    # the disposition of the attachment
    assert any(isinstance(x, list) and x and x[0] and x[0].upper() == b"ATTACHMENT" for x in p3), p3
    # BODY: no extension data
    body = f["BODY"]
    sub = next(i for i, p in enumerate(body) if not isinstance(p, list))
    assert body[sub].upper() == b"MIXED" and len(body) == sub + 1, body
    c.close()


def test_bodystructure_simple(srv):
    c = imap_conn(srv)
    msg = simple_message("plain", body="one\ntwo\nthree\n")
    make_box(c, "f3b", [msg])
    f = one(c, "FETCH 1 (BODYSTRUCTURE BODY.PEEK[TEXT])")
    bs = f["BODYSTRUCTURE"]
    assert (bs[0].upper(), bs[1].upper()) == (b"TEXT", b"PLAIN"), bs
    assert int(bs[6]) == len(f["BODY[TEXT]"]) and int(bs[7]) == 3, bs
    c.close()


def test_body_sections(srv):
    c = imap_conn(srv)
    make_box(c, "f4", [MULTIPART])
    for sec, want in SECTIONS.items():
        f = one(c, f"FETCH 1 BODY.PEEK[{sec}]")
        assert f[f"BODY[{sec}]"] == want, (sec, f)
    f = one(c, "FETCH 1 BODY.PEEK[]")
    assert f["BODY[]"] == MULTIPART
    f = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject From)]")
    got = f["BODY[HEADER.FIELDS (SUBJECT FROM)]"]
    assert got == (b'From: "Alice Example" <alice@example.org>\r\n'
                   b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= multipart\r\n\r\n"), got
    f = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Subject From Content-Type Date)]")
    got = f["BODY[HEADER.FIELDS.NOT (SUBJECT FROM CONTENT-TYPE DATE)]"]
    assert b"Subject:" not in got and b"From:" not in got and b"Date:" not in got
    assert b"X-Extra: one\r\n" in got and got.endswith(b"\r\n\r\n"), got
    # case-insensitive field names; a field that is absent gives just the blank line
    f = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (x-EXTRA no-such-field)]")
    assert list(f.values())[0] == b"X-Extra: one\r\n\r\n"
    f = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (no-such-field)]")
    assert list(f.values())[0] == b"\r\n"
    # a part that does not exist: empty
    f = one(c, "FETCH 1 BODY.PEEK[9]")
    assert f["BODY[9]"] in (b"", None), f
    # several sections in one FETCH
    f = one(c, "FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.2] BODY.PEEK[4.TEXT])")
    assert f["BODY[1]"] == SECTIONS["1"] and f["BODY[2.2]"] == SECTIONS["2.2"]
    assert f["BODY[4.TEXT]"] == SECTIONS["4.TEXT"]
    c.close()


def test_section_of_single_part_message(srv):
    c = imap_conn(srv)
    msg = simple_message("single", body="just text\n")
    make_box(c, "f4b", [msg])
    f = one(c, "FETCH 1 (BODY.PEEK[1] BODY.PEEK[TEXT])")
    # RFC 9051 6.4.5: part 1 of a non-multipart message is its body
    assert f["BODY[1]"] == f["BODY[TEXT]"] == b"just text\r\n", f
    c.close()


def test_peek_does_not_set_seen_body_does(srv):
    c = imap_conn(srv)
    make_box(c, "f5", [simple_message("a"), simple_message("b"), simple_message("c")])
    one(c, "FETCH 1 BODY.PEEK[]")
    one(c, "FETCH 1 BODY.PEEK[TEXT]")
    one(c, "FETCH 1 (RFC822.SIZE RFC822.HEADER)")       # RFC822.HEADER is a peek too
    assert one(c, "FETCH 1 FLAGS")["FLAGS"] == ["\\Recent"]
    one(c, "FETCH 1 BODY[TEXT]")
    assert one(c, "FETCH 1 FLAGS")["FLAGS"] == ["\\Recent", "\\Seen"]
    one(c, "FETCH 2 RFC822")
    assert one(c, "FETCH 2 FLAGS")["FLAGS"] == ["\\Recent", "\\Seen"]
    one(c, "FETCH 3 RFC822.TEXT")
    assert one(c, "FETCH 3 FLAGS")["FLAGS"] == ["\\Recent", "\\Seen"]
    # the flag is in the file name, for other Maildir readers
    cur = srv.maildir_path("alice") / ".f5" / "cur"
    assert all(p.name.endswith(":2,S") for p in cur.iterdir()), list(cur.iterdir())
    # and another session sees it
    c2 = imap_conn(srv)
    c2.ok("SELECT f5")
    r = c2.ok("SEARCH SEEN")
    assert search_numbers(r) == [1, 2, 3]
    c.close()
    c2.close()


def test_message_whose_file_vanished_gets_no_response(srv):
    """A message whose file another process removed after the session saw it
    (an expunge racing the FETCH): it gets no FETCH response at all, never
    `ENVELOPE NIL` (RFC 9051 7.5.2: ENVELOPE is a list; imaptest flagged it),
    the others are answered, and the tagged NO says so (RFC 5530
    EXPUNGEISSUED)."""
    c = imap_conn(srv)
    msgs = [simple_message(subject=f"vanish {i}") for i in range(3)]
    make_box(c, "vanish", msgs)
    cur = srv.maildir_path("alice") / ".vanish" / "cur"
    files = list(cur.iterdir())
    assert len(files) == 3, files
    second = next(p for p in files if b"vanish 1" in p.read_bytes())
    second.unlink()
    for items in ("ENVELOPE", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "BODYSTRUCTURE"):
        r = c.cmd(f"FETCH 1:3 {items}")
        assert (r.status, r.code) == ("NO", "EXPUNGEISSUED"), r
        assert sorted(fetch_all(r)) == [1, 3], r
        assert not any(b"ENVELOPE NIL" in u or b"BODYSTRUCTURE NIL" in u for u in r.untagged), r
    # FLAGS need no file: all three still answer
    assert sorted(fetch_all(c.ok("FETCH 1:3 FLAGS"))) == [1, 2, 3]
    c.close()


def test_fetch_body_reports_the_seen_flag(srv):
    """RFC 3501 6.4.5: when FETCH BODY[] sets \\Seen, the new flags SHOULD be in
    the FETCH response (else the client never learns of the change: the
    server counts it as already reported)."""
    c = imap_conn(srv)
    make_box(c, "f5b", [simple_message("a")])
    f = one(c, "FETCH 1 BODY[]")
    if "FLAGS" not in f:
        r = c.ok("NOOP")
        f = fetch_all(r).get(1, {})
    assert "\\Seen" in f.get("FLAGS", []), f
    c.close()


def test_partial_fetch(srv):
    c = imap_conn(srv)
    msg = simple_message("partial", body="0123456789" * 20)
    make_box(c, "f6", [msg])
    f = one(c, "FETCH 1 BODY.PEEK[]<0.10>")
    assert f["BODY[]<0>"] == msg[:10], f
    f = one(c, "FETCH 1 BODY.PEEK[]<5.20>")
    assert f["BODY[]<5>"] == msg[5:25]
    text = msg.split(b"\r\n\r\n", 1)[1]
    f = one(c, "FETCH 1 BODY.PEEK[TEXT]<3.7>")
    assert f["BODY[TEXT]<3>"] == text[3:10]
    f = one(c, f"FETCH 1 BODY.PEEK[]<{len(msg) - 4}.100>")
    assert f[f"BODY[]<{len(msg) - 4}>"] == msg[-4:]
    f = one(c, f"FETCH 1 BODY.PEEK[]<{len(msg) + 10}.5>")
    assert f[f"BODY[]<{len(msg) + 10}>"] == b""
    f = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]<0.5>")
    assert list(f.values())[0] == b"Subje"
    for bad in ("FETCH 1 BODY[]<0.0.1>", "FETCH 1 BODY[]<a.b>", "FETCH 1 BODY[]<5>",
                "FETCH 1 BODY[]<0.99999999999999999999999>"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad, r)
    c.close()


def test_rfc822_items(srv):
    c = imap_conn(srv)
    msg = simple_message("rfc822 items", body="the text\n")
    make_box(c, "f7", [msg])
    hdr, text = msg.split(b"\r\n\r\n", 1)
    f = one(c, "FETCH 1 (RFC822.HEADER RFC822.TEXT RFC822)")
    assert f["RFC822.HEADER"] == hdr + b"\r\n\r\n"
    assert f["RFC822.TEXT"] == text
    assert f["RFC822"] == msg
    c.close()


def test_large_fetch_streams(srv):
    """A FETCH of more than fits in the output buffer at once: everything arrives,
    in order, and the tagged OK comes last."""
    c = imap_conn(srv)
    big = simple_message("big", body=("x" * 1000 + "\n") * 400)  # ~400 KB
    make_box(c, "f9", [big] * 4)
    r = c.ok("FETCH 1:* BODY.PEEK[]", timeout=30)
    f = fetch_all(r)
    assert sorted(f) == [1, 2, 3, 4] and all(v["BODY[]"] == big for v in f.values())
    c.close()


# ---- sequence sets -------------------------------------------------------------------------------


def test_sequence_sets(srv):
    c = imap_conn(srv)
    make_box(c, "f8", [simple_message(f"s{i}") for i in range(1, 6)])
    def seqs(cmd):
        return sorted(fetch_all(c.ok(cmd)))
    assert seqs("FETCH 1:* UID") == [1, 2, 3, 4, 5]
    assert seqs("FETCH * UID") == [5]
    assert seqs("FETCH 2:3 UID") == [2, 3]
    assert seqs("FETCH 4:2 UID") == [2, 3, 4]
    assert seqs("FETCH *:4 UID") == [4, 5]
    assert seqs("FETCH 1,3,5 UID") == [1, 3, 5]
    assert seqs("FETCH 1:2,2:3 UID") == [1, 2, 3]
    for bad in ("FETCH 0 UID", "FETCH 0:2 UID", "FETCH -1 UID",
                "FETCH 1:a UID", "FETCH 1,,2 UID", "FETCH 1 NOSUCHITEM", "FETCH 1", "FETCH UID",
                "FETCH 4294967296 UID", "FETCH 1 (UID"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad, r)
    c.ok("NOOP")
    # UID FETCH: UIDs that do not exist are simply not there
    c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    r = c.ok("UID FETCH 1:* FLAGS")
    uids = sorted(int(v["UID"]) for v in fetch_all(r).values())
    assert uids == [1, 3, 4, 5], r                      # UID is always reported
    r = c.ok("UID FETCH 2 FLAGS")
    assert fetch_all(r) == {}
    r = c.ok("UID FETCH 100:200 FLAGS")
    # RFC 9051 6.4.8: "*" in 100:* is the highest UID: UID 5 is in the range
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [], r
    r = c.ok("UID FETCH 100:* FLAGS")
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [5], r
    r = c.ok("UID FETCH 3 (UID BODY.PEEK[HEADER.FIELDS (Subject)])")
    (seq, f), = fetch_all(r).items()
    assert seq == 2 and b"s3" in f["BODY[HEADER.FIELDS (SUBJECT)]"], r
    c.close()


def test_sequence_number_past_exists_is_bad(srv):
    """RFC 9051 6.4.5 / 9: a message sequence number greater than the number of
    messages is an error (BAD), unlike a UID that does not exist."""
    c = imap_conn(srv)
    make_box(c, "f8x", [simple_message("a"), simple_message("b")])
    for bad in ("FETCH 3 UID", "FETCH 1:3 FLAGS", "FETCH 2,5 FLAGS", "STORE 3 +FLAGS (\\Seen)",
                "COPY 3 INBOX", "MOVE 3 INBOX", "FETCH 4294967295 UID"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad, r)
    assert "\\Seen" not in str(c.ok("FETCH 1:2 FLAGS").untagged)
    c.close()


def test_fetch_in_an_empty_mailbox(srv):
    c = imap_conn(srv)
    make_box(c, "f8e", [])
    r = c.cmd("FETCH 1:* FLAGS")
    assert r.status in ("BAD", "OK") and fetch_all(r) == {}, r
    r = c.ok("UID FETCH 1:* FLAGS")
    assert fetch_all(r) == {}
    r = c.ok("SEARCH ALL")
    assert search_numbers(r) == []
    c.close()


def test_huge_sequence_sets(own_srv):
    c = imap_conn(own_srv)
    c.append("INBOX", simple_message("one"))
    c.ok("SELECT INBOX")
    many = ",".join(str(i) for i in range(1, 20001))
    r = c.cmd(f"UID FETCH {many} FLAGS")
    assert r.status in ("OK", "BAD"), r
    r = c.cmd("UID FETCH 1:4294967295 FLAGS")
    assert r.status == "OK" and len(fetch_all(r)) == 1, r
    r = c.cmd("UID SEARCH UID " + many)
    assert r.status in ("OK", "BAD"), r
    r = c.cmd("UID FETCH 4294967296 FLAGS")
    assert r.status == "BAD", r
    c.ok("NOOP")
    c.close()


# ---- ENVELOPE address lists ----------------------------------------------------------------------


MIME_MAX_ADDRESSES = 500        # IMAP_ENVELOPE_MAX_ADDRESSES, src/imap/imap_render.h


def folded(addresses, per_line=30):
    """An address list folded into lines of per_line addresses."""
    lines = [", ".join(addresses[i:i + per_line]) for i in range(0, len(addresses), per_line)]
    return ",\n ".join(lines)


BOMB_TAILS = {"tiny": "a", "groups": "g:;", "empty-angle": "<>", "at": "@"}


@pytest.mark.parametrize("kind", BOMB_TAILS)
def test_envelope_address_bomb(srv, kind):
    """~60 KiB of one tiny element repeated: the ENVELOPE lists the first
    addresses and at most MIME_MAX_ADDRESSES structures, well-formed."""
    tail = BOMB_TAILS[kind]
    n = 60 * 1024 // (len(tail) + 2)
    value = folded(["first@x.test", "second@y.test"] + [tail] * n)
    msg = crlf(f"From: sender@remote.test\nTo: {value}\nCc: ,,,,{',' * 1000}\n"
               f"Subject: bomb\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n\nbody\n")
    c = imap_conn(srv)
    make_box(c, f"env-{kind}", [msg])
    for _ in range(2):      # made from the message, then from the index cache
        r = c.ok("FETCH 1 ENVELOPE")
        # each structure ("(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")" at most) under 50
        assert len(r.untagged[0]) < MIME_MAX_ADDRESSES * 50 + 500, len(r.untagged[0])
        env = fetch_all(r)[1]["ENVELOPE"]
        to = env[5]
        assert to[0] == [None, None, b"first", b"x.test"], to[:2]
        assert to[1] == [None, None, b"second", b"y.test"], to[:2]
        assert MIME_MAX_ADDRESSES - 1 <= len(to) <= MIME_MAX_ADDRESSES, len(to)
        # group starts (host NIL, mailbox set) and ends (all NIL) pair up
        depth = 0
        for a in to:
            if a[3] is None and a[2] is not None:
                assert depth == 0, "nested group"
                depth += 1
            elif a[2] is None:
                assert depth == 1, "group end without start"
                depth -= 1
        assert depth == 0, "group left open"
        assert env[6] is None       # Cc of only commas: no address
    # the header itself is untouched
    hdr = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (To)]")["BODY[HEADER.FIELDS (TO)]"]
    assert hdr.count(tail.encode()) >= n
    c.close()


# ---- FETCH item names ----------------------------------------------------------------------------


IMAP_FETCH_NAME_MAX = 8192      # src/imap/imap_fetch.h, NUL included


def fetch_raw(c, text):
    r = c.cmd(text)
    return r, [u for u in r.untagged if re.match(rb"\d+ FETCH ", u)]


def test_fetch_long_header_field_list(srv):
    c = imap_conn(srv)
    make_box(c, "names", [simple_message("names")])
    # 200 names of 8 octets: a 1.8 KiB response name, rendered whole
    names = ["Subject"] + [f"X-F{i:05d}" for i in range(199)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "OK", r
    assert len(lines) == 1, r
    want = f"BODY[HEADER.FIELDS ({' '.join(names)})]".encode()
    assert lines[0].startswith(b"1 FETCH (" + want + b" {"), lines[0][:80]
    f = fetch_all(r)[1]
    assert f[want.decode().upper()] == b"Subject: names\r\n\r\n"
    # 300 names of ~8 octets: more names than one list may hold
    names = [f"X-F{i:05d}" for i in range(300)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    # names that would make a response name over IMAP_FETCH_NAME_MAX: BAD, nothing sent
    names = [f"X-{i:03d}-" + "n" * 60 for i in range(150)]
    r, lines = fetch_raw(c, f"FETCH 1 (UID BODY.PEEK[HEADER.FIELDS.NOT ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    assert "too long" in r.text, r
    # quoted names count with their escapes
    names = ['"' + f"{i:040d}" + '\\"' * 4 + '"' for i in range(170)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    names = names[:160]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})]<0.5>)")
    assert r.status == "OK" and len(lines) == 1, r
    want = f"BODY[HEADER.FIELDS ({' '.join(names)})]<0>".encode()
    assert lines[0].startswith(b"1 FETCH (" + want + b" "), lines[0][:80]
    assert len(want) < IMAP_FETCH_NAME_MAX
    # the session goes on
    assert one(c, "FETCH 1 UID")["UID"] == "1"
    c.close()


# ---- hostile messages ----------------------------------------------------------------------------


def test_deep_mime_nesting(own_srv):
    msg = deep_message(200)
    c = imap_conn(own_srv)
    assert c.append("INBOX", msg).status == "OK"
    c.ok("SELECT INBOX")
    t0 = time.monotonic()
    r = c.ok("FETCH 1 (BODYSTRUCTURE BODY ENVELOPE RFC822.SIZE)", timeout=20)
    assert time.monotonic() - t0 < 10
    data = b"".join(r.untagged)
    assert len(data) < 256 * 1024, len(data)
    # the nesting reported is bounded
    assert data.count(b"(") < 1000
    assert int(fetch_all(r)[1]["RFC822.SIZE"]) == len(msg)
    for depth in (200, 2000):                  # answered, or refused as too deep
        r = c.cmd("FETCH 1 BODY.PEEK[" + ".".join(["1"] * depth) + "]")
        assert r.status in ("OK", "BAD"), r
    r = c.ok("SEARCH TEXT innermost", timeout=20)
    assert search_numbers(r) == [1]
    r = c.ok("FETCH 1 BODY.PEEK[]")
    assert fetch_all(r)[1]["BODY[]"] == msg
    c.close()
    assert_alive(own_srv)


def test_five_thousand_parts(own_srv):
    msg = many_parts_message(5000)
    c = imap_conn(own_srv)
    assert c.append("INBOX", msg).status == "OK"
    c.ok("SELECT INBOX")
    t0 = time.monotonic()
    r = c.ok("FETCH 1 (BODYSTRUCTURE)", timeout=30)
    assert time.monotonic() - t0 < 15
    assert len(b"".join(r.untagged)) < 2 * 1024 * 1024
    # the parser keeps a bounded number of parts (mime.h MIME_MAX_PARTS); the
    # first ones are exact
    r = c.ok("FETCH 1 (BODY.PEEK[1] BODY.PEEK[500] BODY.PEEK[4999])", timeout=30)
    f = fetch_all(r)[1]
    assert f["BODY[1]"] == b"part 0"
    assert f["BODY[500]"] == b"part 499"
    r = c.ok("SEARCH BODY \"part 4999\"", timeout=30)
    assert search_numbers(r) == [1]
    c.close()
    assert_alive(own_srv)


def test_header_bomb(own_srv):
    """100,000 header fields and a 1 MB header line."""
    hdr = b"".join(b"X-H%d: v\r\n" % i for i in range(100000))
    msg = b"From: <h@remote.test>\r\nSubject: " + b"s" * (1 << 20) + b"\r\n" + hdr + b"\r\nbody\r\n"
    write_maildir(own_srv.maildir_path("alice"), [msg], host="bomb")
    c = imap_conn(own_srv)
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE RFC822.SIZE)", timeout=30)
    assert int(fetch_all(r)[1]["RFC822.SIZE"]) == len(msg)
    r = c.ok("SEARCH HEADER X-H99999 v", timeout=30)
    r = c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (X-H5)]", timeout=30)
    assert fetch_all(r)[1]["BODY[HEADER.FIELDS (X-H5)]"] == b"X-H5: v\r\n\r\n"
    c.close()
    assert_alive(own_srv)


# ---- memory --------------------------------------------------------------------------------------


def test_pipelining_without_reading_is_bounded(postern):
    """A client that pipelines FETCHes and never reads: the server stops reading
    once its output is queued, so memory stays bounded; everything arrives
    when the client reads at last."""
    s = imap_server(postern, config={"imap": {"session_memory_limit": "1M"}})
    c = imap_conn(s)
    big = simple_message("big", body=("z" * 1000 + "\n") * 200)          # ~200 KB
    assert c.append("INBOX", big).status == "OK"
    c.ok("SELECT INBOX")
    rss0 = rss_kib(s.pid)
    n = 300                                                             # ~60 MB of answers
    c.sock.setblocking(False)
    sent = 0
    payload = b"".join(b"p%d FETCH 1 BODY.PEEK[]\r\n" % i for i in range(n))
    deadline = time.monotonic() + 10
    while sent < len(payload) and time.monotonic() < deadline:
        try:
            sent += c.sock.send(payload[sent:sent + 65536])
        except (BlockingIOError, OSError):
            time.sleep(0.05)
    time.sleep(1.0)
    grown = rss_kib(s.pid) - rss0
    c.sock.setblocking(True)
    c.sock.settimeout(30)
    if sent < len(payload):
        c.sock.sendall(payload[sent:])
    got = c.until(lambda r: r.startswith(b"p%d " % (n - 1)), timeout=120)
    assert sum(1 for r in got if re.match(rb"p\d+ OK", r)) == n
    assert grown < 32 * 1024, f"RSS grew {grown} KiB with output the client did not read"
    c.close()


def test_fetch_of_many_copies_of_a_big_section_is_refused(postern):
    """One message's response is written whole: 100 x BODY.PEEK[]<n.count>
    of a 300 KB message (30 MB) against a 1 MB session budget is NO [LIMIT],
    the session lives on, and an ordinary FETCH of the message still works."""
    s = imap_server(postern, config={"imap": {"session_memory_limit": "1M"}})
    c = imap_conn(s)
    big = simple_message("big", body=("z" * 999 + "\n") * 300)
    assert c.append("INBOX", big).status == "OK"
    c.ok("SELECT INBOX")
    items = " ".join("BODY.PEEK[]<%d.300000>" % i for i in range(100))
    r = c.cmd("FETCH 1 (%s)" % items, timeout=30)
    assert r.status == "NO" and r.code == "LIMIT", r
    rss = rss_kib(s.pid)
    assert rss < 200 * 1024, rss
    r = c.ok("FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT]<0.100>)", timeout=30)
    assert len(fetch_all(r)[1]["BODY[]"]) > 300000
    c.close()
