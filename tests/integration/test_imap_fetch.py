"""IMAP message commands: FETCH (every data item, sections, partials, the \\Seen
side effect, sequence sets), STORE (flags, keywords, .SILENT, UNCHANGEDSINCE),
COPY / MOVE (UIDPLUS COPYUID), SEARCH (every key family, CHARSET, ESEARCH
RETURN options) and their UID forms.

One server for the module; each test fills a mailbox of its own with APPEND
(known flags and internal dates) and compares what FETCH sends with the
octets it appended."""
import re

import pytest

from imap_fixtures import (ALICE, crlf, deliver_smtp, fetch_all, imap_conn, imap_server,
                           module_server, search_numbers, simple_message, write_maildir)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


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


def make_box(c, name, messages, flags=None, dates=None):
    """CREATE name and APPEND the messages; SELECTs it; returns the SELECT Result."""
    c.ok(f'CREATE "{name}"')
    for i, m in enumerate(messages):
        r = c.append(name, m, flags=(flags or {}).get(i), date=(dates or {}).get(i))
        assert r.status == "OK", r
    return c.ok(f'SELECT "{name}"')


def one(c, cmd):
    r = c.ok(cmd)
    f = fetch_all(r)
    assert len(f) == 1, r
    return next(iter(f.values()))


# ---- FETCH -----------------------------------------------------------------------------------


def test_fetch_simple_items(srv):
    c = imap_conn(srv)
    msg = simple_message("items")
    make_box(c, "f1", [msg], flags={0: "\\Flagged"}, dates={0: "05-Mar-2026 08:09:10 +0000"})
    f = one(c, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ)")
    assert f["FLAGS"] == ["\\Flagged"]
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
    assert one(c, "FETCH 1 FLAGS")["FLAGS"] == []
    one(c, "FETCH 1 BODY[TEXT]")
    assert one(c, "FETCH 1 FLAGS")["FLAGS"] == ["\\Seen"]
    one(c, "FETCH 2 RFC822")
    assert one(c, "FETCH 2 FLAGS")["FLAGS"] == ["\\Seen"]
    one(c, "FETCH 3 RFC822.TEXT")
    assert one(c, "FETCH 3 FLAGS")["FLAGS"] == ["\\Seen"]
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


def test_flag_search_sees_current_flags(srv):
    """Flag-only searches are answered from the session's view when nothing
    changed; a change by this or another session is seen at once."""
    c = imap_conn(srv)
    make_box(c, "f5s", [simple_message(f"m{i}") for i in range(5)], flags={1: "\\Flagged"})
    assert search_numbers(c.ok("SEARCH FLAGGED")) == [2]
    assert search_numbers(c.ok("SEARCH UNFLAGGED NOT 1")) == [3, 4, 5]
    c2 = imap_conn(srv)
    c2.ok("SELECT f5s")
    c2.ok("STORE 4 +FLAGS.SILENT (\\Flagged)")
    assert search_numbers(c.ok("SEARCH FLAGGED")) == [2, 4]          # before any NOOP
    c.ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
    assert search_numbers(c.ok("UID SEARCH FLAGGED")) == [4]
    c.ok("NOOP")
    assert search_numbers(c.ok("SEARCH OR FLAGGED SEEN")) == [4]
    assert search_numbers(c2.ok("SEARCH FLAGGED")) == [4]
    c.close()
    c2.close()


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


# ---- STORE ----------------------------------------------------------------------------------


