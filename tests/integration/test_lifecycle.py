"""Process lifecycle: graceful stop (idle and mid-message), SIGINT, log reopen,
banner and one transaction log line per transaction."""
import json
import os
import re
import signal
import socket
import time

from conftest import HOSTNAME, SMTPClient, make_message, split_delivered


def test_banner_and_greeting(server):
    out = server.stdout_path.read_text()
    assert out.startswith("postern "), out
    assert f"serving {HOSTNAME}" in out
    assert f"127.0.0.1:{server.port}" in out
    with server.connect() as c:
        assert c.banner.code == 220
        assert c.banner.text == f"{HOSTNAME} ESMTP postern"


def test_sigterm_with_idle_clients(server):
    clients = [server.connect() for _ in range(5)]
    clients[1].ehlo()
    clients[2].ehlo()
    clients[2].cmd("MAIL FROM:<s@remote.test>", expect=250)   # in a transaction, not in DATA
    t0 = time.monotonic()
    server.send_signal(signal.SIGTERM)
    for i, c in enumerate(clients):
        if i == 2:
            continue
        r = c.reply(timeout=5)
        assert (r.code, r.enh) == (421, "4.3.2"), (i, r)
        assert c.is_closed(timeout=5), i
    # the session with an open transaction may finish it, and is closed by the deadline at latest
    rc = server.wait_exit(timeout=15)
    elapsed = time.monotonic() - t0
    assert rc == 0, server.stderr_text()[-3000:]
    # shutdown grace is 5s in the test config
    assert elapsed < 8, elapsed
    for c in clients:
        c.close()
    assert server.logs("server.stopped")


def test_sigterm_idle_exits_quickly(server):
    clients = [server.connect() for _ in range(3)]
    t0 = time.monotonic()
    server.send_signal(signal.SIGTERM)
    rc = server.wait_exit(timeout=10)
    assert rc == 0
    assert time.monotonic() - t0 < 3, "idle sessions held up the shutdown"
    for c in clients:
        assert c.read_until_closed(timeout=2).startswith(b"421 4.3.2 ")
        c.close()


def test_sigint_stops_gracefully(server):
    server.send_signal(signal.SIGINT)
    assert server.wait_exit(timeout=10) == 0
    [ev] = server.logs("server.stopping")
    assert ev["signal"] == signal.SIGINT


def test_sigterm_mid_data(postern):
    srv = postern(config={"timeouts": {"shutdown": "10s"}})
    busy = srv.connect()
    idle = srv.connect()
    idle.ehlo()
    busy.ehlo()
    busy.cmd("MAIL FROM:<s@remote.test>", expect=250)
    busy.cmd("RCPT TO:<alice@example.org>", expect=250)
    busy.cmd("DATA", expect=354)
    first = b"From: <s@remote.test>\r\nSubject: interrupted\r\n\r\n" + b"first half\r\n" * 2000
    second = b"second half\r\n" * 2000 + b"THE END\r\n"
    busy.send(first)
    time.sleep(0.3)
    srv.send_signal(signal.SIGTERM)

    # the idle session is told at once
    r = idle.reply(timeout=5)
    assert (r.code, r.enh) == (421, "4.3.2"), r
    assert idle.is_closed()
    time.sleep(0.3)
    assert srv.running(), "server exited while a message was being received"

    try:
        busy.send(second + b".\r\n")
        r = busy.reply(timeout=8)
    except Exception as e:   # noqa: BLE001 - a refused finish is allowed
        r = e
    rc = srv.wait_exit(timeout=20)
    assert rc == 0, srv.stderr_text()[-3000:]

    files = srv.maildir("alice")
    tmp = srv.maildir("alice", sub="tmp")
    assert tmp == [], f"leftover in tmp/: {tmp}"
    if getattr(r, "code", None) == 250:
        # accepted: the whole message is in new/, and then the session is closed with 421
        assert len(files) == 1
        body = split_delivered(files[0].read_bytes())[1]
        assert body == (first + second).replace(b"\r\n", b"\n")
        r2 = busy.reply(timeout=5)
        assert (r2.code, r2.enh) == (421, "4.3.2"), r2
    else:
        assert files == [], "message delivered without a 250"
    busy.close()
    # this server (10s grace) must have let the message finish
    assert getattr(r, "code", None) == 250, f"message not accepted during the grace period: {r!r}"


