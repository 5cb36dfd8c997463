"""rspamd as the content filter (src/filter/rspamd.c), end to end against a real
rspamd (rspamd_fixture.py) through `postern rspamd check|learn` and `config check
--connect`, and learning from IMAP moves into and out of Junk through a running
postern. The SMTP wiring comes later; these tests hold the client to its word:
each action's verdict, reply and headers, the envelope rspamd sees, rspamd down,
silent or hostile, and the bounds.
"""
import socket
import threading
import time

import pytest

from conftest import HOST, config_text, free_port, run_postern
from imap_fixtures import imap_conn, imap_server, simple_message
from rspamd_fixture import rspamd  # noqa: F401  (the fixture)

MESSAGE = ("From: Sender <sender@remote.test>\nTo: alice@example.org\nSubject: hello there\n"
           "Message-ID: <{mid}@remote.test>\nDate: Mon, 07 Dec 2026 10:00:00 +0000\n\n"
           "Some text. {marker}\nMore text.\n")


def write_config(tmp_path, address, **rspamd_keys):
    cfg = {"hostname": "mx.example.org", "data_dir": str(tmp_path / "data"), "user": "",
           "rspamd": {"enabled": True, "address": address, "timeout": "3s", **rspamd_keys}}
    path = tmp_path / "postern.conf"
    path.write_text(config_text(cfg))
    return path


def message_file(tmp_path, marker, mid=None, name="msg.eml"):
    p = tmp_path / name
    p.write_text(MESSAGE.format(marker=marker, mid=mid or marker.lower() or "plain"))
    return p


def check(conf, msg, *extra):
    p = run_postern("rspamd", "check", msg, "--from", "sender@remote.test", "--rcpt",
                    "alice@example.org", "--ip", "192.0.2.7", "--helo", "mail.remote.test",
                    *extra, config=conf)
    assert p.returncode == 0, p.stderr
    return parse(p.stdout)


def parse(out):
    """The CLI's "key: value" lines, and the header block after "headers:"."""
    res, lines = {}, out.splitlines()
    for i, line in enumerate(lines):
        if line == "headers:":
            res["headers"] = "\n".join(lines[i + 1:])
            break
        key, _, value = line.partition(": ")
        res[key] = value
    return res


@pytest.fixture
def conf(tmp_path, rspamd):  # noqa: F811
    return write_config(tmp_path, rspamd.address, controller=rspamd.controller_address,
                        password=rspamd.password)


# ---- the actions ------------------------------------------------------------------------------

@pytest.mark.parametrize("marker,verdict,action,reply", [
    ("", "accept", "no action", None),
    ("POSTERN-TEST-SPAM", "reject", "reject", "550 5.7.1 Spam message rejected"),
    ("POSTERN-TEST-SOFT", "defer", "soft reject", "451 4.7.1 Busy (test), come back later"),
    ("POSTERN-TEST-JUNK", "junk", "add header", None),
    ("POSTERN-TEST-SUBJECT", "junk", "rewrite subject", None),
    # rspamd's milter accepts "greylist" at the end of DATA: its greylist module, when on,
    # answers "soft reject" itself until the sender has waited
    ("POSTERN-TEST-GREY", "accept", "greylist", None),
])
def test_action_decides(conf, tmp_path, marker, verdict, action, reply):
    r = check(conf, message_file(tmp_path, marker))
    assert r["verdict"] == verdict
    assert r["action"] == action
    assert r.get("reply") == reply
    if verdict in ("accept", "junk"):
        h = r["headers"]
        assert h.startswith("X-Spamd-Result: default: ")
        assert f"\nX-Rspamd-Action: {action}\n" in h + "\n"
        assert ("\nX-Spam: Yes" in h) == (verdict == "junk")
    else:
        assert "headers" not in r
    if marker:
        assert marker.replace("-", "_") in r.get("headers", marker.replace("-", "_"))


def test_rewrite_subject_is_a_header_change(conf, tmp_path):
    r = check(conf, message_file(tmp_path, "POSTERN-TEST-SUBJECT"))
    assert r["subject"] == "***SPAM*** hello there"
    assert "X-Rspamd-Score: 10.00" in r["headers"]


