"""SMTP message data on the MX service: DATA (RFC 5321 4.1.1.4) with
dot-stuffing (4.5.2), the end of data split over packets, empty messages, the
text line limit (4.5.3.1.6: 1000 octets) and a line that never ends, the data
timeout; BDAT (RFC 3030 CHUNKING) in chunks, pipelined, without a transaction,
mixed with DATA, malformed; bare CR and LF and the SMTP smuggling they allow
(RFC 5321 2.3.8, 4.1.1.4); NUL octets in message data (RFC 2045 2.7-2.8);
message size (RFC 1870 SIZE, limits.message_size) for DATA and BDAT, to the
octet, and BDAT sizes never allocated."""
import time

import pytest

from conftest import (HOST, QUEUED, SMTPClient, free_port, make_message, split_delivered,
                      start_data)


# ---- DATA ----------------------------------------------------------------------------------------


def test_dot_stuffing(server):
    body = b"From: <s@remote.test>\r\nSubject: dots\r\n\r\n..leading dot\r\n.\x2e\r\n...\r\nend\r\n"
    with server.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], body).code == 250
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == (b"From: <s@remote.test>\nSubject: dots\n\n"
                                        b".leading dot\n.\n..\nend\n")


def test_empty_message(postern):
    lmtp_port = free_port()
    srv = postern(config={"listen": {"lmtp": [f"{HOST}:{lmtp_port}"]}})
    # on port 25 an empty message is read whole and then refused: it has no From:
    with srv.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], b"")
        assert (r.code, r.enh) == (550, "5.6.0"), r
        assert "no From:" in r.text, r
        # the least it takes: one field, no empty line, no body
        r = c.send_message("s@remote.test", ["alice@example.org"], b"From: <s@remote.test>\r\n",
                           ehlo=False)
        assert r.code == 250, r
    [data] = srv.messages("alice")
    assert split_delivered(data)[1] == b"From: <s@remote.test>\n"
    # over LMTP (no syntax check) the empty message is stored, empty
    with SMTPClient(lmtp_port) as c:
        c.cmd("LHLO mta.example.net", expect=250)
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<bob@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    [data] = srv.messages("bob")
    trace, body = split_delivered(data)
    assert body == b""


def test_dot_split_across_packets_still_ends_data(server):
    with server.connect() as c:
        start_data(c)
        for piece in (b"From: <s@remote.test>\r\nSubject: split\r\n\r\nbody\r", b"\n", b".",
                      b"\r", b"\n"):
            c.send(piece)
            time.sleep(0.05)
        r = c.reply()
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == b"From: <s@remote.test>\nSubject: split\n\nbody\n"


