"""IMAP BINARY (RFC 3516, RFC 9051 6.4.5): FETCH BINARY[part], BINARY.PEEK[part]<partial>
and BINARY.SIZE[part] return a part's content decoded from its Content-Transfer-Encoding
(base64, quoted-printable; 7bit, 8bit and binary as they are), as a literal8 ~{n} when it
holds a NUL, and an encoding the server does not know fails the FETCH with
NO [UNKNOWN-CTE] (RFC 3516 4.2).

One server for the module; each test works in a mailbox of its own. imaplib does not read
literal8, so the raw client (IMAPConn) is used throughout."""
import base64
import re

import pytest

from imap_fixtures import srv, crlf, fetch_items, imap_conn, module_server, write_maildir


# NULs, every octet value, and an 8-bit tail
BLOB = bytes(range(256)) * 2 + b"\x00\x00end\xff"


def b64_lines(data):
    """base64 in lines of 76 characters, as encoders write it."""
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))


SINGLE_B64 = crlf(f"""\
From: <sender@remote.test>
To: <alice@example.org>
Subject: base64 blob
MIME-Version: 1.0
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

{b64_lines(BLOB)}
""")

QP_TEXT = ("Gr=C3=BC=C3=9Fe aus K=c3=b6ln, a long line that is cut here =\n"
           "and goes on; trailing blanks go   \n"
           "1+1=2 stays, =3D is one equal sign\n")
QP_DECODED = ("Grüße aus Köln, a long line that is cut here and goes on; trailing blanks go\r\n"
              "1+1=2 stays, = is one equal sign\r\n").encode()

ZIP_BYTES = b"PK\x03\x04\x00\x00binary\x00payload"
MULTIPART = crlf(f"""\
From: <sender@remote.test>
To: <alice@example.org>
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{QP_TEXT}
--outer
Content-Type: application/zip
Content-Transfer-Encoding: BASE64

{b64_lines(ZIP_BYTES)}
--outer
Content-Type: text/plain
Content-Transfer-Encoding: 7bit

Plain seven bit text, =3D not decoded.
--outer
Content-Type: message/rfc822

From: inner@remote.test
Subject: inner
Content-Transfer-Encoding: base64

aW5uZXIgYm9keQ==
--outer--
epilogue
""")
# multipart bodies end before the line end that precedes the boundary (RFC 2046 5.1.1)
SEVEN_BIT = b"Plain seven bit text, =3D not decoded."
INNER_MESSAGE = (b"From: inner@remote.test\r\nSubject: inner\r\nContent-Transfer-Encoding: "
                 b"base64\r\n\r\naW5uZXIgYm9keQ==")

UNKNOWN_CTE = crlf("""\
From: <sender@remote.test>
To: <alice@example.org>
Subject: uuencoded
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

readable
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: x-uuencode

begin 644 file.bin
#86)C
`
end
--b--
""")


# ---- helpers ---------------------------------------------------------------------------------


LITERAL = re.compile(rb"(\S+) (~?)\{(\d+)\}\r\n")


def plain_literals(data):
    """(data with each literal8 ~{n} made a plain {n} literal, names of the items sent as
    literal8). Walks literal by literal so the octets inside one are never looked at."""
    out, pos, names = b"", 0, set()
    while True:
        m = LITERAL.search(data, pos)
        if not m:
            return out + data[pos:], names
        end = m.end() + int(m.group(3))
        if m.group(2):
            names.add(m.group(1).lstrip(b"(").decode().upper())
        out += data[pos:m.start(2)] + data[m.end(2):end]
        pos = end


def fetch_one(c, cmd):
    """Runs a FETCH of one message: (items, names of the items sent as literal8)."""
    r = c.ok(cmd)
    fetches = [u for u in r.untagged if re.match(rb"\d+ FETCH ", u)]
    assert len(fetches) == 1, r
    data, names = plain_literals(fetches[0])
    return fetch_items(data)[1], names


