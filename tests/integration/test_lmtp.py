"""LMTP (RFC 2033): the `lmtp` service, a mode of the SMTP state machine.

An MTA in front (Postfix, a filter gateway) hands over mail for local
mailboxes: LHLO instead of HELO/EHLO, no TLS, no AUTH, never a relay, and
after the data one reply per accepted recipient, in RCPT order, each saying
whether that recipient's copy is durable. Clients: Python's smtplib.LMTP over
TCP and over the UNIX socket, swaks --protocol LMTP, and a raw client for
what a hostile or broken client sends.
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

import conftest
from conftest import (DOMAIN, HOST, IO_TIMEOUT, SMTPClient, free_port, make_message,
                      run_postern, swaks_replies)

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
MIB = 1024 * 1024


# ---- helpers -------------------------------------------------------------------------


class LMTPClient(SMTPClient):
    """The raw client of conftest, over TCP or (path=) the UNIX socket."""

    def __init__(self, port=None, path=None, timeout=IO_TIMEOUT, banner=True):
        if path is None:
            super().__init__(port, timeout=timeout, banner=banner)
            return
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.timeout = timeout
        self.buf = b""
        self.banner = self.reply() if banner else None

    def lhlo(self, name="mta.example.net"):
        return self.cmd(f"LHLO {name}", expect=250)

    def transaction(self, rcpts, body, mail_from="s@remote.test"):
        """LHLO, MAIL, each RCPT (must be accepted), DATA; returns the replies after the dot."""
        self.lhlo()
        self.cmd(f"MAIL FROM:<{mail_from}>", expect=250)
        for r in rcpts:
            self.cmd(f"RCPT TO:<{r}>", expect=250)
        self.cmd("DATA", expect=354)
        self.send(body + b".\r\n")
        return self.replies(len(rcpts))


def lmtp_send(c, sender, rcpts, msg):
    """Sends msg with an smtplib.LMTP client; returns {rcpt: (code, text)}.
    smtplib's sendmail reads one reply after the data, as in SMTP; LMTP sends
    one per accepted recipient (RFC 2033 4.2), so the rest are read here."""
    c.ehlo_or_helo_if_needed()
    c.mail(sender)
    out, accepted = {}, []
    for r in rcpts:
        code, text = c.rcpt(r)
        if code == 250:
            accepted.append(r)
        else:
            out[r] = (code, text)
    if not accepted:
        c.rset()
        return out
    try:
        out[accepted[0]] = (250, c.data(msg)[1])
    except smtplib.SMTPDataError as e:
        out[accepted[0]] = (e.smtp_code, e.smtp_error)
    for r in accepted[1:]:
        out[r] = c.getreply()
    return out


def lmtp_config(root, port, **lmtp):
    cfg = {"listen": {"lmtp": [f"{HOST}:{port}", f"unix:{root}/run/lmtp.sock"]}}
    if lmtp:
        cfg["lmtp"] = lmtp
    return cfg


@pytest.fixture
def lmtp(postern, tmp_path):
    """Factory: a started server with LMTP on a TCP port and a UNIX socket.
    Returns the server; srv.lmtp_port and srv.lmtp_path say where."""

    def make(config=None, **lmtp_keys):
        port = free_port()
        root = tmp_path / f"lmtp{port}"
        root.mkdir()
        cfg = lmtp_config(root, port, **lmtp_keys)
        for k, v in (config or {}).items():
            cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
        srv = postern(config=cfg)
        srv.lmtp_port = port
        srv.lmtp_path = root / "run" / "lmtp.sock"
        return srv

    return make


def break_maildir(srv, user):
    """Makes user's Maildir unable to take a message: its tmp/ is a regular file."""
    md = srv.maildir_path(user)
    (md / "new").mkdir(parents=True, exist_ok=True)
    (md / "cur").mkdir(exist_ok=True)
    shutil.rmtree(md / "tmp", ignore_errors=True)
    (md / "tmp").write_text("not a directory\n")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# ---- the dialogue ------------------------------------------------------------------------


