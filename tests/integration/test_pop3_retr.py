"""Big messages and big maildrops over POP3: RETR streams a 50 MB message from
its file (dot-stuffed, CRLF) while the client reads, with the server's memory
bounded by pop3.session_memory_limit, also when the client stops reading; TOP
of a 50 MB message reads only what it sends; LIST and UIDL of 5,000 messages
go out in pieces; the smallest memory limit still gives exact bytes."""
import hashlib
import time

import pytest

import conftest
from imap_fixtures import rss_kib, simple_message, write_maildir
from pop3_fixtures import pop3_conn, pop3_server

MB = 1024 * 1024


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def big_message(size, subject="huge"):
    """About `size` octets of LF text, every 7th line starting with a dot."""
    head = (f"From: <big@remote.test>\nTo: <alice@example.org>\nSubject: {subject}\n"
            "Message-ID: <big@remote.test>\n\n").encode()
    line = b"z" * 99 + b"\n"
    dotted = b"." + b"z" * 98 + b"\n"
    n = size // 100
    body = b"".join(dotted if i % 7 == 0 else line for i in range(n))
    return head + body


def expected_wire(msg):
    """The message as RETR sends it, before the terminating ".": CRLF, dot-stuffed."""
    out = msg.replace(b"\n", b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in out.split(b"\r\n"))


def read_body_hash(c, timeout=120, sample=None):
    """Reads a multi-line body without keeping it: (octets, sha256 of the raw bytes);
    sample() is called after each megabyte or so."""
    h = hashlib.sha256()
    total = 0
    tail = b""
    deadline = time.monotonic() + timeout
    next_sample = 0
    while True:
        if sample is not None and total >= next_sample:
            sample()
            next_sample = total + MB
        if c.buf:
            data, c.buf = c.buf, b""
        else:
            assert time.monotonic() < deadline, "RETR took too long"
            c._fill(30)
            data, c.buf = c.buf, b""
        h.update(data)
        total += len(data)
        tail = (tail + data)[-5:]
        if tail == b"\r\n.\r\n":
            return total, h.hexdigest()


@pytest.fixture
def quiet_quarantine(monkeypatch):
    """ASan keeps freed memory in a quarantine (256 MB by default), which would
    count every buffer a long RETR ever freed as resident: keep it small for
    the servers of a memory test."""
    opts = conftest.SAN_ENV["ASAN_OPTIONS"] + ":quarantine_size_mb=4"
    monkeypatch.setitem(conftest.SAN_ENV, "ASAN_OPTIONS", opts)


def test_top_of_a_50mb_message_reads_only_the_top(postern, quiet_quarantine):
    s = pop3_server(postern)
    msg = big_message(50 * MB)
    write_maildir(s.maildir_path("alice"), [msg])
    c = pop3_conn(s)                     # the login indexes it (counting its lines once)
    assert c.ok("STAT").text.split()[0] == "1"
    hwm0, rss0 = vm(s.pid, "VmHWM"), rss_kib(s.pid)
    t0 = time.monotonic()
    st, lines = c.multi("TOP 1 3")
    took = time.monotonic() - t0
    assert st.ok
    assert lines[:5] == [l.encode() for l in ("From: <big@remote.test>", "To: <alice@example.org>",
                                              "Subject: huge", "Message-ID: <big@remote.test>", "")]
    assert lines[5:] == [b"." + b"z" * 98, b"z" * 99, b"z" * 99]      # unstuffed
    print(f"TOP of 50 MB: VmHWM +{vm(s.pid, 'VmHWM') - hwm0} KiB, {took:.3f} s")
    assert vm(s.pid, "VmHWM") - hwm0 < 4 * 1024, "TOP read more than it sent"
    assert rss_kib(s.pid) - rss0 < 4 * 1024
    assert took < 5, took
    c.ok("QUIT")


