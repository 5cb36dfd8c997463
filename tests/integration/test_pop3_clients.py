"""Real POP3 clients against postern, each verifying the server's certificate
against the self-signed one postern made (it names localhost when a listener
is on loopback):

- fetchmail (Debian's fetchmail) over STLS with USER/PASS: a first run with
  `keep` and UIDL tracking fetches everything, a second fetches nothing new,
  a run with `nokeep` fetches again and deletes on the server (DELE + QUIT),
  which IMAP then sees;
- mpop (Debian's mpop) over pop3s with SCRAM-SHA-256 and over STLS with
  PLAIN, into a local Maildir, keeping messages and tracking UIDLs.

A test whose tool is missing is skipped (scripts/deps.sh installs both)."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import PASSWORD
from imap_fixtures import deliver_smtp, imap_conn
from pop3_fixtures import ALICE, pop3_server


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def cert(srv):
    return srv.data_dir / "tls" / "selfsigned-cert.pem"


def unify(data):
    """LF line ends, as clients deliver to files."""
    return data.replace(b"\r\n", b"\n")


@pytest.fixture
def srv(postern):
    s = pop3_server(postern, config={"hostname": "localhost"})
    for i in range(3):
        deliver_smtp(s, subject=f"client test {i}")
    return s


# ---- fetchmail ------------------------------------------------------------------------------


FETCHMAILRC = """\
set no bouncemail
poll localhost with proto POP3 port {port} uidl
  user "{user}" there with password "{password}" is "root" here
  sslproto "tls1.2+" sslcertck sslcertfile "{cert}"
  {keep}
  mda "/bin/sh -c 'cat > {out}/msg.$$'"
"""


def run_fetchmail(srv, tmp_path, keep, extra=()):
    fetchmail = tool("fetchmail")
    out = tmp_path / "fetched"
    out.mkdir(exist_ok=True)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(FETCHMAILRC.format(port=srv.pop3_port, user=ALICE, password=PASSWORD,
                                     cert=cert(srv), keep="keep" if keep else "nokeep", out=out))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run([fetchmail, "-f", str(rc), "--idfile", str(tmp_path / "fetchids"), "-v",
                        *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       timeout=120)
    text = p.stdout.decode("utf-8", "replace")
    # 0: mail fetched, 1: no new mail (fetchmail(1) EXIT CODES)
    assert p.returncode in (0, 1), text[-3000:]
    return p.returncode, text, sorted(out.iterdir())


def test_fetchmail_over_stls_keeps_then_deletes(srv, tmp_path):
    rc, text, files = run_fetchmail(srv, tmp_path, keep=True)
    assert rc == 0, text[-2000:]
    assert "upgrade to TLS succeeded" in text, text[-2000:]
    assert re.search(r"POP3> PASS", text)
    assert len(files) == 3
    subjects = sorted(re.search(rb"Subject: (.*)", f.read_bytes()).group(1) for f in files)
    assert subjects == [f"client test {i}".encode() for i in range(3)]
    # each stored message is what fetchmail got, but for the Received: field it
    # adds (above postern's own) and the Return-Path: it writes itself
    def stored_part(data):
        data = re.sub(rb"Received: from [^\n]*\n\tby [^\n]* with POP3 [^\n]*\n(?:\t[^\n]*\n)*",
                      b"", unify(data), count=1)
        return data.split(b"\n", 1)[1]
    fetched = [stored_part(f.read_bytes()) for f in files]
    for p in srv.maildir("alice", sub="cur"):
        rest = unify(p.read_bytes()).split(b"\n", 1)[1]      # after Return-Path:
        assert sum(f == rest for f in fetched) == 1
    # UIDL tracking: nothing new the second time
    for f in files:
        f.unlink()
    rc, text, files = run_fetchmail(srv, tmp_path, keep=True)
    assert rc == 1 and files == [], text[-2000:]
    assert "3 seen" in text
    # nokeep (and --all, as all were seen): fetched again, deleted on the server at QUIT
    rc, text, files = run_fetchmail(srv, tmp_path, keep=False, extra=("--all",))
    assert rc == 0 and len(files) == 3, text[-2000:]
    assert re.search(r"POP3> DELE 3", text) and "+OK Bye" in text
    assert srv.maildir("alice", sub="cur") == [] and srv.maildir("alice") == []
    im = imap_conn(srv)
    assert "0 EXISTS" in im.ok("SELECT INBOX").lines()
    im.close()


# ---- mpop ---------------------------------------------------------------------------------------


MPOPRC = """\
defaults
tls on
tls_starttls {starttls}
tls_trust_file {cert}
uidls_file {uidls}
account srv
host localhost
port {port}
user {user}
password {password}
auth {auth}
delivery maildir {local}
keep on
"""


def run_mpop(srv, tmp_path, implicit, auth):
    mpop = tool("mpop")
    local = tmp_path / "local"
    for d in ("cur", "new", "tmp"):
        (local / d).mkdir(parents=True, exist_ok=True)
    rc = tmp_path / "mpoprc"
    rc.write_text(MPOPRC.format(starttls="off" if implicit else "on", cert=cert(srv),
                                uidls=tmp_path / "uidls", port=srv.pop3s_port if implicit else
                                srv.pop3_port, user=ALICE, password=PASSWORD, auth=auth,
                                local=local))
    rc.chmod(0o600)
    p = subprocess.run([mpop, "-C", str(rc), "-d", "srv"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    text = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, text[-3000:]
    return text, sorted((local / "new").iterdir())


@pytest.mark.parametrize("implicit,auth", [(True, "scram-sha-256"), (False, "plain")])
def test_mpop_fetches_into_a_maildir(srv, tmp_path, implicit, auth):
    text, files = run_mpop(srv, tmp_path, implicit, auth)
    assert f"AUTH {auth.upper()}" in text, text[-2000:]
    assert len(files) == 3
    # each stored message, whole, below the Received: field mpop puts on top
    fetched = [unify(f.read_bytes()) for f in files]
    for p in srv.maildir("alice", sub="cur"):
        assert sum(f.endswith(unify(p.read_bytes())) for f in fetched) == 1
    # a second run: the UIDLs are known, nothing is fetched again
    text, files = run_mpop(srv, tmp_path, implicit, auth)
    assert len(files) == 3
    assert not re.search(r"--> RETR", text), text[-2000:]
    # a new message is fetched alone
    deliver_smtp(srv, subject="one more")
    text, files = run_mpop(srv, tmp_path, implicit, auth)
    assert len(files) == 4
    assert len(re.findall(r"--> RETR", text)) == 1, text[-2000:]