def test_envelope_and_authres_reach_rspamd(conf, tmp_path, rspamd):  # noqa: F811
    msg = message_file(tmp_path, "", mid="envelope-check")
    p = run_postern("rspamd", "check", msg, "--from", "sender@remote.test", "--rcpt",
                    "alice@example.org", "--rcpt", "bob@example.org", "--ip", "192.0.2.77",
                    "--helo", "mail.remote.test", "--authres", "mx.example.org; spf=pass",
                    config=conf)
    assert p.returncode == 0, p.stderr
    line = ""
    for _ in range(50):
        line = next((ln for ln in rspamd.log().splitlines()
                     if "rspamd_task_write_log" in ln and "envelope-check" in ln), "")
        if line:
            break
        time.sleep(0.1)
    assert "ip: 192.0.2.77" in line
    assert "from: <sender@remote.test>" in line
    assert "rcpts: <alice@example.org,bob@example.org>" in line
    # the length rspamd saw includes our Authentication-Results field
    size = len(msg.read_bytes()) + len("Authentication-Results: mx.example.org; spf=pass\n")
    assert f"len: {size}," in line


# ---- rspamd down, silent, hostile -------------------------------------------------------------

def test_down_tempfails_by_default(tmp_path):
    conf = write_config(tmp_path, f"{HOST}:{free_port()}")
    r = check(conf, message_file(tmp_path, "POSTERN-TEST-SPAM"))
    assert r["verdict"] == "defer"
    assert r["reply"].startswith("451 4.7.1 ")
    assert r["log"].startswith("error: ")


def test_down_accepts_when_told(tmp_path):
    conf = write_config(tmp_path, f"{HOST}:{free_port()}", on_error="accept")
    r = check(conf, message_file(tmp_path, "POSTERN-TEST-SPAM"))
    assert r["verdict"] == "accept"
    assert "reply" not in r and "headers" not in r


class FakeRspamd:
    """A socket that accepts and answers with `reply` (bytes), or never when None."""

    def __init__(self, reply=None):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.address = f"{HOST}:{self.sock.getsockname()[1]}"
        self.reply = reply
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.reply is not None:
                c.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        data += c.recv(65536)
                    c.sendall(self.reply)
                    c.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_silent_rspamd_times_out(tmp_path):
    fake = FakeRspamd()
    try:
        conf = write_config(tmp_path, fake.address, timeout="1s")
        t0 = time.monotonic()
        r = check(conf, message_file(tmp_path, ""))
        assert time.monotonic() - t0 < 10
        assert r["verdict"] == "defer"
        assert r["log"] == "error: timeout"
    finally:
        fake.close()


def http(body, status="200 OK", extra=b""):
    body = body if isinstance(body, bytes) else body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n".encode() + extra + b"\r\n" +
            body)


HOSTILE = [
    ("not json", http("<html>hello</html>"), "error: reply is not a JSON object"),
    ("no action", http('{"score": 1, "required_score": 15}'), "error: no action in the reply"),
    ("status", http('{"error":"x"}', status="500 Internal"), "error: HTTP status 500"),
    ("huge length", b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{",
     "error: reply too large"),
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}\r\n0\r\n\r\n",
     "error: bad reply: Transfer-Encoding is not supported"),
    ("not http", b"SMTP 220 hi\r\n\r\n", "error: bad reply: not an HTTP/1.x status line"),
    ("short body", b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"action\":",
     "error: connection closed before the reply"),
    ("nan score", http('{"action":"reject","score":1e300,"required_score":15}'),
     "error: no usable score in the reply"),
]


