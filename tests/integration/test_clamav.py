"""ClamAV: `postern clamav scan FILE` (src/filter/clamav.c on its own event loop)
against a real clamd started by the fixture with only a test signature for the
EICAR string (clamav_fixture.py), and against fake clamds on loopback that
misbehave. EICAR in a base64 attachment is refused with 554 5.7.0 and the
signature's name, clean mail is accepted, both over TCP and the UNIX socket;
clamd down, silent, over its StreamMaxLength or answering a line too long
follows clamav.on_error both ways; a message over clamav.max_size is not sent;
a 50 MiB message is scanned whole while postern's memory stays bounded;
`config check --connect` pings clamd."""
import base64
import os
import socket
import subprocess
import threading

import pytest

from clamav_fixture import EICAR, FOUND_NAME, ClamAV, need_clamd
from conftest import HOST, base_config, config_text, free_port, postern_env, run_postern


@pytest.fixture(scope="module")
def clamd(tmp_path_factory):
    need_clamd()
    with ClamAV(tmp_path_factory.mktemp("clamd")) as c:
        yield c


@pytest.fixture
def scan(tmp_path):
    """scan(message bytes, **clamav keys) -> (returncode, {field: value})"""
    counter = [0]

    def run(message, run_timeout=60, **clamav):
        counter[0] += 1
        conf = write_config(tmp_path / f"postern{counter[0]}.conf", clamav)
        msg = tmp_path / f"msg{counter[0]}.eml"
        msg.write_bytes(message)
        p = run_postern("clamav", "scan", msg, config=conf, timeout=run_timeout)
        return p.returncode, fields(p)
    return run


def write_config(path, clamav):
    cfg = base_config(path.parent / "data", free_port())
    cfg["clamav"] = clamav
    path.write_text(config_text(cfg), encoding="utf-8")
    return path


def fields(p):
    assert p.stdout, p.stderr
    return dict(line.split(": ", 1) for line in p.stdout.splitlines())


def mime_message(attachment, name="invoice.com", text=b"Please see the attachment.\n"):
    """A multipart message with attachment as a base64 part."""
    b64 = base64.encodebytes(attachment)
    msg = (b"From: sender@remote.test\nTo: alice@example.org\nSubject: attachment\n"
           b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
           b"--b1\nContent-Type: text/plain\n\n" + text +
           b"--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
           b"Content-Disposition: attachment; filename=\"" + name.encode() + b"\"\n\n" +
           b64 + b"--b1--\n")
    assert EICAR not in msg     # only decoding finds it
    return msg.replace(b"\n", b"\r\n")


CLEAN = b"From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: hello\r\n\r\nHello.\r\n"


def test_eicar_attachment_refused(clamd, scan):
    rc, out = scan(mime_message(EICAR), address=clamd.tcp_address)
    assert rc == 1
    assert out["result"] == "virus"
    assert out["virus"] == FOUND_NAME
    assert out["action"] == f"reject 554 5.7.0 Virus found: {FOUND_NAME}"
    assert out["log"] == f"virus {FOUND_NAME} found: rejected"


def test_clean_accepted(clamd, scan):
    rc, out = scan(CLEAN, address=clamd.tcp_address)
    assert (rc, out["result"], out["action"]) == (0, "clean", "accept")
    # a clean attachment too
    rc, out = scan(mime_message(b"MZ" + bytes(range(256)) * 40), address=clamd.tcp_address)
    assert (rc, out["result"]) == (0, "clean")


def test_unix_socket(clamd, scan):
    rc, out = scan(mime_message(EICAR), address=clamd.unix_address)
    assert (rc, out["result"], out["virus"]) == (1, "virus", FOUND_NAME)
    rc, out = scan(CLEAN, address=clamd.unix_address)
    assert (rc, out["result"]) == (0, "clean")


def test_clamd_down_on_error(scan, tmp_path):
    dead = f"{HOST}:{free_port()}"
    rc, out = scan(mime_message(EICAR), address=dead)
    assert rc == 1 and out["result"] == "failed"
    assert out["action"] == "defer 451 4.7.1 Virus scan unavailable, try again later"
    assert "connect: Connection refused" in out["log"] and "deferred" in out["log"]
    rc, out = scan(mime_message(EICAR), address=dead, on_error="accept")
    assert (rc, out["result"], out["action"]) == (0, "failed", "accept")
    assert "accepted (on_error accept)" in out["log"]
    rc, out = scan(CLEAN, address=f"unix:{tmp_path}/no-clamd.sock", on_error="tempfail")
    assert out["action"].startswith("defer 451 4.7.1")
    assert "No such file or directory" in out["log"]