def test_shutdown_deadline_aborts_unfinished_message(postern):
    srv = postern(config={"timeouts": {"shutdown": "1s"}})
    c = srv.connect()
    c.ehlo()
    c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    c.cmd("RCPT TO:<alice@example.org>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(b"Subject: never finished\r\n\r\n" + b"partial\r\n" * 1000)
    time.sleep(0.2)
    t0 = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait_exit(timeout=10)
    assert rc == 0
    assert time.monotonic() - t0 < 5
    assert c.is_closed(timeout=2)
    c.close()
    assert srv.all_delivered() == []
    assert [t["result"] for t in srv.transactions()] == ["aborted: shutdown"]


def test_no_new_sessions_while_draining(postern):
    srv = postern(config={"timeouts": {"shutdown": "10s"}})
    busy = srv.connect()
    busy.ehlo()
    busy.cmd("MAIL FROM:<s@remote.test>", expect=250)
    busy.cmd("RCPT TO:<alice@example.org>", expect=250)
    busy.cmd("DATA", expect=354)
    srv.send_signal(signal.SIGTERM)
    srv.wait_log("server.stopping")
    time.sleep(0.2)
    # refused, closed, or silent are all fine; a greeting is not
    data = b""
    try:
        late = SMTPClient(srv.port, banner=False, timeout=3)
        try:
            data = late.sock.recv(100)
        except (TimeoutError, socket.timeout, ConnectionResetError):
            pass
        late.close()
    except (ConnectionRefusedError, OSError):
        pass
    assert not data.startswith(b"220"), f"new session accepted while draining: {data!r}"
    busy.send(make_message() + b".\r\n")
    assert busy.reply().code == 250
    busy.close()
    assert srv.wait_exit(timeout=15) == 0


def test_sighup_reopens_log_file(postern, tmp_path):
    log = tmp_path / "postern.log"
    srv = postern(config={"log": {"file": str(log), "level": "info"}})
    assert srv.logs("server.started", path=log)
    rotated = tmp_path / "postern.log.1"
    log.rename(rotated)
    srv.send_signal(signal.SIGHUP)
    srv.wait_log("tls.reloaded")           # written to the new file
    assert log.exists()
    with srv.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250
    assert len(srv.logs("smtp.transaction", path=log)) == 1
    assert srv.logs("smtp.transaction", path=rotated) == []
    # nothing but sanitizer output (if any) goes to stderr when log.file is set
    assert '"event"' not in srv.stderr_text()


# ---- transaction log --------------------------------------------------------------------


def test_a_transaction_too_long_for_one_log_line_stays_valid_json(postern):
    """200 recipients of 76 octets do not fit a log line (8 KiB): the line
    loses the recipient list, says so, and keeps the result."""
    srv = postern(config={"limits": {"recipients": 300}})
    rcpts = [f"alice+{i:03d}{'t' * 55}@example.org" for i in range(200)]
    with srv.connect() as c:
        assert c.send_message("s@remote.test", rcpts, make_message()).code == 250
    lines = [ln for ln in srv.log_path.read_bytes().splitlines() if b"smtp.transaction" in ln]
    assert len(lines) == 1, lines
    ev = json.loads(lines[0])
    assert ev["result"] == "accepted" and ev["nrcpts"] == 200, ev
    assert ev.get("truncated") is True and "rcpts" not in ev, ev


def test_one_log_line_per_transaction(server):
    ids = []
    m1 = make_message(subject="one")
    m2 = make_message(subject="two", body="x" * 100)
    with server.connect() as c:
        c.ehlo("logger.example.net")
        for msg, rcpts in ((m1, ["alice@example.org"]), (m2, ["alice@example.org", "both@example.org"])):
            c.cmd("MAIL FROM:<log@remote.test>", expect=250)
            for r in rcpts:
                c.cmd(f"RCPT TO:<{r}>", expect=250)
            c.cmd("DATA", expect=354)
            c.send(msg + b".\r\n")
            r = c.reply()
            assert r.code == 250
            ids.append(re.search(r"queued as (\S+)", r.text).group(1))
        # a transaction given up with RSET is not a delivery; one refused at DATA is logged
        c.cmd("MAIL FROM:<gone@remote.test>", expect=250)
        c.cmd("RSET", expect=250)
        c.cmd("MAIL FROM:<bad@remote.test>", expect=250)
        c.cmd("RCPT TO:<bob@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(b"Subject: bare\r\n\r\nbare\nlf\r\n.\r\n")
        assert c.reply().code == 550
        c.cmd("QUIT", expect=221)
    ts = server.transactions()
    accepted = [t for t in ts if t["result"] == "accepted"]
    assert [t["id"] for t in accepted] == ids
    assert len(set(ids)) == 2
    for t, msg, rcpts in zip(accepted, (m1, m2),
                             (["alice@example.org"], ["alice@example.org", "both@example.org"])):
        assert t["ip"] == "127.0.0.1"
        assert t["helo"] == "logger.example.net"
        assert t["tls"] is None
        assert t["from"] == "log@remote.test"
        assert t["rcpts"] == rcpts
        assert t["size"] == len(msg)
        assert t["session"]
    rejected = [t for t in ts if t["result"] != "accepted"]
    assert len(rejected) == 1 and rejected[0]["from"] == "bad@remote.test", rejected
    assert rejected[0]["result"].startswith("rejected")
    assert all(t["from"] != "gone@remote.test" for t in ts)
    # every log line is JSON with ts, level and event
    raw = [ln for ln in server.stderr_path.read_bytes().splitlines() if ln.startswith(b"{")]
    logs = server.logs()
    assert len(logs) == len(raw), "a log line is not valid JSON"
    assert logs and all({"ts", "level", "event"} <= set(e) for e in logs)
    # the Received id is the transaction id
    msgs = server.messages("alice")
    assert sorted(re.search(rb" id (\w+)", m).group(1).decode() for m in msgs) == sorted(ids)


def test_log_never_contains_message_content(server):
    secret = "TOP-SECRET-CONTENT-4711"
    with server.connect() as c:
        c.send_message("s@remote.test", ["alice@example.org"],
                       make_message(subject=secret, body=secret))
    assert secret not in server.stderr_text()


def test_sigterm_tells_tls_clients_too(server):
    from conftest import insecure_context
    c = server.connect()
    c.ehlo()
    c.starttls(insecure_context())
    c.ehlo()
    server.send_signal(signal.SIGTERM)
    try:
        r = c.reply(timeout=5)
    except Exception as e:  # noqa: BLE001
        r = e
    c.close()
    assert server.wait_exit(timeout=10) == 0
    assert getattr(r, "code", None) == 421 and r.enh == "4.3.2", f"no 421 inside TLS: {r!r}"


def test_stale_maildir_tmp_files_removed_at_start(postern):
    # what a delivery killed between writing tmp/ and renaming into new/ leaves behind:
    # gone at start once older than 36 hours (the Maildir convention), fresh ones stay
    srv = postern(start=False)
    md = srv.maildir_path("alice")
    for sub in ("tmp", "new", ".Archive/tmp"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    now = time.time()
    files = {
        "tmp/1700000000.M1P1Q1Rdeadbeef.crashed,S=10,W=11": now - 48 * 3600,   # goes
        ".Archive/tmp/1700000000.M2P1Q2Rdeadbeef.crashed": now - 400 * 86400,    # goes
        "tmp/young": now - 30 * 3600,
        "tmp/fresh": now,
        "new/old-but-delivered": now - 48 * 3600,
    }
    for rel, mtime in files.items():
        p = md / rel
        p.write_bytes(b"Subject: left over\n\nbody\n")
        os.utime(p, (mtime, mtime))
    srv.start()
    [ev] = srv.wait_log("maildir.tmp_swept")
    assert ev["removed"] == 2, ev
    left = sorted(str(p.relative_to(md)) for sub in ("tmp", "new", ".Archive/tmp")
                  for p in (md / sub).iterdir())
    assert left == ["new/old-but-delivered", "tmp/fresh", "tmp/young"], left
    # the server works as before, and a stop ends the sweeper's thread cleanly (teardown checks)
    with srv.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250
    assert len(srv.maildir("alice")) == 2