def test_store_flags(srv):
    c = imap_conn(srv)
    make_box(c, "s1", [simple_message("a"), simple_message("b")])
    r = c.ok("STORE 1 +FLAGS (\\Flagged)")
    assert fetch_all(r) == {1: {"FLAGS": ["\\Flagged"]}}, r
    r = c.ok("STORE 1 +FLAGS (\\Seen \\Answered)")
    assert set(fetch_all(r)[1]["FLAGS"]) == {"\\Flagged", "\\Seen", "\\Answered"}
    r = c.ok("STORE 1 -FLAGS (\\Flagged)")
    assert set(fetch_all(r)[1]["FLAGS"]) == {"\\Seen", "\\Answered"}
    r = c.ok("STORE 1 FLAGS (\\Draft)")
    assert fetch_all(r)[1]["FLAGS"] == ["\\Draft"]
    r = c.ok("STORE 1 FLAGS ()")
    assert fetch_all(r)[1]["FLAGS"] == []
    r = c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    assert fetch_all(r) == {}, r
    assert all(v["FLAGS"] == ["\\Deleted"] for v in fetch_all(c.ok("FETCH 1:2 FLAGS")).values())
    r = c.ok("STORE 2 FLAGS \\Seen")                   # a single flag without parentheses
    assert fetch_all(r)[2]["FLAGS"] == ["\\Seen"]
    r = c.ok("UID STORE 2 -FLAGS (\\Seen)")
    assert fetch_all(r)[2] == {"UID": "2", "FLAGS": []}, r
    # flags in the file names
    cur = srv.maildir_path("alice") / ".s1" / "cur"
    assert sorted(p.name.rsplit(":2,", 1)[1] for p in cur.iterdir()) == ["", "T"]
    for bad in ("STORE 1 +FLAGS (\\Bogus)", "STORE 1 +FLAGS (\\Recent)", "STORE 1 FLAGGED",
                "STORE 1 +FLAGS", "STORE 1 +FLAGS (\\Seen"):
        r = c.cmd(bad)
        assert r.status in ("BAD", "NO"), (bad, r)
    c.close()


def test_store_keywords(srv):
    c = imap_conn(srv)
    make_box(c, "s2", [simple_message("a")])
    r = c.ok("STORE 1 +FLAGS ($Forwarded Custom \\Seen)")
    assert set(fetch_all(r)[1]["FLAGS"]) == {"$Forwarded", "Custom", "\\Seen"}
    r = c.ok("STORE 1 -FLAGS (custom)")                 # keywords compare case-insensitively
    assert set(fetch_all(r)[1]["FLAGS"]) == {"$Forwarded", "\\Seen"}
    r = c.ok("STORE 1 +FLAGS ($forwarded)")
    assert [f for f in fetch_all(r)[1]["FLAGS"] if f.lower() == "$forwarded"] == ["$Forwarded"]
    r = c.ok("SEARCH KEYWORD $Forwarded")
    assert search_numbers(r) == [1]
    # keywords survive in the index across sessions
    c2 = imap_conn(srv)
    c2.ok("SELECT s2")
    assert "$Forwarded" in one(c2, "FETCH 1 FLAGS")["FLAGS"]
    c.close()
    c2.close()


def test_store_many_keywords_not_silently_lost(srv):
    """Sixty 10-octet keywords: either all are kept or the STORE is refused;
    dropping some while answering OK loses the client's data."""
    c = imap_conn(srv)
    make_box(c, "s3", [simple_message("a")])
    kws = [f"Keyword{i:03d}" for i in range(60)]
    r = c.cmd("STORE 1 +FLAGS (" + " ".join(kws) + ")")
    if r.status == "OK":
        got = set(one(c, "FETCH 1 FLAGS")["FLAGS"])
        assert set(kws) <= got, f"{len(set(kws) - got)} keywords lost"
    else:
        assert r.status == "NO", r
    c.close()


def test_store_unchangedsince(srv):
    c = imap_conn(srv)
    c.ok("ENABLE CONDSTORE")
    make_box(c, "s4", [simple_message("a"), simple_message("b")])
    ms1 = int(one(c, "FETCH 1 MODSEQ")["MODSEQ"][0])
    ms2 = int(one(c, "FETCH 2 MODSEQ")["MODSEQ"][0])
    r = c.ok(f"STORE 1 (UNCHANGEDSINCE {ms1}) +FLAGS (\\Flagged)")
    f = fetch_all(r)[1]
    new = int(f["MODSEQ"][0])
    assert new > max(ms1, ms2) and "\\Flagged" in f["FLAGS"], r
    # message 1 changed since: left alone, reported in MODIFIED; message 2 is changed
    r = c.cmd(f"STORE 1:2 (UNCHANGEDSINCE {max(ms1, ms2)}) +FLAGS (\\Seen)")
    assert r.status == "OK" and r.code == "MODIFIED 1", r
    assert "\\Seen" not in one(c, "FETCH 1 FLAGS")["FLAGS"]
    assert "\\Seen" in one(c, "FETCH 2 FLAGS")["FLAGS"]
    r = c.cmd("UID STORE 1 (UNCHANGEDSINCE 1) -FLAGS (\\Flagged)")
    assert r.code == "MODIFIED 1", r
    r = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % new)
    assert sorted(fetch_all(r)) == [2], r
    r = c.ok("SEARCH MODSEQ %d" % (new + 1))         # modseq >= n
    assert search_numbers(r) == [2], r
    c.close()