def test_text_line_limit_in_data(server):
    ok_line = b"x" * 998 + b"\r\n"          # 1000 octets with CRLF: allowed
    long_line = b"y" * 999 + b"\r\n"        # 1001 octets: refused
    with server.connect() as c:
        start_data(c)
        c.send(b"From: <s@remote.test>\r\nSubject: ok\r\n\r\n" + ok_line + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(b"From: <s@remote.test>\r\nSubject: too long\r\n\r\n" + long_line +
               b"after\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (500, "5.5.2"), r
        # the message is gone, the session is not
        assert c.cmd("NOOP").code == 250
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
    msgs = server.messages("alice")
    assert len(msgs) == 1
    assert b"x" * 998 + b"\n" in msgs[0]
    assert server.maildir("alice", sub="tmp") == []


def test_very_long_data_line_is_not_buffered(server):
    # 2 MiB without a line end must not be a problem (no unbounded line buffer)
    with server.connect() as c:
        start_data(c)
        chunk = b"z" * 65536
        for _ in range(32):
            c.send(chunk)
        c.send(b"\r\n.\r\n")
        r = c.reply(timeout=30)
        assert (r.code, r.enh) == (500, "5.5.2"), r
    assert server.maildir("alice") == []


def test_data_timeout_delivers_nothing(postern):
    srv = postern(config={"timeouts": {"data": "2s", "command": "30s"}})
    with srv.connect() as c:
        start_data(c)
        c.send(b"Subject: slow\r\n\r\nhalf a message")
        r = c.reply(timeout=8)
        assert (r.code, r.enh) == (421, "4.4.2"), r
        assert c.is_closed(timeout=3)
    assert srv.all_delivered() == []
    [t] = srv.transactions()
    assert t["result"] == "timeout"


# ---- BDAT ----------------------------------------------------------------------------------------


def test_bdat_multi_chunk(server):
    part1 = b"Subject: chunked\r\nFrom: <c@remote.test>\r\n\r\n"
    part2 = b"first part, "
    part3 = b"last part\r\n.leading dot stays\r\n"
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<c@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        r = c.expect(250, "2.0.0")
        c.send(b"BDAT %d\r\n" % len(part2) + part2)
        c.expect(250, "2.0.0")
        c.send(b"BDAT %d LAST\r\n" % len(part3) + part3)
        r = c.reply()
        assert r.code == 250 and QUEUED.match(r.text), r
        # DATA after a finished BDAT transaction is a new transaction: fine
        c.cmd("NOOP", expect=250)
    [data] = server.messages("alice")
    _, body = split_delivered(data)
    # BDAT content is not dot-unstuffed; line ends become LF in the Maildir
    assert body == (part1 + part2 + part3).replace(b"\r\n", b"\n")


def test_bdat_pipelined_with_zero_last(server):
    payload = b"From: <z@remote.test>\r\nSubject: zero last\r\n\r\nbody\r\n"
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<z@remote.test>\r\nRCPT TO:<bob@example.org>\r\n"
               b"BDAT %d\r\n" % len(payload) + payload + b"BDAT 0 LAST\r\n")
        r = c.replies(4)
        assert [x.code for x in r] == [250, 250, 250, 250], r
        assert QUEUED.match(r[3].text), r
    [data] = server.messages("bob")
    assert split_delivered(data)[1] == payload.replace(b"\r\n", b"\n")


def test_bdat_without_mail_consumes_chunk(server):
    chunk = b"QUIT\r\nRSET\r\n"     # must be swallowed as data, never executed
    with server.connect() as c:
        c.ehlo()
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        c.expect(503, "5.5.1")
        r = c.reply()
        assert (r.code, r.enh) == (250, "2.0.0"), f"chunk content was executed: {r}"
        assert c.cmd("NOOP").code == 250
        # and BDAT with MAIL but no recipients: 554, chunk consumed too
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.send(b"BDAT 6 LAST\r\nQUIT\r\n" + b"NOOP\r\n")
        c.expect(554, "5.5.1")
        c.expect(250, "2.0.0")
    assert server.all_delivered() == []


def test_data_after_bdat_refused(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        head = b"From: <x@remote.test>\r\n\r\nhello"
        c.send(b"BDAT %d\r\n" % len(head) + head)
        c.expect(250)
        r = c.cmd("DATA")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.send(b"BDAT 2 LAST\r\n\r\n")
        r = c.reply()
        assert r.code == 250 and QUEUED.match(r.text), r
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == b"From: <x@remote.test>\n\nhello\n"


def test_bdat_bad_syntax_closes(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT ten\r\n")
        c.expect(501, "5.5.4")
        assert c.is_closed()
    assert server.maildir("alice") == []


# ---- SMTP smuggling ------------------------------------------------------------------------------


SMUGGLE_ENDS = {
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",
}


@pytest.mark.parametrize("end", SMUGGLE_ENDS.values(), ids=SMUGGLE_ENDS.keys())
def test_smuggling_bare_line_ends(server, end):
    smuggled = (b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled body\r\n")
    with server.connect() as c:
        start_data(c)
        c.send(b"Subject: carrier\r\n\r\nhello" + end + smuggled + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (550, "5.5.2"), f"expected one 550 for the whole thing, got {r}"
        # no reply to a smuggled command may follow: the next reply is our NOOP's
        r = c.cmd("NOOP")
        assert (r.code, r.enh) == (250, "2.0.0"), r
        assert c.buf == b""
    assert server.all_delivered() == [], "a message with bare CR/LF was delivered"
    assert [t["result"] for t in server.transactions()] == ["rejected: bare CR/LF"]


@pytest.mark.parametrize("body", [b"Subject: x\r\n\r\nbare\nlf\r\n", b"Subject: x\r\n\r\nbare\rcr\r\n",
                                  b"Subject: x\r\n\r\nends with cr\r\r\n"])
def test_bare_cr_or_lf_refused(server, body):
    with server.connect() as c:
        start_data(c)
        c.send(body + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (550, "5.5.2"), r
    assert server.all_delivered() == []


# ---- NUL octets in message data ------------------------------------------------------------
# RFC 2045 2.7, 2.8: only BINARYMIME data (not offered) may hold NUL. A next hop that
# ends a line or the data at a NUL would see "\r\n\0.\r\n" as the end of the message and
# run what follows as commands (smuggling), so the whole message is refused.


SMUGGLED = (b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled body\r\n")


NUL_BODIES = {
    "after-line-break": b"Subject: carrier\r\n\r\nhello\r\n\x00.\r\n" + SMUGGLED,
    "mid-line": b"Subject: nul\r\n\r\nbefore\x00after NUL\r\nnext line\r\n",
    "in-header": b"Subject: n\x00l\r\n\r\nbody\r\n",
    "last-octet": b"Subject: nul\r\n\r\nbody\x00\r\n",
}


def assert_nul_refused(server, r):
    assert (r.code, r.enh) == (550, "5.6.0"), r
    assert "NUL" in r.text, r
    assert [t["result"] for t in server.wait_log("smtp.transaction")] == ["rejected: NUL octet"]


@pytest.mark.parametrize("body", NUL_BODIES.values(), ids=NUL_BODIES.keys())
def test_nul_in_data_refused(server, body):
    with server.connect() as c:
        start_data(c)
        c.send(body + b".\r\n")
        r = c.reply()
        # one reply for the whole thing: no smuggled command ran
        assert_nul_refused(server, r)
        r = c.cmd("NOOP")
        assert (r.code, r.enh) == (250, "2.0.0"), r
        assert c.buf == b""
        assert server.all_delivered() == [], "a message with a NUL was stored"
        # the session goes on: a clean message is accepted
        r = c.send_message("s@remote.test", ["alice@example.org"], make_message(subject="clean"),
                           ehlo=False)
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert b"Subject: clean" in data and b"\x00" not in data
    assert server.maildir("bob") == []
    assert server.maildir("alice", sub="tmp") == []
    assert [t["result"] for t in server.transactions()] == ["rejected: NUL octet", "accepted"]


@pytest.mark.parametrize("chunks", [
    [b"Subject: nul\r\n\r\nbefore\x00after\r\n"],                          # one LAST chunk
    [b"Subject: nul\r\n\r\nhello\r\n\x00.\r\n", SMUGGLED],                   # NUL in the first
    [b"Subject: nul\r\n\r\nhello\r\n", b"\x00", b"tail\r\n"],               # NUL alone
], ids=["last-chunk", "first-chunk", "middle-chunk"])
def test_nul_in_bdat_refused(server, chunks):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        for chunk in chunks[:-1]:
            c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1])
        r = c.reply()
        assert_nul_refused(server, r)
        # the transaction is over, nothing of it was stored
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        assert server.all_delivered() == []
        # and the session still works, with BDAT too
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        msg = make_message(subject="clean bdat")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert b"Subject: clean bdat" in data and b"\x00" not in data
    assert server.maildir("alice", sub="tmp") == []
    assert [t["result"] for t in server.transactions()] == ["rejected: NUL octet", "accepted"]


def test_nul_in_refused_bdat_chunk_does_not_taint_next_message(server):
    # a chunk read only to be discarded (no MAIL yet) is not part of any message
    chunk = b"Subject: nul\r\n\r\n\x00\r\n"
    with server.connect() as c:
        c.ehlo()
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        msg = make_message(subject="clean after refused chunk")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    assert len(server.maildir("alice")) == 1


# ---- message size --------------------------------------------------------------------------------


@pytest.fixture
def small(postern):
    return postern(config={"limits": {"message_size": "64K"}})


def test_size_parameter_within_limit(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=1000 BODY=8BITMIME")
        assert (r.code, r.enh) == (250, "2.1.0"), r
        c.cmd("RSET", expect=250)
        r = c.cmd("MAIL FROM:<s@remote.test> BODY=BINARYMIME")
        assert r.code == 555, r
        r = c.cmd("MAIL FROM:<s@remote.test> FOO=BAR")
        assert r.code == 555, r


def test_size_param_over_limit(small):
    with small.connect() as c:
        r = c.ehlo()
        assert "SIZE 65536" in r.lines
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=65537")
        assert (r.code, r.enh) == (552, "5.3.4"), r
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=99999999999999999999999")
        assert r.code in (501, 552), r
        c.cmd("MAIL FROM:<s@remote.test> SIZE=65536", expect=250)


def test_oversize_data(small):
    big = b"Subject: big\r\n\r\n" + (b"0123456789" * 7 + b"\r\n") * 1200   # ~86 KB
    with small.connect() as c:
        start_data(c, ("alice@example.org", "bob@example.org"))
        c.send(big + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (552, "5.3.4"), r
        # the session is usable and a message under the limit still goes through
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message(subject="small") + b".\r\n")
        assert c.reply().code == 250
    [data] = small.messages("alice")
    assert b"Subject: small" in data
    assert small.maildir("bob") == []
    assert small.maildir("alice", sub="tmp") == []
    t = [e for e in small.transactions() if e["result"] != "accepted"]
    assert len(t) == 1 and "too big" in t[0]["result"], t


def test_oversize_bdat(small):
    chunk = b"a" * 40000
    with small.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert r.code == 250, r
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (552, "5.3.4"), r
        assert c.cmd("NOOP").code == 250
    assert small.all_delivered() == []


def test_huge_bdat_size_is_refused_not_allocated(small):
    with small.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        # announcing 1 EB must not allocate anything; we send a little and leave
        c.send(b"BDAT 999999999999999999\r\n" + b"x" * 1000)
        time.sleep(0.2)
    assert small.running()
    with small.connect() as c:
        assert c.cmd("NOOP").code == 250


def test_message_size_boundary(small):
    limit = 65536
    head = b"From: <s@remote.test>\r\nSubject: boundary\r\n\r\n"

    def body_of(total):
        lines, size = [head], len(head)
        while size + 80 <= total:
            lines.append(b"b" * 78 + b"\r\n")
            size += 80
        pad = total - size
        assert pad >= 2 or pad == 0
        if pad:
            lines.append(b"c" * (pad - 2) + b"\r\n")
        data = b"".join(lines)
        assert len(data) == total
        return data

    with small.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], body_of(limit))
        assert r.code == 250, r
        r = c.send_message("s@remote.test", ["bob@example.org"], body_of(limit + 2), ehlo=False)
        assert (r.code, r.enh) == (552, "5.3.4"), r
    assert len(small.maildir("alice")) == 1
    assert small.maildir("bob") == []