def test_clamd_stopped_and_started(tmp_path, scan):
    """The same clamd answering, then stopped: on_error decides; started: answers."""
    need_clamd()
    c = ClamAV(tmp_path / "clamd2")
    with c:
        rc, out = scan(CLEAN, address=c.unix_address)
        assert out["result"] == "clean"
    rc, out = scan(CLEAN, address=c.unix_address, on_error="accept")
    assert (rc, out["result"], out["action"]) == (0, "failed", "accept")
    rc, out = scan(CLEAN, address=c.tcp_address)
    assert (rc, out["result"]) == (1, "failed")


def test_over_max_size_not_sent(scan):
    """Over clamav.max_size: accepted unscanned, clamd never asked (nobody listens)."""
    rc, out = scan(mime_message(EICAR, text=b"x" * 3000 + b"\n"),
                   address=f"{HOST}:{free_port()}", max_size="2K")
    assert (rc, out["result"], out["action"]) == (0, "not-scanned", "accept")
    assert "over clamav.max_size (2048)" in out["log"]


def test_over_stream_max_length(tmp_path, scan):
    """clamd refuses a stream over its StreamMaxLength (and closes while we send):
    an error, which on_error decides, never a clean verdict."""
    need_clamd()
    big = mime_message(os.urandom(3 << 20))
    with ClamAV(tmp_path / "clamd-small", stream_max="1M") as c:
        rc, out = scan(big, address=c.tcp_address)
        assert (rc, out["result"]) == (1, "failed")
        assert out["action"].startswith("defer 451 4.7.1")
        rc, out = scan(big, address=c.unix_address, on_error="accept")
        assert (rc, out["result"], out["action"]) == (0, "failed", "accept")


# ---- fake clamds -----------------------------------------------------------------


class FakeClamd:
    """Accepts on 127.0.0.1, reads what comes, and does `answer(conn)`."""

    def __init__(self, answer):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(4)
        self.address = f"{HOST}:{self.sock.getsockname()[1]}"
        self.answer = answer
        self.conns = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        conn.settimeout(30)
        try:
            self.answer(conn)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(timeout=10)


def read_stream(conn):
    """Reads the command and the chunks up to the zero-length one."""
    data = b""
    while not data.endswith(b"\0\0\0\0"):
        d = conn.recv(65536)
        if not d:
            break
        data += d
    return data


def test_server_never_answers(scan):
    got = []
    fake = FakeClamd(lambda conn: (got.append(read_stream(conn)), conn.recv(1)))
    try:
        rc, out = scan(CLEAN, address=fake.address, timeout="1s")
    finally:
        fake.close()
    assert got and got[0].startswith(b"zINSTREAM\0")
    assert (rc, out["result"]) == (1, "failed")
    assert "no answer within 1000 ms" in out["log"]
    assert out["action"].startswith("defer 451 4.7.1")


def test_reply_too_long(scan):
    fake = FakeClamd(lambda conn: (read_stream(conn), conn.sendall(b"stream: " + b"A" * 100000)))
    try:
        rc, out = scan(CLEAN, address=fake.address, on_error="accept")
    finally:
        fake.close()
    assert (rc, out["result"], out["action"]) == (0, "failed", "accept")
    assert "reply longer than 1024 octets" in out["log"]


def test_hostile_name_made_safe(scan):
    """A signature name is only a name in the reply: no CR LF, no quotes, bounded."""
    name = b"Evil\r\n250 2.0.0 Ok\"<x>" + b"B" * 300
    fake = FakeClamd(lambda conn: (read_stream(conn), conn.sendall(b"stream: " + name + b" FOUND\0")))
    try:
        rc, out = scan(CLEAN, address=fake.address)
    finally:
        fake.close()
    # the LF ends clamd's reply: what came before it is all there is
    assert (rc, out["result"]) == (1, "failed")
    name = b"Evil\r250 2.0.0 Ok\"<x>\x01\xff" + b"B" * 300
    fake = FakeClamd(lambda conn: (read_stream(conn), conn.sendall(b"stream: " + name + b" FOUND\0")))
    try:
        rc, out = scan(CLEAN, address=fake.address)
    finally:
        fake.close()
    assert (rc, out["result"]) == (1, "virus")
    assert out["virus"] == "Evil?250 2.0.0 Ok??x???" + "B" * 77
    assert out["action"] == f"reject 554 5.7.0 Virus found: {out['virus']}"


# ---- a large message, memory bounded ---------------------------------------------


# Measures from a small process of its own: the peak RSS (ru_maxrss) a child
# reports survives exec and starts from its parent's size at fork, and pytest's
# process is large after making a 50 MiB file.
MEASURE = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nmaxrss %d exit %d\\n" % (usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


