"""IMAP COMPRESS=DEFLATE (RFC 4978): raw deflate both ways after the tagged OK,
with Python's zlib on the client side, over clear text, STARTTLS and implicit
TLS; and the hostile cases: before login, twice, unknown mechanisms, corrupt
streams, a decompression bomb, a memory limit too small for the compressor."""
import re
import time
import zlib

import pytest

import conftest
from conftest import ConnectionClosed
from imap_fixtures import (assert_alive, capability, exists_of, imap_conn, imap_server, make_box,
                           module_server, rss_kib, simple_message)

# clear-text logins: the compressed stream is then what goes over the wire
CLEAR = {"imap": {"login_without_tls": True}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data, bools=CLEAR) as s:
        yield s


@pytest.fixture
def own_srv(postern):
    return imap_server(postern, bools=CLEAR)


class Deflated:
    """Turns an IMAPConn into a compressing one once its COMPRESS got OK: what
    it sends is deflated (Z_SYNC_FLUSH after each send, as RFC 4978 asks), what
    it reads inflated. Bytes it already holds past the OK are compressed too."""

    def __init__(self, c):
        self.c = c
        self.out = zlib.compressobj(wbits=-15)
        self.inf = zlib.decompressobj(wbits=-15)
        self.raw_in = 0                 # compressed octets received
        raw_send = c.send
        leftover, c.buf = c.buf, b""
        self.pending = leftover

        def send(data):
            if isinstance(data, str):
                data = data.encode()
            raw_send(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

        def fill(timeout):
            if self.pending:
                chunk, self.pending = self.pending, b""
            else:
                c.sock.settimeout(timeout if timeout is not None else c.timeout)
                try:
                    chunk = c.sock.recv(65536)
                except ConnectionResetError as e:
                    raise ConnectionClosed("connection reset") from e
                if not chunk:
                    raise ConnectionClosed("connection closed by server")
            self.raw_in += len(chunk)
            c.buf += self.inf.decompress(chunk)

        c.send = send
        c._fill = fill
        c.send_raw = raw_send


def compress(c):
    """COMPRESS DEFLATE on c; returns the Deflated wrapper."""
    r = c.cmd("COMPRESS DEFLATE")
    assert r.status == "OK", r
    return Deflated(c)


def big_message(lines=40000):
    body = "".join(f"line {i:06d}: the quick brown fox jumps over the lazy dog\n"
                   for i in range(lines))
    return simple_message(subject="big", body=body)


# ---- offering it ----------------------------------------------------------------------------


def test_offered_only_after_login(srv):
    c = imap_conn(srv, login=None)
    assert "COMPRESS=DEFLATE" not in capability(c)
    assert b"COMPRESS" not in c.greeting
    r = c.cmd("COMPRESS DEFLATE")
    assert r.status == "BAD", r                            # not before login
    c.ok("NOOP")                                           # and nothing changed
    c.login()
    assert "COMPRESS=DEFLATE" in capability(c)
    c.close()


def test_unknown_mechanism_and_twice(srv):
    c = imap_conn(srv)
    for bad in ("COMPRESS", "COMPRESS LZW", "COMPRESS DEFLATE EXTRA"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad, r)
    c.ok("NOOP")                                           # still uncompressed
    compress(c)
    r = c.cmd("compress deflate")
    assert r.status == "NO" and r.code == "COMPRESSIONACTIVE", r
    c.ok("NOOP")
    c.close()


# ---- using it -------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [None, "starttls", "imaps"])
def test_select_fetch_large_message(srv, tls):
    c = imap_conn(srv, tls=tls)
    msg = big_message()
    name = f"cbig-{tls}"
    make_box(c, name, [msg])
    d = compress(c)
    r = c.ok(f"SELECT {name}")
    assert exists_of(r) == 1
    r = c.ok("FETCH 1 BODY.PEEK[]")
    assert len(r.untagged) == 1
    assert r.untagged[0].endswith(msg + b")"), r.untagged[0][-200:]
    # it really travelled compressed: this text shrinks to a small part
    assert d.raw_in < len(msg) // 4, (d.raw_in, len(msg))
    r = c.cmd("LOGOUT")
    assert r.status == "OK" and r.lines("BYE"), r
    c.close()


def test_pipelined_command_right_after_compress(srv):
    """RFC 4978 3: what the client sends after COMPRESS, before seeing the OK,
    is compressed already; it arrives in the same packet here."""
    c = imap_conn(srv, tls=None)
    z = zlib.compressobj(wbits=-15)
    tail = z.compress(b"p2 NOOP\r\np3 CAPABILITY\r\n") + z.flush(zlib.Z_SYNC_FLUSH)
    c.send(b"p1 COMPRESS DEFLATE\r\n" + tail)
    r = c.wait_tagged("p1")
    assert r.status == "OK", r
    d = Deflated(c)
    d.out = z                                              # the stream already begun
    assert c.wait_tagged("p2").status == "OK"
    r = c.wait_tagged("p3")
    assert r.status == "OK" and "COMPRESS=DEFLATE" in r.lines("CAPABILITY")[0], r
    c.ok("NOOP")
    c.close()


def test_idle_update_arrives_through_compression(srv):
    """The server flushes its deflate stream after each pass: an IDLE update
    is never held back waiting for more output."""
    a = imap_conn(srv)
    b = imap_conn(srv, tls=None)
    make_box(a, "cidle", [simple_message(subject="one")])
    compress(b)
    assert exists_of(b.ok("SELECT cidle")) == 1
    b.send(b"i1 IDLE\r\n")
    assert b.read_response().startswith(b"+")
    t0 = time.monotonic()
    assert a.append("cidle", simple_message(subject="two")).status == "OK"
    got = b.until(lambda r: re.fullmatch(rb"\* \d+ EXISTS", r) is not None, timeout=5)
    assert got[-1] == b"* 2 EXISTS", got
    assert time.monotonic() - t0 < 3
    b.send(b"DONE\r\n")
    assert b.wait_tagged("i1").status == "OK"
    a.close()
    b.close()


# ---- hostile input ---------------------------------------------------------------------------


def test_corrupt_stream_ends_the_session(srv):
    c = imap_conn(srv, tls=None)
    d = compress(c)
    c.ok("NOOP")
    # a stored block whose length check fails: "invalid stored block lengths"
    c.send_raw(b"\x00\x05\x00\x00\x00hello")
    c.read_until_closed(timeout=5)                         # TimeoutError if it stays open
    assert d.raw_in > 0
    deadline = time.monotonic() + 5
    while b"imap.compress_error" not in srv.log_path.read_bytes():
        assert time.monotonic() < deadline, "no imap.compress_error logged"
        time.sleep(0.1)
    assert_alive(srv)


def test_deflate_stream_that_ends_is_refused(srv):
    c = imap_conn(srv, tls=None)
    d = compress(c)
    c.send_raw(d.out.compress(b"e1 NOOP\r\n") + d.out.flush(zlib.Z_FINISH) + b"junk")
    try:
        c.wait_tagged("e1", timeout=5)
    except ConnectionClosed:
        pass
    c.read_until_closed(timeout=5)
    assert_alive(srv)


def bomb(z, size, chunk=1 << 20):
    """A command line of `size` octets of 'A', deflated: about a thousandth of it."""
    out = [z.compress(b"b1 NOOP ")]
    block = b"A" * chunk
    for _ in range(size // chunk):
        out.append(z.compress(block))
    out.append(z.compress(b"\r\nb2 NOOP\r\n"))
    out.append(z.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)


def test_decompression_bomb_is_a_long_line(postern, monkeypatch):
    # ASan keeps freed memory in quarantine (256 MiB by default): a bound that
    # holds would look like growth; let this server reuse freed memory at once
    monkeypatch.setitem(conftest.SAN_ENV, "ASAN_OPTIONS",
                        conftest.SAN_ENV["ASAN_OPTIONS"] + ":quarantine_size_mb=0")
    srv = imap_server(postern, bools=CLEAR)
    c = imap_conn(srv, tls=None)
    d = compress(c)
    c.ok("NOOP")
    before = rss_kib(srv.pid)
    data = bomb(d.out, 256 << 20)                          # 256 MiB in ~256 KiB
    assert len(data) < 1 << 20
    c.send_raw(data)
    r = c.wait_tagged("b1", timeout=60)
    assert r.status == "BAD" and "too long" in r.text.lower(), r
    assert c.wait_tagged("b2").status == "OK"              # and the session goes on
    after = rss_kib(srv.pid)
    assert after - before < 5 * 1024, f"RSS grew {after - before} KiB"
    assert_alive(srv)
    c.ok("NOOP")
    c.close()


def test_memory_limit_too_small_refuses(postern):
    # 64K: the output queue alone takes all of it
    s = imap_server(postern, config={"imap": {"session_memory_limit": "64K"}})
    c = imap_conn(s)
    assert "COMPRESS=DEFLATE" in capability(c)
    r = c.cmd("COMPRESS DEFLATE")
    assert r.status == "NO" and r.code == "LIMIT", r
    c.ok("NOOP")                                           # still uncompressed
    c.close()


def test_turned_off(postern):
    s = imap_server(postern, bools={"imap": {"compress": False}})
    c = imap_conn(s)
    assert "COMPRESS=DEFLATE" not in capability(c)
    assert c.cmd("COMPRESS DEFLATE").status == "BAD"
    c.ok("NOOP")
    c.close()
