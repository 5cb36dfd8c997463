"""What an attacker sends an IMAP server: literal bombs (announced sizes the
server must refuse before allocating), over-long lines, too many literals,
deeply nested and huge MIME messages, SEARCH floods, garbage and NUL bytes,
pipelining without reading, pre-authentication APPENDs, and limits on names,
keywords and mailbox counts. Each test ends with the server still answering;
the fixtures' teardown checks it exits 0 with no sanitizer report."""
import re
import threading
import time

import pytest

from imap_fixtures import (IMAPConn, deep_message, fetch_all, imap_conn, imap_server,
                           many_parts_message, rss_kib, search_numbers, simple_message,
                           write_maildir)


@pytest.fixture
def srv(postern):
    return imap_server(postern)


def assert_alive(srv):
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    c.ok("NOOP")
    c.close()


# ---- literal bombs -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["4294967295", "18446744073709551615", "99999999999999999999999999"])
def test_append_literal_bomb(srv, size):
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    rss0 = rss_kib(srv.pid)                 # after the login: Argon2 and SQLite have their memory
    c.send(f"a1 APPEND INBOX {{{size}}}\r\n".encode())
    r = c.read_response()
    assert r.startswith(b"a1 NO [TOOBIG]"), r
    c.ok("NOOP")
    c.send(f"a2 APPEND INBOX (\\Seen) {{{size}}}\r\n".encode())
    assert c.read_response().startswith(b"a2 NO [TOOBIG]")
    c.ok("NOOP")
    assert rss_kib(srv.pid) - rss0 < 16 * 1024, "RSS jumped"
    c.close()
    assert_alive(srv)


def test_append_literal_bomb_non_synchronising(srv):
    c = imap_conn(srv)
    c.send(b"a1 APPEND INBOX {4294967295+}\r\n" + b"x" * 65536)
    data = c.read_until_closed(timeout=10)
    assert b"a1 NO [TOOBIG]" in data and b"* BYE" in data, data
    assert_alive(srv)


def test_literal_bomb_in_other_commands(srv):
    c = imap_conn(srv, login=None)
    for cmd in (b"b1 LOGIN {4294967295}\r\n", b"b2 LOGIN {70000}\r\n"):
        c.send(cmd)
        r = c.read_response()
        assert re.match(rb"b\d (BAD|NO)", r) and b"+ " not in r, r
    c.ok("NOOP")
    c.login()
    c.ok("SELECT INBOX")
    c.send(b"b3 SEARCH TEXT {4294967295}\r\n")
    r = c.read_response()
    assert r.startswith(b"b3 BAD") or r.startswith(b"b3 NO"), r
    c.ok("NOOP")
    c.close()


def test_too_many_literals_in_one_command(srv):
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    payload = b"c1 SEARCH" + b" OR TEXT {1+}\r\na" * 1100 + b" ALL\r\n"
    c.send(payload)
    data = b""
    try:
        data = c.read_until_closed(timeout=10)
    except TimeoutError:
        data = c.buf
    assert b"c1 BAD" in data or b"c1 NO" in data or b"* BYE" in data, data[-300:]
    assert_alive(srv)


def test_append_before_login_gets_no_continuation(srv):
    """An unauthenticated client may not make the server wait for (and buffer)
    an APPEND literal of up to imap.append_limit: APPEND is not allowed before
    login, so the announcement itself is refused."""
    c = IMAPConn(srv.imaps_port, tls=True)
    c.send(b"p1 APPEND INBOX {20000000}\r\n")
    r = c.read_response()
    assert not r.startswith(b"+"), "continuation sent to an unauthenticated APPEND"
    assert re.match(rb"p1 (BAD|NO)", r), r
    c.close()