def test_greeting_and_lhlo_extensions(lmtp):
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        assert c.banner.code == 220 and " LMTP " in c.banner.text
        r = c.lhlo()
        ext = [ln.split()[0] for ln in r.lines[1:]]
        assert ext == ["PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                       "CHUNKING"]
        assert f"SIZE {50 * MIB}" in r.lines          # lmtp.max_message_size's default
        assert c.cmd("QUIT").code == 221


def test_helo_ehlo_starttls_auth_refused(lmtp):
    """RFC 2033 4.1: HELO and EHLO are not LMTP; there is no STARTTLS nor AUTH."""
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        for cmd in ("HELO mta.example.net", "EHLO mta.example.net"):
            r = c.cmd(cmd)
            assert (r.code, r.enh) == (500, "5.5.1"), r
            assert "LHLO" in r.text
        r = c.cmd("MAIL FROM:<s@remote.test>")
        assert r.code == 503 and "LHLO" in r.text
        c.lhlo()
        assert c.cmd("STARTTLS").code == 500
        assert c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").code == 500
        assert "LHLO" in c.cmd("HELP").text
        # the session still works after all that
        assert c.transaction([ALICE], make_message())[0].code == 250
    assert len(srv.maildir("alice")) == 1


def test_smtplib_two_recipients_over_tcp(lmtp):
    srv = lmtp()
    with smtplib.LMTP(HOST, srv.lmtp_port, timeout=IO_TIMEOUT) as c:
        res = lmtp_send(c, "s@remote.test", [ALICE, BOB], make_message(subject="two"))
    assert [res[r][0] for r in (ALICE, BOB)] == [250, 250]
    assert res[BOB][1].startswith(f"2.0.0 <{BOB}>: Ok: queued as ".encode())
    for user in ("alice", "bob"):
        msgs = srv.messages(user)
        assert len(msgs) == 1 and b"Subject: two" in msgs[0]
    # one message file: bob's copy is a hard link to alice's
    assert os.stat(srv.maildir("alice")[0]).st_ino == os.stat(srv.maildir("bob")[0]).st_ino
    t = srv.wait_log("smtp.transaction", lambda e: e["result"] == "accepted")[0]
    assert t["service"] == "lmtp" and t["rcpts"] == [ALICE, BOB]


def test_smtplib_over_unix_socket(lmtp):
    srv = lmtp()
    with smtplib.LMTP(str(srv.lmtp_path), timeout=IO_TIMEOUT) as c:
        assert c.sendmail("s@remote.test", [ALICE], make_message(subject="via socket")) == {}
    msg = srv.messages("alice")[0]
    trace = msg.split(b"\nSubject:")[0]
    # RFC 3848: "with LMTP"; the client has no address to show
    assert re.search(rb"\nReceived: from \S+ \(local socket\)\n\tby mx.example.org \(postern\) "
                     rb"with LMTP id ", trace), trace
    t = srv.wait_log("smtp.transaction")[0]
    assert t["ip"] == "unix" and t["result"] == "accepted"


def test_one_reply_per_recipient_in_rcpt_order(lmtp):
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([BOB, ALICE], make_message())
    assert [r.code for r in replies] == [250, 250]
    assert replies[0].text.startswith(f"2.0.0 <{BOB}>")
    assert replies[1].text.startswith(f"2.0.0 <{ALICE}>")
    received = srv.messages("alice")[0].split(b"\n")[1:3]
    assert b"[127.0.0.1]" in received[0] and b"with LMTP id" in received[1]


def test_unknown_recipient_refused_at_rcpt(lmtp):
    """A recipient refused at RCPT gets no reply after the data: only the accepted ones do."""
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        c.lhlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<nobody@example.org>")
        assert (r.code, r.enh) == (550, "5.1.1")
        c.cmd(f"RCPT TO:<{ALICE}>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
        assert c.cmd("NOOP").code == 250       # no second reply was waiting
    with smtplib.LMTP(HOST, srv.lmtp_port, timeout=IO_TIMEOUT) as c:
        res = lmtp_send(c, "s@remote.test", [ALICE, "nobody@example.org"], make_message())
    assert res["nobody@example.org"] == (550, b"5.1.1 <nobody@example.org>: Recipient "
                                              b"address rejected: User unknown")
    assert res[ALICE][0] == 250
    assert len(srv.maildir("alice")) == 2


def test_remote_recipient_never_relayed(lmtp):
    """LMTP delivers to local mailboxes only, whatever relay.hosts says."""
    srv = lmtp(config={"relay": {"hosts": ["127.0.0.0/8"]}})
    with LMTPClient(srv.lmtp_port) as c:
        c.lhlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        for rcpt in ("someone@remote.test", "x@[192.0.2.1]"):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert (r.code, r.enh) == (550, "5.1.1"), r
        assert c.cmd("DATA").code == 554          # no valid recipients
    with srv.connect() as c:                      # port 25 still relays for relay.hosts
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<someone@remote.test>", expect=250)


def test_local_forwarding_alias_is_queued(lmtp):
    """An alias of a local domain that forwards elsewhere is postern's own
    forwarding, not relaying: accepted, and queued."""
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction(["fwd@example.org", ALICE], make_message())
    assert [r.code for r in replies] == [250, 250]
    t = srv.wait_log("smtp.transaction")[0]
    assert t["queue_id"], t


def test_alias_and_its_target_one_copy_each(lmtp):
    """both@ reaches alice and bob; alice named again adds no copy but still
    gets her own reply."""
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction(["both@example.org", ALICE], make_message())
    assert [r.code for r in replies] == [250, 250]
    assert len(srv.maildir("alice")) == 1 and len(srv.maildir("bob")) == 1


# ---- per-recipient outcomes ------------------------------------------------------------------


@pytest.mark.parametrize("order", [("alice", "bob"), ("bob", "alice")])
def test_one_broken_maildir_fails_that_recipient_only(lmtp, order):
    """RFC 2033's point: bob's Maildir cannot take the message (its tmp/ is a
    file), so bob gets 451 and alice 250, in RCPT order; alice's copy is
    durable, nothing of bob's is left behind."""
    srv = lmtp()
    break_maildir(srv, "bob")
    rcpts = [f"{u}@{DOMAIN}" for u in order]
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction(rcpts, make_message(subject="partial"))
        want = {"alice": (250, "2.0.0"), "bob": (451, "4.3.0")}
        assert [(r.code, r.enh) for r in replies] == [want[u] for u in order]
        assert f"<{BOB}>" in replies[order.index("bob")].text
        # the session goes on
        assert c.cmd("RSET").code == 250
    assert len(srv.maildir("alice")) == 1
    assert srv.maildir("bob") == []
    t = srv.wait_log("smtp.transaction")[0]
    assert t["result"] == "partial: 1 of 2 failed"
    assert srv.wait_log("smtp.rcpt_failed")[0]["rcpt"] == BOB
    # the MTA retries bob alone once the Maildir is fixed: one copy, no duplicate for alice
    os.remove(srv.maildir_path("bob") / "tmp")
    with smtplib.LMTP(HOST, srv.lmtp_port, timeout=IO_TIMEOUT) as c:
        assert c.sendmail("s@remote.test", [BOB], make_message(subject="partial")) == {}
    assert len(srv.maildir("bob")) == 1 and len(srv.maildir("alice")) == 1


def test_every_recipient_broken(lmtp):
    srv = lmtp()
    break_maildir(srv, "alice")
    break_maildir(srv, "bob")
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE, BOB], make_message())
        assert [(r.code, r.enh) for r in replies] == [(451, "4.3.0")] * 2
        assert c.cmd("NOOP").code == 250
    assert [p for p in srv.all_delivered() if p.parent.name == "new"] == []
    assert srv.wait_log("smtp.transaction")[0]["result"].startswith("failed: ")


