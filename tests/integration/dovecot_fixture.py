"""A real Dovecot for the import tests (test_import*.py): Debian's dovecot-imapd and
dovecot-pop3d (scripts/deps.sh) started as a fixture, never as a system service.

Dovecot() writes a minimal dovecot.conf into a directory of its own: listen on
127.0.0.1 only, IMAP and POP3 on free high ports, no TLS, base_dir and state_dir
inside that directory (so it neither needs nor touches /run/dovecot or
/var/lib/dovecot, and runs beside a system Dovecot should one be running), users
from a passwd-file there, mail in maildir:<dir>/mail/%d/%n/Maildir owned by the
package's "dovecot" user, processes as "dovecot"/"dovenull" (made by the package).
`dovecot -F -c conf` runs in the foreground as a child of the test and is stopped
with SIGTERM. The Debian package's own service is not used: its postinst does not
start it here (policy-rc.d), and nothing here depends on whether it runs.
"""
import contextlib
import imaplib
import os
import poplib
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HOST, free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def need_dovecot():
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip("dovecot is not installed (scripts/deps.sh installs dovecot-imapd, dovecot-pop3d)")
    if os.geteuid() != 0:
        pytest.skip("the Dovecot fixture runs as root (it switches to its own users)")
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.skip(f"no '{user}' user (made by Debian's dovecot-core)")


def let_others_through(path):
    """pytest makes 0700 directories: Dovecot's unprivileged processes must reach the fixture's."""
    for d in [Path(path), *Path(path).parents]:
        if d == Path("/"):
            break
        d.chmod(d.stat().st_mode | stat.S_IXOTH)


def sha512_crypt(password):
    """A Dovecot {SHA512-CRYPT} hash, as `doveadm pw -s SHA512-CRYPT` makes one."""
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password.encode(),
                         stdout=subprocess.PIPE, check=True, timeout=30).stdout
    return "{SHA512-CRYPT}" + out.decode().strip()


CONF = """\
protocols = imap pop3
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = postern-test-{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%d/%n/Maildir{layout}
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
pop3_uidl_format = %08Xu%08Xv
pop3_save_uidl = yes
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%d/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = {host}
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, root, users, layout=""):
        """users: {address: password line field} (e.g. '{PLAIN}secret')."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        let_others_through(self.root)
        self.mail_root = self.root / "mail"
        self.mail_root.mkdir(exist_ok=True)
        dv = pwd.getpwnam("dovecot")
        os.chown(self.mail_root, dv.pw_uid, dv.pw_gid)
        self.passwd = self.root / "passwd"
        self.passwd.write_text("".join(f"{u}:{p}::::::\n" for u, p in users.items()))
        self.imap_port, self.pop3_port = free_port(), free_port()
        while self.pop3_port == self.imap_port:
            self.pop3_port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(CONF.format(host=HOST, root=self.root, port=self.imap_port,
                                         imap_port=self.imap_port, pop3_port=self.pop3_port,
                                         layout=layout))
        self.proc = None

    def maildir(self, user):
        local, domain = user.split("@")
        return self.mail_root / domain / local / "Maildir"

    def start(self, timeout=20):
        self.out = open(self.root / "dovecot.out", "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                socket.create_connection((HOST, self.imap_port), timeout=1).close()
                socket.create_connection((HOST, self.pop3_port), timeout=1).close()
                return self
            time.sleep(0.05)
        log = (self.root / "dovecot.log").read_text(errors="replace") if (self.root / "dovecot.log").exists() else ""
        self.stop()
        pytest.fail(f"dovecot did not start:\n{(self.root / 'dovecot.out').read_text(errors='replace')}\n{log}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "out", None):
            self.out.close()
            self.out = None

    def imap(self, user, password):
        m = imaplib.IMAP4(HOST, self.imap_port, timeout=10)
        m.login(user, password)
        return m

    def pop3(self, user, password):
        p = poplib.POP3(HOST, self.pop3_port, timeout=10)
        p.user(user)
        p.pass_(password)
        return p