def test_append_before_login_non_synchronising_is_not_buffered(srv):
    """The same with LITERAL+: 20 MB sent before login must not be held in memory."""
    rss0 = rss_kib(srv.pid)
    c = IMAPConn(srv.imaps_port, tls=True)
    c.send(b"p1 APPEND INBOX {20000000+}\r\n")
    chunk = b"y" * 65536
    peak = 0
    try:
        for _ in range(20000000 // len(chunk)):
            c.sock.sendall(chunk)
            peak = max(peak, rss_kib(srv.pid) - rss0)
    except OSError:
        pass                                             # closed on us: fine
    peak = max(peak, rss_kib(srv.pid) - rss0)
    c.close()
    assert peak < 8 * 1024, f"server RSS grew {peak} KiB for an unauthenticated literal"
    assert_alive(srv)


# ---- long lines, garbage -------------------------------------------------------------------


def test_one_mib_command_line(srv):
    c = imap_conn(srv)
    c.send(b"l1 NOOP " + b"x" * (1 << 20) + b"\r\n")
    try:
        r = c.read_response(timeout=10)
    except Exception as e:                               # a clean close is acceptable
        assert c.is_closed(5), e
        assert_alive(srv)
        return
    assert r.startswith(b"l1 BAD") or r.startswith(b"* BAD") or r.startswith(b"* BYE"), r[:200]
    if r.startswith(b"* BYE"):
        assert c.is_closed(5)
    else:
        c.ok("NOOP")
    assert_alive(srv)


def test_long_line_before_login(srv):
    c = IMAPConn(srv.imap_port)
    c.send(b"l1 LOGIN " + b"u" * (200 * 1024) + b" pw\r\n")
    r = c.read_response(timeout=10)
    assert re.match(rb"(l1|\*) (BAD|BYE)", r), r[:200]
    c.close()
    assert_alive(srv)


def test_garbage_nul_and_unknown_commands(srv):
    c = imap_conn(srv)
    for line in (b"a1 FROB", b"a2 NOOP\x00", b"a3 SELECT IN\x00BOX", b"a4 \x00", b"a5 LIST \"\" \"\x00\"",
                 b"a6 UID FROB 1", b"a7 fetch"):
        c.send(line + b"\r\n")
        r = c.read_response()
        assert re.match(rb"(a\d|\*) BAD", r), (line, r)
    # no tag at all, a tag with forbidden characters, an over-long tag
    for line in (b"\x00\x01\x02", b"(tag) NOOP", b"t+ NOOP", b"t{ NOOP", b"T" * 300 + b" NOOP", b"  "):
        c.send(line + b"\r\n")
        if line.strip() == b"":
            continue                                     # an empty line may be ignored
        r = c.read_response()
        assert re.match(rb"\S+ BAD", r) and b" OK " not in r, (line, r)
    c.ok("NOOP")
    c.close()


def test_error_flood_is_cut_off(srv):
    """Unparseable input in a loop: the server closes after a bounded number of errors."""
    c = imap_conn(srv, login=None)
    c.send(b"\x01\x02garbage\r\n" * 200)
    data = c.read_until_closed(timeout=10)
    assert b"* BYE" in data, data[-200:]
    assert data.count(b"BAD") < 200
    assert_alive(srv)


def test_deeply_nested_lists(srv):
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    for cmd in (b"FETCH 1 " + b"(" * 2000 + b"FLAGS" + b")" * 2000,
                b"SEARCH " + b"(" * 2000 + b"ALL" + b")" * 2000,
                b"APPEND INBOX " + b"(" * 2000 + b")" * 2000 + b" {1}\r\nx",
                b"STORE 1 FLAGS " + b"(" * 2000 + b")" * 2000):
        r = c.cmd(cmd)
        assert r.status == "BAD", (cmd[:40], r)
    c.ok("NOOP")
    c.close()


def test_huge_sequence_sets(srv):
    c = imap_conn(srv)
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


def test_authenticate_garbage(srv):
    c = imap_conn(srv, login=None)
    c.send(b"g1 AUTHENTICATE PLAIN\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b"A" * 20000 + b"\r\n")                      # over the line limit: closed
    data = c.read_until_closed(timeout=10)
    assert b"* BYE" in data or b"g1 BAD" in data, data[-200:]
    c = imap_conn(srv, login=None)
    c.send(b"g2 AUTHENTICATE SCRAM-SHA-256\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b"bm90IHNjcmFt\r\n")                         # "not scram"
    r = c.wait_tagged("g2")
    assert r.status in ("BAD", "NO"), r
    c.ok("NOOP")
    c.close()
    assert_alive(srv)


# ---- hostile messages ---------------------------------------------------------------------


def test_deep_mime_nesting(srv):
    msg = deep_message(200)
    c = imap_conn(srv)
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
    assert_alive(srv)


def test_five_thousand_parts(srv):
    msg = many_parts_message(5000)
    c = imap_conn(srv)
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
    assert_alive(srv)


def test_header_bomb(srv):
    """100,000 header fields and a 1 MB header line."""
    hdr = b"".join(b"X-H%d: v\r\n" % i for i in range(100000))
    msg = b"From: <h@remote.test>\r\nSubject: " + b"s" * (1 << 20) + b"\r\n" + hdr + b"\r\nbody\r\n"
    write_maildir(srv.maildir_path("alice"), [msg], host="bomb")
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    r = c.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE RFC822.SIZE)", timeout=30)
    assert int(fetch_all(r)[1]["RFC822.SIZE"]) == len(msg)
    r = c.ok("SEARCH HEADER X-H99999 v", timeout=30)
    r = c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (X-H5)]", timeout=30)
    assert fetch_all(r)[1]["BODY[HEADER.FIELDS (X-H5)]"] == b"X-H5: v\r\n\r\n"
    c.close()
    assert_alive(srv)


# ---- resource use -------------------------------------------------------------------------


def test_search_flood_does_not_stall_other_sessions(postern):
    s = imap_server(postern)
    md = s.maildir_path("bob")
    body = ("lorem ipsum dolor sit amet " * 40 + "\n") * 20      # ~20 KB
    write_maildir(md, [simple_message(f"flood {i}", body=body, to="bob@example.org")
                       for i in range(300)], host="flood")
    att = imap_conn(s, login="bob@example.org")
    att.ok("SELECT INBOX", timeout=30)
    victims = [imap_conn(s) for _ in range(10)]     # some share the flooded worker
    for v in victims:
        v.ok("SELECT INBOX")
    n = 20
    att.send(b"".join(b"f%d SEARCH TEXT nomatchanywhere\r\n" % i for i in range(n)))
    worst = [0.0]
    stop = threading.Event()

    def probe(v):
        while not stop.is_set():
            t0 = time.monotonic()
            v.ok("NOOP", timeout=30)
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.05)

    threads = [threading.Thread(target=probe, args=(v,)) for v in victims]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    try:
        att.until(lambda r: r.startswith(b"f%d " % (n - 1)), timeout=120)
    finally:
        flood_s = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(40)
    assert worst[0] < 2.0, f"a NOOP took {worst[0]:.2f}s while a {flood_s:.1f}s SEARCH flood ran"
    for v in victims:
        v.close()
    att.close()