def test_smtp_stays_all_or_nothing(lmtp):
    """Port 25 is unchanged: one broken Maildir fails the whole message, once."""
    srv = lmtp()
    break_maildir(srv, "bob")
    with srv.connect() as c:
        r = c.send_message("s@remote.test", [ALICE, BOB], make_message())
        assert (r.code, r.enh) == (451, "4.3.0")
        assert c.cmd("NOOP").code == 250
    assert srv.maildir("alice") == [] and srv.maildir("bob") == []


# ---- size, lines, checks -------------------------------------------------------------------


def test_oversize_refused_per_recipient_without_buffering(lmtp, monkeypatch):
    """lmtp.max_message_size is enforced while reading: the excess is read and
    dropped, never kept, and each recipient gets 552 5.3.4 after the data."""
    # AddressSanitizer keeps freed memory resident in its quarantine (256 MiB):
    # every read buffer would count as growth. Without it RSS shows what is kept.
    monkeypatch.setitem(conftest.SAN_ENV, "ASAN_OPTIONS",
                        conftest.SAN_ENV["ASAN_OPTIONS"] + ":quarantine_size_mb=0")
    srv = lmtp(max_message_size="1M")
    size = 32 * MIB
    with LMTPClient(srv.lmtp_port, timeout=30) as c:
        assert "SIZE 1048576" in c.lhlo().lines
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd(f"RCPT TO:<{ALICE}>", expect=250)
        c.cmd(f"RCPT TO:<{BOB}>", expect=250)
        c.cmd("DATA", expect=354)
        before = rss_kib(srv.pid)
        line = b"x" * 998 + b"\r\n"
        chunk = line * 1024
        c.send(b"Subject: big\r\n\r\n")
        for _ in range(size // len(chunk)):
            c.send(chunk)
        c.send(b".\r\n")
        replies = c.replies(2, timeout=30)
        after = rss_kib(srv.pid)
        assert [(r.code, r.enh) for r in replies] == [(552, "5.3.4")] * 2
        assert c.cmd("NOOP").code == 250
    assert (after - before) * 1024 < size // 4, (before, after)
    assert srv.all_delivered() == []
    assert list((srv.data_dir / "spool").iterdir()) == []
    t = srv.wait_log("smtp.transaction")[0]
    assert t["result"] == "rejected: too big"


def test_mail_size_parameter(lmtp):
    srv = lmtp(max_message_size="1M")
    with LMTPClient(srv.lmtp_port) as c:
        c.lhlo()
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=1048577")
        assert (r.code, r.enh) == (552, "5.3.4")
        c.cmd("MAIL FROM:<s@remote.test> SIZE=1000 BODY=8BITMIME SMTPUTF8", expect=250)


def test_bare_lf_and_long_lines_refused_per_recipient(lmtp):
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE, BOB], b"Subject: x\r\n\r\nbare\nlf\r\n")
        assert [(r.code, r.enh) for r in replies] == [(550, "5.5.2")] * 2
        replies = c.transaction([ALICE, BOB], b"Subject: x\r\n\r\n" + b"y" * 1200 + b"\r\n")
        assert [(r.code, r.enh) for r in replies] == [(500, "5.5.2")] * 2
        assert c.cmd("NOOP").code == 250
    assert srv.all_delivered() == []