def test_retr_of_a_50mb_message_within_the_memory_limit(postern, quiet_quarantine):
    s = pop3_server(postern, config={"pop3": {"session_memory_limit": "256K"}})
    msg = big_message(50 * MB)
    write_maildir(s.maildir_path("alice"), [msg])
    want = expected_wire(msg)
    c = pop3_conn(s)
    size = int(c.ok("LIST 1").text.split()[1])
    assert size == len(msg.replace(b"\n", b"\r\n"))
    hwm0, rss0 = vm(s.pid, "VmHWM"), rss_kib(s.pid)
    peak = [rss0]

    def sample():
        peak[0] = max(peak[0], rss_kib(s.pid))

    # a client that asks and then does not read: the server waits, it does not buffer
    c.send(b"RETR 1\r\n")
    time.sleep(2)
    sample()
    stalled = peak[0] - rss0
    st = c.status()
    assert st.ok and st.text.startswith(f"{size} octets")
    octets, digest = read_body_hash(c, sample=sample)
    assert octets == len(want) + 3               # + ".\r\n"
    assert digest == hashlib.sha256(want + b".\r\n").hexdigest()
    sample()
    grown, hwm = peak[0] - rss0, vm(s.pid, "VmHWM") - hwm0
    print(f"RETR 50 MB: RSS +{stalled} KiB while stalled, at most +{grown} KiB while read; "
          f"VmHWM +{hwm} KiB")
    assert stalled < 8 * 1024, f"RSS grew {stalled} KiB while the client did not read"
    assert grown < 16 * 1024, f"RSS grew {grown} KiB over a 50 MB RETR"
    assert hwm < 16 * 1024, f"VmHWM grew {hwm} KiB over a 50 MB RETR"
    c.ok("QUIT")
    d = s.wait_log("pop3.disconnect", lambda e: e.get("retrieved") == 1)[0]
    assert d["retrieved_octets"] == size


def test_smallest_memory_limit_gives_exact_bytes(postern):
    s = pop3_server(postern, config={"pop3": {"session_memory_limit": "64K"}})
    msgs = [big_message(1 * MB, "one"),
            simple_message("dots", body=".\n..\n...\n.x\n" * 20000).replace(b"\r\n", b"\n"),
            b"Subject: crlf\r\n\r\nalready\r\ncrlf\r\n.\r\n"]
    write_maildir(s.maildir_path("alice"), msgs)
    c = pop3_conn(s)
    for i, m in enumerate(msgs):
        c.ok(f"RETR {i + 1}")
        raw, _ = c.body(timeout=60)
        w = expected_wire(m.replace(b"\r\n", b"\n"))
        assert raw == w + b".\r\n", i
    st, lines = c.multi("TOP 2 3")
    assert lines[-3:] == [b".", b"..", b"..."]
    c.ok("QUIT")


def test_list_and_uidl_of_5000_messages(postern):
    s = pop3_server(postern, config={"pop3": {"session_memory_limit": "64K"}})
    n = 5000
    write_maildir(s.maildir_path("alice"),
                  [f"Subject: n{i}\n\nbody {i}\n".encode() for i in range(n)])
    c = pop3_conn(s, timeout=60)
    assert c.ok("STAT").text.split()[0] == str(n)
    st, lines = c.multi("LIST", timeout=60)
    assert [int(l.split()[0]) for l in lines] == list(range(1, n + 1))
    st, uidls = c.multi("UIDL", timeout=60)
    assert len({u.split()[1] for u in uidls}) == n
    # pipelined behind a long listing, and marks taken into account
    c.send(b"DELE 2\r\nLIST\r\nUIDL\r\nSTAT\r\n")
    assert c.status().ok
    assert c.status().ok and len(c.body(timeout=60)[1]) == n - 1
    assert c.status().ok and len(c.body(timeout=60)[1]) == n - 1
    assert c.status().text.split()[0] == str(n - 1)
    c.ok("RSET")
    c.ok("QUIT")