def test_search_rate_limit(postern):
    """imap.search_rate_limit_per_min bounds searches that read message files,
    per user over all sessions; index-only searches are not counted."""
    s = imap_server(postern, config={"imap": {"search_rate_limit_per_min": 30}})
    write_maildir(s.maildir_path("alice"), [simple_message(f"r{i}", body="text " * 200)
                                            for i in range(20)], host="rate")
    c = imap_conn(s)
    c.ok("SELECT INBOX")
    c.send(b"".join(b"r%d SEARCH TEXT nomatch\r\n" % i for i in range(100)))
    got = c.until(lambda r: r.startswith(b"r99 "), timeout=120)
    tagged = [r for r in got if re.match(rb"r\d+ ", r)]
    ok = [r for r in tagged if re.match(rb"r\d+ OK", r)]
    limited = [r for r in tagged if re.match(rb"r\d+ NO \[LIMIT\]", r)]
    assert len(tagged) == 100
    assert 30 <= len(ok) <= 32, f"{len(ok)} of 100 text searches ran with a budget of 30/min"
    assert len(limited) == 100 - len(ok)
    assert c.ok("SEARCH FLAGGED").status == "OK"         # index only: not counted
    other = imap_conn(s)                                # same user: same budget
    other.ok("SELECT INBOX")
    r = other.cmd("SEARCH FROM nobody")
    assert r.status == "NO" and "[LIMIT]" in r.text, r
    other.close()
    c.close()
    time.sleep(0.2)
    again = imap_conn(s)                                # logging in again does not reset it
    again.ok("SELECT INBOX")
    results = [again.cmd("SEARCH BODY nomatch").status for _ in range(5)]
    assert results.count("NO") >= 3, results
    again.close()
    assert_alive(s)


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


# ---- names, keywords, counts ------------------------------------------------------------------


def test_long_names_and_keywords(srv):
    c = imap_conn(srv)
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


def test_long_search_string_against_a_big_message_is_linear(postern):
    """SEARCH BODY "aaa...ab" in a message of 4 MB of "a": a naive matcher
    compares at every offset (about 4e9 steps); ours must answer at once.
    Search strings beyond IMAP_SEARCH_STRING_MAX (1024) are BAD."""
    s = imap_server(postern)
    c = imap_conn(s)
    big = simple_message("aaaa", body=("a" * 998 + "\n") * 4000)
    assert c.append("INBOX", big).status == "OK"
    c.ok("SELECT INBOX")
    needle = "A" * 900 + "b"                            # folded: still no match
    t0 = time.monotonic()
    r = c.ok('SEARCH BODY "%s"' % needle, timeout=30)
    assert search_numbers(r) == [], r
    assert time.monotonic() - t0 < 2.0
    assert search_numbers(c.ok('SEARCH BODY "%s"' % ("A" * 900))) == [1]
    r = c.cmd('SEARCH TEXT "%s"' % ("a" * 1025))
    assert r.status == "BAD" and "too long" in r.text, r
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


def test_list_patterns_are_bounded_in_total(srv):
    c = imap_conn(srv)
    many = " ".join(['"' + "*" * 60 + 'X"'] * 20)       # 20 x 62 octets > 1 KiB
    r = c.cmd(f'LIST "" ({many})')
    assert r.status == "BAD", r
    r = c.ok('LIST "" ("INBOX" "Sent" "Trash")')
    assert len(r.lines("LIST")) == 3, r
    c.close()