def make_box(c, name, messages):
    c.ok(f'CREATE "{name}"')
    for m in messages:
        r = c.append(name, m)
        assert r.status == "OK", r
    c.ok(f'SELECT "{name}"')


def flags_of(c, seq):
    """The message's flags but \\Recent (the session that made the mailbox
    is the first to select it: its messages are \\Recent there)."""
    return [f for f in fetch_one(c, f"FETCH {seq} FLAGS")[0]["FLAGS"] if f != "\\Recent"]


# ---- decoding --------------------------------------------------------------------------------


def test_base64_with_nuls_is_literal8(srv):
    c = imap_conn(srv)
    make_box(c, "b1", [SINGLE_B64])
    f, lit8 = fetch_one(c, "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert f["BINARY[1]"] == BLOB
    assert "BINARY[1]" in lit8, lit8
    assert int(f["BINARY.SIZE[1]"]) == len(BLOB)
    # the exact octets on the wire
    r = c.ok("FETCH 1 BINARY.PEEK[1]")
    assert r.untagged[0] == b"1 FETCH (BINARY[1] ~{%d}\r\n" % len(BLOB) + BLOB + b")"
    # BODY still gives the encoded text
    f, lit8 = fetch_one(c, "FETCH 1 BODY.PEEK[1]")
    assert base64.b64decode(f["BODY[1]"]) == BLOB and not lit8
    c.close()


def test_binary_partial_counts_decoded_octets(srv):
    c = imap_conn(srv)
    make_box(c, "b2", [SINGLE_B64])
    f, lit8 = fetch_one(c, "FETCH 1 BINARY.PEEK[1]<2.5>")
    assert f["BINARY[1]<2>"] == BLOB[2:7] == b"\x02\x03\x04\x05\x06"
    assert not lit8, "no NUL in the octets sent: a plain literal"
    f, lit8 = fetch_one(c, "FETCH 1 BINARY.PEEK[1]<0.3>")
    assert f["BINARY[1]<0>"] == b"\x00\x01\x02" and lit8 == {"BINARY[1]<0>"}
    tail = len(BLOB) - 4
    f, _ = fetch_one(c, f"FETCH 1 BINARY.PEEK[1]<{tail}.100>")
    assert f[f"BINARY[1]<{tail}>"] == b"\x00end\xff"[-4:]
    f, _ = fetch_one(c, f"FETCH 1 BINARY.PEEK[1]<{len(BLOB) + 5}.10>")
    assert f[f"BINARY[1]<{len(BLOB) + 5}>"] == b""
    # RFC 3516: BINARY.SIZE takes no partial range; BINARY takes part numbers only
    for bad in ("FETCH 1 BINARY.SIZE[1]<0.2>", "FETCH 1 BINARY[1.MIME]", "FETCH 1 BINARY[TEXT]",
                "FETCH 1 BINARY[HEADER]", "FETCH 1 BINARY[0]", "FETCH 1 BINARY[1]<2>"):
        assert c.cmd(bad).status == "BAD", bad
    c.close()


def test_multipart_parts_decoded_by_their_encoding(srv):
    c = imap_conn(srv)
    make_box(c, "b3", [MULTIPART])
    f, lit8 = fetch_one(c, "FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.PEEK[3] "
                           "BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])")
    assert f["BINARY[1]"] == QP_DECODED                 # quoted-printable
    assert f["BINARY[2]"] == ZIP_BYTES                  # base64, the right part
    assert f["BINARY[3]"] == SEVEN_BIT                  # 7bit: as it is
    assert lit8 == {"BINARY[2]"}, lit8
    for part in ("1", "2", "3"):
        assert int(f[f"BINARY.SIZE[{part}]"]) == len(f[f"BINARY[{part}]"]), part
    # a message/rfc822 part is not decoded; the body of the message in it is
    f, _ = fetch_one(c, "FETCH 1 (BINARY.PEEK[4] BINARY.SIZE[4] BINARY.PEEK[4.1])")
    assert f["BINARY[4]"] == INNER_MESSAGE
    assert int(f["BINARY.SIZE[4]"]) == len(INNER_MESSAGE)
    assert f["BINARY[4.1]"] == b"inner body"
    # BINARY[], the whole message: as it is, like BODY[]
    f, _ = fetch_one(c, "FETCH 1 (BINARY.PEEK[] BINARY.SIZE[] BODY.PEEK[])")
    assert f["BINARY[]"] == f["BODY[]"] == MULTIPART
    assert int(f["BINARY.SIZE[]"]) == len(MULTIPART)
    # a part that does not exist: empty, as for BODY[9]
    f, _ = fetch_one(c, "FETCH 1 (BINARY.PEEK[9] BINARY.SIZE[9])")
    assert f["BINARY[9]"] in (b"", None) and int(f["BINARY.SIZE[9]"]) == 0, f
    c.close()


def test_qp_partial_and_lf_stored_message(srv):
    """The decoded text has CRLF line ends whatever the file has (here LF, as a
    delivery agent writes it); identity parts are sent in CRLF form as BODY is."""
    c = imap_conn(srv)
    c.ok('CREATE "b4"')
    write_maildir(srv.maildir_path("alice") / ".b4", [MULTIPART.replace(b"\r\n", b"\n")],
                  host="binarytest")
    c.ok('SELECT "b4"')
    f, _ = fetch_one(c, "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[3] BINARY.SIZE[3] "
                        "BINARY.PEEK[2])")
    assert f["BINARY[1]"] == QP_DECODED and int(f["BINARY.SIZE[1]"]) == len(QP_DECODED)
    assert f["BINARY[3]"] == SEVEN_BIT and int(f["BINARY.SIZE[3]"]) == len(SEVEN_BIT)
    assert f["BINARY[2]"] == ZIP_BYTES
    start = QP_DECODED.index("Köln".encode())
    f, _ = fetch_one(c, f"FETCH 1 BINARY.PEEK[1]<{start}.5>")
    assert f[f"BINARY[1]<{start}>"] == "Köln".encode()
    c.close()


def test_identity_part_with_nul_is_literal8(srv):
    """A Content-Transfer-Encoding: binary part goes out as it is, as a literal8
    when it holds a NUL (such a file can only come from a delivery agent)."""
    raw = (b"From: <sender@remote.test>\r\nSubject: raw binary\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
           b"\r\n\x00\x01raw\x00data\xfe")
    c = imap_conn(srv)
    c.ok('CREATE "b5"')
    write_maildir(srv.maildir_path("alice") / ".b5", [raw], host="binarytest")
    c.ok('SELECT "b5"')
    f, lit8 = fetch_one(c, "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    content = raw.split(b"\r\n\r\n", 1)[1]
    assert f["BINARY[1]"] == content and lit8 == {"BINARY[1]"}
    assert int(f["BINARY.SIZE[1]"]) == len(content)
    c.close()


def append8(c, mailbox, message):
    """APPEND with a literal8 (RFC 3516 4.4), synchronising."""
    tag = c.next_tag()
    c.send(f"{tag} APPEND {mailbox} ~{{{len(message)}}}\r\n".encode())
    assert c.read_response().startswith(b"+")
    c.send(message + b"\r\n")
    return c.wait_tagged(tag)


def test_appended_binary_part_comes_back_exactly(srv):
    """A binary part APPENDed as a literal8, with a NUL, bare LFs and a CRLF:
    BINARY[1] gives its octets back and BINARY.SIZE[1] counts them (the
    Maildir file is text lines: it was stored LF-converted and came back
    with every LF made CRLF, 9 octets for 7); kept in base64, BODY[1] shows
    text (as Dovecot, which converts such parts). Also inside a multipart."""
    body = b"\x00-\xe4\n\r\n\n"
    single = (b"From: user@domain.org\r\nMime-Version: 1.0\r\n"
              b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
              b"\r\n" + body)
    multi = (b"From: user@domain.org\r\nMime-Version: 1.0\r\n"
             b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
             b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
             b"--b\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Transfer-Encoding:\r\n binary\r\n\r\n" + body + b"\r\n--b--\r\n")
    c = imap_conn(srv)
    c.ok('CREATE "b8"')
    for m in (single, multi):
        r = append8(c, "b8", m)
        assert r.status == "OK", r
    c.ok('SELECT "b8"')
    for seq, part in ((1, "1"), (2, "2")):
        f, _ = fetch_one(c, f"FETCH {seq} (BINARY.SIZE[{part}] BINARY.PEEK[{part}] BODY.PEEK[{part}])")
        assert int(f[f"BINARY.SIZE[{part}]"]) == len(body), f
        assert f[f"BINARY[{part}]"] == body, f
        assert b"\x00" not in f[f"BODY[{part}]"] and b"\x00" in body
    f, _ = fetch_one(c, "FETCH 2 (BINARY.PEEK[1] BODY.PEEK[2.MIME])")
    assert f["BINARY[1]"] == b"hello", f
    assert b"Content-Transfer-Encoding: base64" in f["BODY[2.MIME]"], f
    c.close()


# ---- unknown encodings -----------------------------------------------------------------------


def test_unknown_cte_fails_the_fetch(srv):
    c = imap_conn(srv)
    make_box(c, "b6", [SINGLE_B64, UNKNOWN_CTE, SINGLE_B64])
    for cmd in ("FETCH 2 BINARY.PEEK[2]", "FETCH 2 BINARY.SIZE[2]", "FETCH 2 BINARY[2]",
                "UID FETCH 2 (FLAGS BINARY.PEEK[2])", "FETCH 2 (BINARY.PEEK[1] BINARY.PEEK[2])"):
        r = c.cmd(cmd)
        assert r.status == "NO" and r.code == "UNKNOWN-CTE", (cmd, r)
        # nothing of the failed message's response was sent
        assert not [u for u in r.untagged if u.startswith(b"2 FETCH")], (cmd, r)
    # the failed FETCH did not mark the message read
    assert flags_of(c, 2) == []
    # the other parts, and BODY of that part, are still readable
    f, _ = fetch_one(c, "FETCH 2 (BINARY.PEEK[1] BODY.PEEK[2])")
    assert f["BINARY[1]"] == b"readable" and f["BODY[2]"].startswith(b"begin 644")
    # in a range: the messages before it are answered, then the FETCH ends
    r = c.cmd("FETCH 1:3 BINARY.SIZE[1]")
    assert r.status == "OK", r       # part 1 of message 2 is text/plain
    r = c.cmd("FETCH 1:3 BINARY.SIZE[2]")
    assert r.status == "NO" and r.code == "UNKNOWN-CTE", r
    assert [u[:8] for u in r.untagged] == [b"1 FETCH "], r
    # the connection goes on
    c.ok("NOOP")
    f, _ = fetch_one(c, "FETCH 3 BINARY.SIZE[1]")
    assert int(f["BINARY.SIZE[1]"]) == len(BLOB)
    c.close()


# ---- \Seen -----------------------------------------------------------------------------------


def test_binary_sets_seen_peek_and_size_do_not(srv):
    c = imap_conn(srv)
    make_box(c, "b7", [SINGLE_B64, SINGLE_B64])
    fetch_one(c, "FETCH 1 BINARY.PEEK[1]")
    fetch_one(c, "FETCH 1 BINARY.SIZE[1]")
    assert flags_of(c, 1) == []
    f, _ = fetch_one(c, "FETCH 1 BINARY[1]<0.4>")
    assert f["BINARY[1]<0>"] == BLOB[:4]
    # RFC 3501 6.4.5: the \Seen this FETCH set is reported with it
    assert "\\Seen" in f.get("FLAGS", []), f
    assert flags_of(c, 1) == ["\\Seen"]
    assert flags_of(c, 2) == []
    c.close()