# ---- COPY / MOVE ----------------------------------------------------------------------------


def test_copy(srv):
    c = imap_conn(srv)
    msgs = [simple_message(f"c{i}") for i in range(3)]
    make_box(c, "cp1", msgs, flags={0: "\\Flagged $Label"}, dates={0: "01-Jan-2026 00:00:01 +0000"})
    c.ok("CREATE cp1dst")
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS cp1dst (UIDVALIDITY)").lines()[0]).group(1)
    r = c.ok("COPY 1:2 cp1dst")
    assert r.code == f"COPYUID {uv} 1:2 1:2", r
    r = c.ok("UID COPY 3 cp1dst")
    assert r.code == f"COPYUID {uv} 3 3", r
    r = c.cmd("COPY 1 nosuchbox")
    assert r.status == "NO" and r.code == "TRYCREATE", r
    r = c.ok("COPY 1 cp1")                              # into itself
    assert "4 EXISTS" in c.ok("NOOP").lines() or "4 EXISTS" in r.lines()
    c.ok("SELECT cp1dst")
    f = one(c, "FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
    assert set(f["FLAGS"]) == {"\\Flagged", "$Label"}, f
    assert f["INTERNALDATE"] == b"01-Jan-2026 00:00:01 +0000"
    assert f["BODY[]"] == msgs[0]
    # the copy is independent of the original
    c.ok("STORE 1 FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("SELECT cp1")
    f = one(c, "FETCH 1 (FLAGS BODY.PEEK[])")
    assert set(f["FLAGS"]) == {"\\Flagged", "$Label"} and f["BODY[]"] == msgs[0], f
    c.close()


def test_move(srv):
    c = imap_conn(srv)
    make_box(c, "mv1", [simple_message(f"m{i}") for i in range(4)])
    c.ok("CREATE mv1dst")
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS mv1dst (UIDVALIDITY)").lines()[0]).group(1)
    r = c.ok("MOVE 2:3 mv1dst")
    # RFC 6851: OK [COPYUID ...] untagged first, then the EXPUNGEs
    lines = r.lines()
    assert lines[0] == f"OK [COPYUID {uv} 2:3 1:2] Moved" or lines[0].startswith(f"OK [COPYUID {uv} 2:3 1:2]"), r
    ex = [l for l in lines[1:] if l.endswith("EXPUNGE")]
    assert ex in (["2 EXPUNGE", "2 EXPUNGE"], ["3 EXPUNGE", "2 EXPUNGE"]), r
    r = c.ok("UID MOVE 4 mv1dst")
    assert any(l.startswith(f"OK [COPYUID {uv} 4 3]") for l in r.lines()), r
    assert "2 EXPUNGE" in r.lines()
    r = c.ok("FETCH 1:* UID")
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [1]
    r = c.ok("STATUS mv1dst (MESSAGES)")
    assert "MESSAGES 3" in r.lines()[0]
    r = c.cmd("MOVE 1 nosuchbox")
    assert r.status == "NO" and r.code == "TRYCREATE", r
    c.ok("EXAMINE mv1")
    r = c.cmd("MOVE 1 mv1dst")
    assert r.status == "NO", r
    c.close()


# ---- SEARCH ----------------------------------------------------------------------------------


SEARCH_MSGS = [
    # (from, to, subject, body, internal date, Date: header, extra headers, flags)
    ("alice@example.org", "bob@example.org", "alpha report", "the quick brown fox\n",
     "01-Jan-2026 12:00:00 +0000", "Mon, 05 Jan 2026 12:00:00 +0000", [], "\\Seen"),
    ("bob@example.org", "carol@example.org", "beta", "lazy dog\n" + "p" * 5000 + "\n",
     "15-Feb-2026 12:00:00 +0000", "Thu, 19 Feb 2026 12:00:00 +0000", [], "\\Flagged"),
    ("carol@example.org", "dave@example.org", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "unicode Stra\u00dfe\n",
     "10-Mar-2026 12:00:00 +0000", "Sat, 14 Mar 2026 12:00:00 +0000", ["X-Custom: hello world"],
     "$Important"),
    ("dave@example.org", "alice@example.org", "alpha beta", "nothing here\n",
     "20-Mar-2026 12:00:00 +0000", "Tue, 24 Mar 2026 12:00:00 +0000", [], "\\Deleted \\Answered"),
]


@pytest.fixture
def search_box(srv):
    """A mailbox with SEARCH_MSGS at sequence 1..4 and UIDs 2..5 (UID 1 expunged)."""
    c = imap_conn(srv)
    name = f"sr{search_box.n}"
    search_box.n += 1
    c.ok(f"CREATE {name}")
    c.append(name, simple_message("placeholder"))
    for frm, to, subj, body, idate, hdate, extra, flags in SEARCH_MSGS:
        msg = crlf(f"From: <{frm}>\nTo: <{to}>\nSubject: {subj}\nDate: {hdate}\n"
                   + "".join(e + "\n" for e in extra)
                   + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                   + "Content-Transfer-Encoding: 8bit\n\n" + body)
        assert c.append(name, msg, flags=flags, date=idate).status == "OK"
    c.ok(f"SELECT {name}")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("UID EXPUNGE 1")
    yield c
    c.close()


search_box.n = 0

SEARCHES = [
    ("ALL", [1, 2, 3, 4]),
    ("SEEN", [1]), ("UNSEEN", [2, 3, 4]), ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4]),
    ("DELETED", [4]), ("UNDELETED", [1, 2, 3]), ("ANSWERED", [4]), ("UNANSWERED", [1, 2, 3]),
    ("DRAFT", []), ("UNDRAFT", [1, 2, 3, 4]),
    ("KEYWORD $Important", [3]), ("UNKEYWORD $Important", [1, 2, 4]), ("KEYWORD $Nothing", []),
    ("FROM alice", [1]), ("FROM ALICE@EXAMPLE.ORG", [1]), ("TO carol", [2]), ("CC anyone", []),
    ("BCC anyone", []),
    ("SUBJECT alpha", [1, 4]), ('SUBJECT "alpha beta"', [4]), ("SUBJECT ALPHA", [1, 4]),
    ("BODY fox", [1]), ("BODY alpha", []), ("TEXT alpha", [1, 4]), ("TEXT fox", [1]),
    ('HEADER X-Custom "hello world"', [3]), ('HEADER X-Custom ""', [3]), ("HEADER Subject beta", [2, 4]),
    ("LARGER 3000", [2]), ("SMALLER 3000", [1, 3, 4]),
    ("BEFORE 15-Feb-2026", [1]), ("SINCE 15-Feb-2026", [2, 3, 4]), ("ON 10-Mar-2026", [3]),
    ("ON 14-Mar-2026", []),
    ("SENTBEFORE 19-Feb-2026", [1]), ("SENTSINCE 19-Feb-2026", [2, 3, 4]), ("SENTON 14-Mar-2026", [3]),
    ("SENTON 10-Mar-2026", []),
    ("UID 2:3", [1, 2]), ("UID 4:*", [3, 4]), ("UID 1", []), ("2,4", [2, 4]), ("3:*", [3, 4]),
    ("NOT SEEN", [2, 3, 4]), ("OR FLAGGED DELETED", [2, 4]), ("NOT (OR SEEN FLAGGED)", [3, 4]),
    ("(FROM alice SEEN)", [1]), ("FROM alice FLAGGED", []), ("OR (FROM bob) (SUBJECT beta)", [2, 4]),
    ("OR OR SEEN FLAGGED DELETED", [1, 2, 4]), ("NOT NOT SEEN", [1]),
    ("SUBJECT alpha UNDELETED SINCE 01-Jan-2026", [1]),
]