def test_mail_loop_refused_per_recipient(lmtp):
    """The end-of-DATA checks run for LMTP as for SMTP: the hop count does."""
    srv = lmtp()
    hops = [f"Received: from h{i}.example by h{i + 1}.example; Mon, 1 Jan 2024 00:00:00 +0000"
            for i in range(100)]
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE, BOB], make_message(extra_headers=hops))
    assert [(r.code, r.enh) for r in replies] == [(554, "5.4.6")] * 2
    assert srv.all_delivered() == []


def test_from_header_not_policed(lmtp):
    """Sender ownership is the submission service's; the MTA in front did its checks."""
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE], make_message(sender="ceo@bank.example"),
                                mail_from="ceo@bank.example")
    assert replies[0].code == 250


# ---- BDAT and pipelining ---------------------------------------------------------------------


def test_bdat_chunks(lmtp):
    """RFC 3030 with RFC 2033: one reply per non-last chunk, one per recipient after LAST."""
    srv = lmtp()
    msg = make_message(subject="chunked")
    a, b = msg[:40], msg[40:]
    with LMTPClient(srv.lmtp_port) as c:
        c.lhlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd(f"RCPT TO:<{ALICE}>", expect=250)
        c.cmd(f"RCPT TO:<{BOB}>", expect=250)
        c.send(b"BDAT %d\r\n" % len(a) + a)
        assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(b) + b)
        replies = c.replies(2)
        assert [r.code for r in replies] == [250, 250]
        assert c.cmd("NOOP").code == 250
    for user in ("alice", "bob"):
        assert b"Subject: chunked" in srv.messages(user)[0]


