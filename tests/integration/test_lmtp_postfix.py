"""Postfix in front of postern, as on a real host: Postfix's smtpd takes the
mail, its lmtp client delivers it to postern over LMTP (TCP and the UNIX
socket), and reads the reply per recipient.

The Postfix instance is private to the test: its own configuration
directory, queue and log under the test's temporary directory, started with
`postfix -c DIR start` on loopback ports; the system's instance (if any) is
never touched. Skipped when Postfix is not installed (scripts/deps.sh has it)
or the tests do not run as root (Postfix's master must).
"""
import os
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import IO_TIMEOUT, free_port, make_message
from test_lmtp import break_maildir
from test_privileges import let_others_through

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

pytestmark = pytest.mark.skipif(not os.path.exists(POSTFIX) or os.geteuid() != 0,
                                reason="needs Postfix (scripts/deps.sh) and root")

ALICE, BOB = "alice@example.org", "bob@example.org"

MASTER_CF = """\
{smtpd} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private Postfix: smtpd on 127.0.0.1:port, everything for example.org
    to `transport` (lmtp:inet:... or lmtp:unix:...)."""

    def __init__(self, root, transport):
        self.root = root
        self.conf = root / "conf"
        self.log = root / "maillog"
        self.port = free_port()
        self.conf.mkdir(parents=True)
        (root / "queue").mkdir()
        (root / "data").mkdir()
        shutil.chown(root / "data", "postfix")
        (self.conf / "master.cf").write_text(MASTER_CF.format(smtpd=f"127.0.0.1:{self.port}"))
        (self.conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {self.log}
maillog_file_prefixes = {root}
mail_owner = postfix
myhostname = relay.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = example.org
virtual_transport = {transport}
default_transport = error
relay_transport = error
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
""")

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", str(self.conf), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)

    def start(self):
        p = self.postfix("start")
        assert p.returncode == 0, p.stdout + self.log_text()
        deadline = time.monotonic() + 20
        while "daemon started" not in self.log_text():
            assert time.monotonic() < deadline, self.log_text()
            time.sleep(0.1)

    def stop(self):
        self.postfix("stop")

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send(self, rcpts, subject):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=IO_TIMEOUT) as c:
            return c.sendmail("s@remote.test", rcpts, make_message(subject=subject))

    def wait_status(self, rcpt, status, timeout=20):
        """The log line of Postfix's lmtp client for rcpt with this status."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_text().splitlines():
                if "postfix/lmtp" in line and f"to=<{rcpt}>" in line and f"status={status}" in line:
                    return line
            assert time.monotonic() < deadline, f"no {status} for {rcpt}:\n{self.log_text()}"
            time.sleep(0.1)


@pytest.fixture
def postfix_root(tmp_path):
    let_others_through(tmp_path)
    root = tmp_path / "postfix"
    root.mkdir()
    os.chmod(root, 0o755)
    instances = []
    yield root, instances
    for pf in instances:
        pf.stop()


@pytest.mark.parametrize("over", ["inet", "unix"])
def test_postfix_delivers_over_lmtp(postern, postfix_root, tmp_path, over):
    root, instances = postfix_root
    sock = tmp_path / "run" / "lmtp.sock"
    port = free_port()
    # Postfix's lmtp client runs as postfix: the socket is its group's
    srv = postern(config={"listen": {"lmtp": [f"127.0.0.1:{port}", f"unix:{sock}"]},
                          "lmtp": {"socket_group": "postfix"}})
    os.chmod(sock.parent, 0o755)
    transport = f"lmtp:inet:127.0.0.1:{port}" if over == "inet" else f"lmtp:unix:{sock}"
    pf = Postfix(root, transport)
    instances.append(pf)
    pf.start()
    assert pf.send([ALICE, BOB], "through postfix") == {}
    for rcpt in (ALICE, BOB):
        line = pf.wait_status(rcpt, "sent")
        assert f"250 2.0.0 <{rcpt}>: Ok: queued as" in line, line
    for user in ("alice", "bob"):
        assert b"Subject: through postfix" in srv.messages(user)[0]
    t = srv.wait_log("smtp.transaction")[0]
    assert t["service"] == "lmtp" and t["ip"] == ("127.0.0.1" if over == "inet" else "unix")


def test_postfix_defers_only_the_failed_recipient(postern, postfix_root):
    """bob's Maildir is broken: Postfix is told 451 for bob alone, delivers
    alice's copy once, and keeps bob's in its queue to retry."""
    root, instances = postfix_root
    port = free_port()
    srv = postern(config={"listen": {"lmtp": [f"127.0.0.1:{port}"]}})
    break_maildir(srv, "bob")
    pf = Postfix(root, f"lmtp:inet:127.0.0.1:{port}")
    instances.append(pf)
    pf.start()
    assert pf.send([ALICE, BOB], "half") == {}
    assert "250 2.0.0" in pf.wait_status(ALICE, "sent")
    assert "451 4.3.0" in pf.wait_status(BOB, "deferred")
    assert len(srv.maildir("alice")) == 1 and srv.maildir("bob") == []
    # fixed: Postfix retries bob alone (its backoff is 1-2 s here); alice gets no second copy
    os.remove(srv.maildir_path("bob") / "tmp")
    # `postfix flush` rather than the backoff alone: a loaded machine delays the queue manager
    deadline = time.monotonic() + 90
    while not any("postfix/lmtp" in ln and f"to=<{BOB}>" in ln and "status=sent" in ln
                  for ln in pf.log_text().splitlines()):
        assert time.monotonic() < deadline, pf.log_text()
        pf.postfix("flush")
        time.sleep(2)
    assert len(srv.maildir("bob")) == 1 and len(srv.maildir("alice")) == 1