@pytest.mark.parametrize("name,reply,log", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_reply_is_an_error(tmp_path, name, reply, log):
    fake = FakeRspamd(reply)
    try:
        r = check(write_config(tmp_path, fake.address), message_file(tmp_path, ""))
        assert r["verdict"] == "defer"
        assert r["log"] == log
    finally:
        fake.close()


def test_hostile_values_are_sanitized(tmp_path):
    body = ('{"action":"rewrite subject","score":9,"required_score":15,'
            '"subject":"x\\r\\nBcc: victim@example.org\\u0007y",'
            '"messages":{"smtp_message":"ok\\r\\n250 fake"},'
            '"symbols":{"A\\r\\nInjected: 1":{"score":1},"GOOD_ONE":{"score":9}}}')
    fake = FakeRspamd(http(body))
    try:
        r = check(write_config(tmp_path, fake.address), message_file(tmp_path, ""))
        assert r["verdict"] == "junk"
        assert "\r" not in r["subject"] and "\n" not in r["subject"]
        assert r["subject"].startswith("x  Bcc: victim@example.org")
        assert "Injected" not in r["headers"]
        assert "GOOD_ONE(9.00)" in r["headers"]
        # every header line is a field or a fold
        for line in r["headers"].splitlines():
            assert line.startswith(("X-", "\t")), line
    finally:
        fake.close()


def test_reject_text_from_rspamd_is_sanitized(tmp_path):
    body = ('{"action":"reject","score":99,"required_score":15,'
            '"messages":{"smtp_message":"Go away\\r\\n250 2.0.0 Ok"}}')
    fake = FakeRspamd(http(body))
    try:
        r = check(write_config(tmp_path, fake.address), message_file(tmp_path, ""))
        assert r["reply"] == "550 5.7.1 Go away  250 2.0.0 Ok"
    finally:
        fake.close()


def test_message_over_max_size_is_not_scanned(tmp_path, rspamd):  # noqa: F811
    conf = write_config(tmp_path, rspamd.address, max_size="1K")
    big = tmp_path / "big.eml"
    big.write_text(MESSAGE.format(marker="POSTERN-TEST-SPAM", mid="big") + "x" * 2000 + "\n")
    r = check(conf, big)
    assert r["verdict"] == "accept"
    assert r["log"].startswith("not scanned: ")
    small = check(conf, message_file(tmp_path, "POSTERN-TEST-SPAM"))
    assert small["verdict"] == "reject"


def test_large_message_streams(conf, tmp_path):
    """Several MiB go through in pieces (the spool is read in chunks) and are judged."""
    big = tmp_path / "large.eml"
    with open(big, "w") as f:
        f.write(MESSAGE.format(marker="", mid="large"))
        line = "y" * 75 + "\n"
        for _ in range(60000):
            f.write(line)
        f.write("POSTERN-TEST-JUNK at the very end\n")
    r = check(conf, big)
    assert r["verdict"] == "junk", r


# ---- config check --connect -------------------------------------------------------------------

def connect_config(tmp_path, **rspamd_keys):
    port = free_port()
    cfg = {"hostname": "mx.example.org", "data_dir": str(tmp_path / "data"), "user": "",
           "listen": {"smtp": [f"{HOST}:{port}"]}, "rspamd": {"enabled": True, **rspamd_keys}}
    path = tmp_path / "postern.conf"
    path.write_text(config_text(cfg))
    return path


def test_config_check_connect(tmp_path, rspamd):  # noqa: F811
    ok = connect_config(tmp_path, address=rspamd.address, controller=rspamd.controller_address,
                        password=rspamd.password)
    p = run_postern("config", "check", "--connect", config=ok)
    assert p.returncode == 0, p.stderr
    assert f"rspamd: rspamd.address {rspamd.address} answers" in p.stdout
    assert "takes the password" in p.stdout
    # without --connect nothing is asked
    assert "rspamd:" not in run_postern("config", "check", config=ok).stdout

    bad = connect_config(tmp_path, address=rspamd.address, controller=rspamd.controller_address,
                         password="wrong")
    p = run_postern("config", "check", "--connect", config=bad)
    assert p.returncode == 1
    assert "the password is refused (rspamd.password)" in p.stderr

    down = connect_config(tmp_path, address=f"{HOST}:{free_port()}", timeout="2s")
    p = run_postern("config", "check", "--connect", config=down)
    assert p.returncode == 1
    assert "rspamd.address" in p.stderr


def test_config_keys_are_checked(tmp_path):
    for keys, text in [({"on_error": "maybe"}, "'rspamd.on_error' must be"),
                       ({"address": "localhost:11333"}, "'rspamd.address': bad address"),
                       ({"timeout": "1h"}, "timeout"),
                       ({"password": "a\nb"}, "control character")]:
        path = tmp_path / "bad.conf"
        path.write_text(config_text({"hostname": "mx.example.org", "user": "",
                                     "data_dir": str(tmp_path / "d"), "rspamd": keys}))
        p = run_postern("config", "check", config=path)
        assert p.returncode != 0 and text in p.stderr, (keys, p.stderr)


# ---- learning ---------------------------------------------------------------------------------

def test_cli_learn(conf, tmp_path, rspamd):  # noqa: F811
    before = rspamd.learned()
    msg = message_file(tmp_path, "cli learn words here", mid="cli-learn")
    p = run_postern("rspamd", "learn", "spam", msg, config=conf)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "learnt as spam"
    assert rspamd.learned() == before + 1
    again = run_postern("rspamd", "learn", "spam", msg, config=conf)
    assert again.stdout.strip() == "already learnt as spam"


def test_cli_learn_wrong_password(tmp_path, rspamd):  # noqa: F811
    conf = write_config(tmp_path, rspamd.address, controller=rspamd.controller_address,
                        password="wrong")
    p = run_postern("rspamd", "learn", "ham", message_file(tmp_path, "x", mid="pw"), config=conf)
    assert p.returncode == 1


def learn_events(srv, n, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = [e for e in srv.logs() if e.get("event") == "rspamd.learn"]
        if len(ev) >= n:
            return ev
        time.sleep(0.1)
    return [e for e in srv.logs() if e.get("event") == "rspamd.learn"]


@pytest.fixture
def learning_srv(postern, rspamd):  # noqa: F811
    return imap_server(postern, config={"rspamd": {
        "enabled": True, "address": rspamd.address, "controller": rspamd.controller_address,
        "password": rspamd.password}})


def test_imap_moves_train_rspamd(learning_srv, rspamd):  # noqa: F811
    srv = learning_srv
    before = rspamd.learned()
    c = imap_conn(srv)
    c.ok('CREATE "Work"')
    for i in range(3):
        assert c.append("INBOX", simple_message(
            f"learn-{i}", body=f"Words to learn from, message {i}: {i * 7919} cheap watches.\n")).status == "OK"
    c.ok("SELECT INBOX")
    c.ok("UID MOVE 1 Junk")                     # into Junk: spam
    c.ok("UID COPY 2 Junk")                     # a copy too
    c.ok("UID STORE 3 +FLAGS ($Junk)")          # the keyword
    c.ok("UID STORE 3 +FLAGS ($Junk)")          # set already: nothing new
    c.ok("UID COPY 3 Work")                     # between ordinary mailboxes: nothing
    ev = learn_events(srv, 3)
    assert [e["as"] for e in ev] == ["spam", "spam", "spam"]
    c.ok("SELECT Junk")
    c.ok("UID MOVE 1 INBOX")                    # out of Junk: ham
    c.ok("UID MOVE 2 Trash")                    # spam thrown away: nothing
    ev = learn_events(srv, 4)
    assert [e["as"] for e in ev] == ["spam", "spam", "spam", "ham"]
    time.sleep(0.5)
    assert len(learn_events(srv, 5, timeout=1)) == 4
    # rspamd learnt each (the moved message as spam, then as ham again)
    deadline = time.monotonic() + 10
    while rspamd.learned() < before + 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rspamd.learned() >= before + 4
    c.close()


def test_learning_off_means_no_learn(postern, rspamd):  # noqa: F811
    srv = imap_server(postern, config={"rspamd": {
        "enabled": True, "learn": False, "address": rspamd.address,
        "controller": rspamd.controller_address, "password": rspamd.password}})
    c = imap_conn(srv)
    assert c.append("INBOX", simple_message("no learning")).status == "OK"
    c.ok("SELECT INBOX")
    c.ok("UID MOVE 1 Junk")
    time.sleep(1)
    assert not [e for e in srv.logs() if e.get("event", "").startswith("rspamd.learn")]
    c.close()