def test_bdat_oversize(lmtp):
    srv = lmtp(max_message_size="1K")
    body = b"Subject: x\r\n\r\n" + b"z" * 2000 + b"\r\n"
    with LMTPClient(srv.lmtp_port) as c:
        c.lhlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd(f"RCPT TO:<{ALICE}>", expect=250)
        c.cmd(f"RCPT TO:<{BOB}>", expect=250)
        # the whole message in the LAST chunk: a reply per recipient
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        assert [(r.code, r.enh) for r in c.replies(2)] == [(552, "5.3.4")] * 2
        # a chunk that is not the last: the reply to that BDAT, once
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd(f"RCPT TO:<{ALICE}>", expect=250)
        c.cmd(f"RCPT TO:<{BOB}>", expect=250)
        c.send(b"BDAT %d\r\n" % len(body) + body)
        assert (c.reply().code, c.buf) == (552, b"")
        assert c.cmd("NOOP").code == 250
    assert srv.all_delivered() == []


def test_pipelined_transaction(lmtp):
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        c.send(b"LHLO mta.example.net\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<" + ALICE.encode()
               + b">\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<" + BOB.encode()
               + b">\r\nDATA\r\n")
        codes = [r.code for r in c.replies(6)]
        assert codes == [250, 250, 250, 550, 250, 354]
        c.send(make_message() + b".\r\nQUIT\r\n")
        assert [r.code for r in c.replies(3)] == [250, 250, 221]


# ---- real clients ------------------------------------------------------------------------------