def max_rss_kib(args, env):
    """Runs postern with args; returns (exit code, stdout, its own max RSS in KiB)."""
    p = subprocess.run(["/usr/bin/python3", "-c", MEASURE, *args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    assert "AddressSanitizer" not in err and "runtime error" not in err, err
    rss, code = err.split("maxrss ")[-1].split(" exit ")
    return int(code), p.stdout.decode(), int(rss)


def test_50mib_message_scanned_with_bounded_memory(clamd, tmp_path):
    """50 MiB with the EICAR attachment at its very end: found, so clamd got it all;
    postern's peak memory is about that of a 100-octet message, not 50 MiB more."""
    conf = write_config(tmp_path / "postern.conf", {"address": clamd.tcp_address,
                                                    "max_size": "64M", "timeout": "120s"})
    small = tmp_path / "small.eml"
    small.write_bytes(CLEAN)
    big = tmp_path / "big.eml"
    filler = mime_message(os.urandom(38 << 20), name="video.bin")
    with open(big, "wb") as f:
        f.write(filler[:-len(b"--b1--\r\n")])
        f.write(b"--b1\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" +
                base64.encodebytes(EICAR).replace(b"\n", b"\r\n") + b"--b1--\r\n")
    assert big.stat().st_size >= 50 << 20
    env = postern_env()
    # ASan's quarantine keeps freed memory resident (256 MiB by default): what
    # postern holds is then what it uses
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"
    from conftest import POSTERN_BIN
    rc, out, rss_small = max_rss_kib([POSTERN_BIN, "clamav", "scan", str(small), "-c", str(conf)], env)
    assert rc == 0, out
    rc, out, rss_big = max_rss_kib([POSTERN_BIN, "clamav", "scan", str(big), "-c", str(conf)], env)
    assert f"virus: {FOUND_NAME}" in out, out
    assert rc == 1
    assert rss_big - rss_small < 16 * 1024, (rss_small, rss_big)


# ---- config check --connect ------------------------------------------------------


def test_config_check_connect(clamd, tmp_path):
    conf = write_config(tmp_path / "ok.conf", {"address": clamd.unix_address})
    p = run_postern("config", "check", "--connect", config=conf)
    assert p.returncode == 0, p.stderr
    assert f"clamav: clamd {clamd.unix_address} answered PONG" in p.stdout
    # without --connect clamd is not asked
    dead = write_config(tmp_path / "dead.conf", {"address": f"{HOST}:{free_port()}"})
    assert run_postern("config", "check", config=dead).returncode == 0
    p = run_postern("config", "check", "--connect", config=dead)
    assert p.returncode == 1
    assert "clamav: clamd" in p.stderr and "Connection refused" in p.stderr
    assert "did not answer" in p.stderr
    # something else on the port: not clamd
    fake = FakeClamd(lambda conn: (conn.recv(100), conn.sendall(b"220 smtp.example ESMTP\r\n")))
    try:
        conf = write_config(tmp_path / "fake.conf", {"address": fake.address})
        p = run_postern("config", "check", "--connect", config=conf)
    finally:
        fake.close()
    assert p.returncode == 1 and "to PING" in p.stderr
    # off: nothing to check
    off = write_config(tmp_path / "off.conf", {"enabled": False, "address": f"{HOST}:{free_port()}"})
    p = run_postern("config", "check", "--connect", config=off)
    assert p.returncode == 0 and "clamav" not in p.stdout


def test_config_errors(tmp_path):
    bad = write_config(tmp_path / "bad.conf", {"on_error": "reject"})
    p = run_postern("config", "check", config=bad)
    assert p.returncode != 0 and "'clamav.on_error' must be" in p.stderr


# ---- on port 25 (src/smtp/smtp_scan.c) ------------------------------------------------------


def smtp_send(srv, msg):
    with srv.connect() as c:
        return c.send_message("sender@remote.test", ["alice@example.org"], msg)


def test_port25_virus_refused_clean_delivered(clamd, postern):
    srv = postern(config={"clamav": {"address": clamd.tcp_address}})
    r = smtp_send(srv, mime_message(EICAR))
    assert (r.code, r.enh) == (554, "5.7.0"), r
    assert FOUND_NAME in r.text
    assert srv.all_delivered() == []
    assert srv.transactions()[-1]["result"] == "rejected: virus"
    assert srv.wait_log("smtp.virus", lambda e: e.get("virus") == FOUND_NAME)
    r = smtp_send(srv, CLEAN)
    assert r.code == 250, r
    assert len(srv.messages("alice")) == 1


def test_port25_clamd_down_defers_by_default(postern):
    srv = postern(config={"clamav": {"address": f"127.0.0.1:{free_port()}", "timeout": "2s"}})
    r = smtp_send(srv, CLEAN)
    assert (r.code, r.enh) == (451, "4.7.1"), r
    assert srv.all_delivered() == []
    # the session goes on: the next transaction is read
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@remote.test>", expect=250)


def test_submission_is_not_scanned(clamd, postern):
    # the scanners judge mail from other servers; relay.hosts are ours
    srv = postern(config={"clamav": {"address": clamd.tcp_address},
                          "relay": {"hosts": ["127.0.0.1/32"]}})
    r = smtp_send(srv, mime_message(EICAR))
    assert r.code == 250, r