@pytest.mark.parametrize("query,want", SEARCHES, ids=[q for q, _ in SEARCHES])
def test_search_keys(search_box, query, want):
    c = search_box
    assert search_numbers(c.ok(f"SEARCH {query}")) == want, query
    # UID SEARCH: the UIDs of the same messages (UID = seq + 1 here)
    assert search_numbers(c.ok(f"UID SEARCH {query}")) == [n + 1 for n in want], query


def test_search_charset_utf8(search_box):
    c = search_box
    word = "Stra\u00dfe".encode()
    c.send(b"u1 SEARCH CHARSET UTF-8 BODY {%d}\r\n" % len(word))
    assert c.read_response().startswith(b"+")
    c.send(word + b"\r\n")
    r = c.wait_tagged("u1")
    assert r.status == "OK" and search_numbers(r) == [3], r
    # an encoded-word Subject matches the decoded text
    word = "Gr\u00fc\u00dfe".encode()
    c.send(b"u2 SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s\r\n" % (len(word), word))
    r = c.wait_tagged("u2")
    assert r.status == "OK" and search_numbers(r) == [3], r
    r = c.ok("SEARCH CHARSET US-ASCII SUBJECT beta")
    assert search_numbers(r) == [2, 4]
    r = c.cmd("SEARCH CHARSET KOI8-R SUBJECT beta")
    assert r.status == "NO" and r.code and r.code.startswith("BADCHARSET"), r