def test_swaks_lmtp_over_tcp_and_socket(lmtp):
    if shutil.which("swaks") is None:
        pytest.skip("swaks not installed")
    srv = lmtp()
    for where in (["--server", HOST, "--port", str(srv.lmtp_port)],
                  ["--socket", str(srv.lmtp_path)]):
        p = subprocess.run(["swaks", "--protocol", "LMTP", *where, "--helo", "mta.example.net",
                            "--from", "s@remote.test", "--to", f"{ALICE},{BOB}",
                            "--header", "Subject: swaks"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        assert p.returncode == 0, p.stdout
        replies = swaks_replies(p.stdout)
        after_data = [c for c, t in replies if t.startswith("2.0.0 <")]
        assert after_data == [250, 250], p.stdout
    assert len(srv.maildir("alice")) == 2 and len(srv.maildir("bob")) == 2


# ---- durability --------------------------------------------------------------------------------


def test_kill9_right_after_the_replies_loses_nothing(lmtp):
    """The 250s mean durable: a server killed the moment they arrive has the
    messages in new/; the UNIX socket it leaves is replaced at the next start."""
    srv = lmtp()
    with LMTPClient(path=srv.lmtp_path) as c:
        replies = c.transaction([ALICE, BOB], make_message(subject="durable"))
        os.kill(srv.pid, signal.SIGKILL)
    assert [r.code for r in replies] == [250, 250]
    srv.proc.wait(10)
    for user in ("alice", "bob"):
        assert b"Subject: durable" in srv.messages(user)[0]
        assert list((srv.maildir_path(user) / "tmp").iterdir()) == []
    assert srv.lmtp_path.is_socket()                 # stale: nobody listens on it
    srv.start()
    with smtplib.LMTP(str(srv.lmtp_path), timeout=IO_TIMEOUT) as c:
        assert c.sendmail("s@remote.test", [ALICE], make_message()) == {}
    assert len(srv.maildir("alice")) == 2


# ---- connection rules ----------------------------------------------------------------------------


def test_socket_clients_not_capped_per_address(lmtp):
    """Every client of the UNIX socket is "unix": a cap per address would cap them all."""
    srv = lmtp(config={"services": {"lmtp": {"limits": {"connections_per_ip": 2}}}})
    clients = [LMTPClient(path=srv.lmtp_path) for _ in range(4)]
    try:
        assert all(c.banner.code == 220 for c in clients)
        tcp = [LMTPClient(srv.lmtp_port) for _ in range(2)]
        with LMTPClient(srv.lmtp_port) as third:
            assert third.banner.code == 421
        for c in tcp:
            c.close()
    finally:
        for c in clients:
            c.close()


def local_address():
    """A non-loopback address of this host, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def test_remote_address_policy(postern, tmp_path):
    """LMTP has no authentication: a non-loopback address is refused in the
    configuration unless lmtp.allow_remote names networks, and a client
    outside them (and off loopback) is refused with 554."""
    port = free_port()
    srv = postern(config={"listen": {"lmtp": [f"0.0.0.0:{port}"]}}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode != 0 and "LMTP has no authentication" in p.stderr, p.stderr
    ip = local_address()
    srv.overrides["lmtp"] = {"allow_remote": ["198.51.100.0/24"]}
    srv.write_config()
    srv.start()
    with LMTPClient(port) as c:                   # loopback is always admitted
        assert c.banner.code == 220
    if ip is None or ip.startswith("198.51.100."):
        pytest.skip("no suitable non-loopback address to connect from")

    def greeting():
        with socket.create_connection((ip, port), timeout=IO_TIMEOUT,
                                      source_address=(ip, 0)) as sock:
            return sock.recv(4096)

    assert greeting() == b"554 5.7.1 Access denied\r\n"
    ev = srv.wait_log("net.refused", lambda e: e["reason"] == "address not allowed")[0]
    assert ev["service"] == "lmtp" and ev["ip"] == ip
    # a network lmtp.allow_remote names is admitted
    srv.stop()
    srv.overrides["lmtp"] = {"allow_remote": ["198.51.100.0/24", f"{ip}/32"]}
    srv.write_config()
    srv.start()
    assert greeting().startswith(b"220 ")


# ---- hostile and broken clients ------------------------------------------------------------------


def test_out_of_order_and_malformed_commands(lmtp):
    srv = lmtp(config={"limits": {"recipients": 3}})
    with LMTPClient(srv.lmtp_port) as c:
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 503
        assert c.cmd("DATA").code == 503
        assert c.cmd("LHLO").code == 501                         # no name
        c.lhlo()
        assert c.cmd("LHLO " + "a" * 300).code == 501            # a name past 255 octets
        c.lhlo()
        assert c.cmd("MAIL FROM:<s@remote.test> BODY=BINARYMIME").code == 555
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 503    # nested
        assert c.cmd(f"RCPT TO:<{ALICE}> NOTIFY=NEVER").code == 555
        for rcpt in (ALICE, BOB, "both@example.org"):
            c.cmd(f"RCPT TO:<{rcpt}>", expect=250)
        r = c.cmd("RCPT TO:<postmaster@example.org>")
        assert (r.code, r.enh) == (452, "4.5.3")                # limits.recipients
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert [r.code for r in c.replies(3)] == [250, 250, 250]
        assert c.cmd("NOOP").code == 250                         # and no fourth reply


def test_nul_and_overlong_command_line(lmtp):
    srv = lmtp()
    with LMTPClient(srv.lmtp_port) as c:
        replies = c.transaction([ALICE, BOB], b"Subject: x\r\n\r\nnul \x00 here\r\n")
        assert [(r.code, r.enh) for r in replies] == [(550, "5.6.0")] * 2
        assert c.cmd("NOOP " + "x" * 600).code == 500            # 512-octet command lines
        assert c.cmd("NOOP").code == 250
    assert srv.all_delivered() == []


def test_too_many_errors_closes(lmtp):
    srv = lmtp(config={"limits": {"errors": 3}})
    with LMTPClient(srv.lmtp_port) as c:
        c.send(b"EHLO a\r\nHELO b\r\nXYZZY\r\n")
        codes = [r.code for r in c.replies(4)]
        assert codes == [500, 500, 500, 421]
        assert c.is_closed()