def test_esearch_return_options(search_box):
    c = search_box
    r = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT alpha")
    es = r.lines("ESEARCH")
    assert len(es) == 1, r
    m = re.match(r'ESEARCH \(TAG "(\w+)"\) (.*)$', es[0])
    assert m and m.group(1) == r.tag, es
    items = m.group(2).split()
    got = dict(zip(items[::2], items[1::2]))
    assert got == {"MIN": "1", "MAX": "4", "COUNT": "2", "ALL": "1,4"}, es
    assert not r.lines("SEARCH ")
    r = c.ok("UID SEARCH RETURN (COUNT) ALL")
    assert re.fullmatch(r'ESEARCH \(TAG "\w+"\) UID COUNT 4', r.lines("ESEARCH")[0]), r
    r = c.ok("SEARCH RETURN () UNSEEN")
    assert r.lines("ESEARCH")[0].endswith(" ALL 2:4"), r
    r = c.ok("SEARCH RETURN (MIN MAX) KEYWORD $Nothing")
    assert re.fullmatch(r'ESEARCH \(TAG "\w+"\)', r.lines("ESEARCH")[0]), r
    r = c.ok("SEARCH RETURN (COUNT) KEYWORD $Nothing")
    assert r.lines("ESEARCH")[0].endswith(" COUNT 0"), r
    r = c.cmd("SEARCH RETURN (BOGUS) ALL")
    assert r.status == "BAD", r


def test_search_errors(postern):
    """Malformed SEARCH: BAD, and nothing leaks (own server: the teardown check
    of LeakSanitizer's report belongs to this test)."""
    s = imap_server(postern)
    c = imap_conn(s)
    make_box(c, "se1", [simple_message("x")])
    for bad in ("SEARCH", "SEARCH BOGUS", "SEARCH BEFORE notadate", "SEARCH BEFORE 32-Jan-2026",
                "SEARCH (SEEN", "SEARCH SEEN)", "SEARCH OR SEEN", "SEARCH NOT", "SEARCH LARGER x",
                "SEARCH LARGER -1", "SEARCH UID x", "SEARCH HEADER", "SEARCH 1:x", "SEARCH FROM",
                "SEARCH " + "(" * 100 + "ALL" + ")" * 100, "SEARCH " + "NOT " * 100 + "ALL"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad[:60], r)
    c.ok("NOOP")
    c.close()


def test_search_sees_new_flags(search_box):
    c = search_box
    c.ok("STORE 3 +FLAGS (\\Seen)")
    assert search_numbers(c.ok("SEARCH SEEN")) == [1, 3]
    assert c.append("INBOX", simple_message("elsewhere")).status == "OK"
    assert search_numbers(c.ok("SEARCH ALL")) == [1, 2, 3, 4]
