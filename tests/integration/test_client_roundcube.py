"""Roundcube (Debian's roundcube-core 1.6) against postern, on loopback only.

Roundcube runs under PHP's built-in web server (php -S 127.0.0.1:PORT) with a
configuration of the test's own (ROUNDCUBE_CONFIG_DIR: SQLite database, temp
and log directories in the test's directory, imap_debug on), so neither a web
server nor a system service is involved. It reaches postern's implicit-TLS
port and verifies the self-signed certificate against the server's copy.

The test logs in through the login form (its CSRF token and session cookie),
lists INBOX as threads and sorted flat (Roundcube sends THREAD REFERENCES and
SORT), opens, flags and moves a message (UID MOVE), checking postern's side
over IMAP and Roundcube's IMAP transcript for the commands it relied on.
Skipped when roundcube-core, roundcube-sqlite3 or php-cli are missing."""
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import HOST, free_port
from imap_fixtures import ALICE, PASSWORD, deliver_smtp, imap_server, simple_message, wait_mailbox

ROUNDCUBE_ROOT = Path("/var/lib/roundcube")          # INSTALL_PATH of Debian's package
ROUNDCUBE_SQL = Path("/usr/share/roundcube/SQL/sqlite.initial.sql")
ROUNDCUBE_DEFAULTS = Path("/etc/roundcube/defaults.inc.php")
DEADLINE = 60.0

CONFIG = """<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///{db}?mode=0600';
$config['imap_host'] = 'ssl://127.0.0.1:{port}';
$config['imap_conn_options'] = ['ssl' => ['verify_peer' => true, 'verify_peer_name' => true,
                                          'peer_name' => '127.0.0.1', 'cafile' => '{cert}']];
$config['imap_timeout'] = 30;
$config['smtp_host'] = '';
$config['des_key'] = '{des_key}';
$config['temp_dir'] = '{temp}/';
$config['log_dir'] = '{logs}/';
$config['log_driver'] = 'file';
$config['imap_debug'] = true;
$config['imap_cache'] = null;
$config['messages_cache'] = false;
$config['plugins'] = [];
$config['skin'] = 'elastic';
$config['enable_installer'] = false;
$config['login_rate_limit'] = 0;
"""

THREAD = [("rc topic", "<rc-1@remote.test>", None),
          ("Re: rc topic", "<rc-2@remote.test>", "<rc-1@remote.test>"),
          ("rc other", "<rc-3@remote.test>", None)]


def need(path):
    if not Path(path).exists():
        pytest.skip(f"{path} missing (roundcube-core, roundcube-sqlite3, php-cli)")


class Roundcube:
    """One php -S process serving Roundcube, and a browser-like HTTP client for it."""

    def __init__(self, base, env, proc, logs):
        self.base = base
        self.proc = proc
        self.logs = logs
        self.token = None
        self.http = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, query, data=None, headers=None):
        url = f"{self.base}/?{urllib.parse.urlencode(query)}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers or {})
        with self.http.open(req, timeout=DEADLINE) as r:
            return r.read().decode("utf-8", "replace")

    def remote(self, query, data=None):
        """An AJAX request as the Roundcube page sends it; returns its JSON reply."""
        hdrs = {"X-Roundcube-Request": self.token}
        query = {"_task": "mail", "_remote": "1", **query}
        if data is not None:
            data = {**data, "_token": self.token}
        text = self.request(query, data, hdrs)
        try:
            return json.loads(text)
        except ValueError:
            pytest.fail(f"roundcube: no JSON for {query}: {text[:2000]}\n{self.problems()}",
                        pytrace=False)

    def login(self, user, password):
        form = self.request({"_task": "login"})
        m = re.search(r'name="_token" value="([^"]+)"', form)
        assert m, form[:2000]
        page = self.request({"_task": "login"}, {
            "_token": m.group(1), "_task": "login", "_action": "login", "_timezone": "UTC",
            "_url": "", "_user": user, "_pass": password})
        m = re.search(r'"request_token":"([^"]+)"', page)
        assert m and "_task=mail" in page, \
            f"roundcube: login did not reach the mail view\n{page[:2000]}\n{self.problems()}"
        self.token = m.group(1)

    def imap_log(self):
        p = self.logs / "imap.log"
        return p.read_text("utf-8", "replace") if p.exists() else ""

    def commands(self):
        """The IMAP commands Roundcube sent (tags stripped)."""
        return re.findall(r"\] C: \S+ (.*)", self.imap_log())

    def problems(self):
        p = self.logs / "errors.log"
        return p.read_text("utf-8", "replace")[-3000:] if p.exists() else ""


def rows(reply):
    """(uid, subject, flags) of each add_message_row() in a list reply, in order."""
    out = []
    for m in re.finditer(r'add_message_row\((\d+),(\{.*?\}),(\{.*?\}),', reply["exec"]):
        cols, flags = json.loads(m.group(2)), json.loads(m.group(3))
        out.append((int(m.group(1)), cols.get("subject"), flags))
    return out


def start_php(root, env):
    """php -S on a free loopback port (another port when it is taken); waits for Roundcube's
    login page."""
    for _ in range(3):
        port = free_port()
        log = open(root / "php.log", "wb")
        proc = subprocess.Popen([shutil.which("php"), "-S", f"{HOST}:{port}", "-t",
                                 str(ROUNDCUBE_ROOT / "public_html")],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=root)
        log.close()
        end = time.monotonic() + DEADLINE
        while proc.poll() is None and time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=10) as r:
                    if b'name="_token"' in r.read():
                        return proc, port
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        stop(proc)
    pytest.fail(f"php -S did not serve Roundcube:\n{(root / 'php.log').read_text()[-3000:]}",
                pytrace=False)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def roundcube(postern, tmp_path):
    need(ROUNDCUBE_ROOT / "public_html" / "index.php")
    need(ROUNDCUBE_SQL)
    need(ROUNDCUBE_DEFAULTS)
    if shutil.which("php") is None:
        pytest.skip("php-cli not installed")
    srv = imap_server(postern)
    root = tmp_path / "roundcube"
    conf, temp, logs = root / "config", root / "temp", root / "logs"
    for d in (conf, temp, logs):
        d.mkdir(parents=True)
    # Roundcube reads defaults.inc.php from its config directory before config.inc.php
    (conf / "defaults.inc.php").symlink_to(ROUNDCUBE_DEFAULTS)
    db = root / "roundcube.db"
    with sqlite3.connect(db) as c:
        c.executescript(ROUNDCUBE_SQL.read_text())
    (conf / "config.inc.php").write_text(CONFIG.format(
        db=db, port=srv.imaps_port, cert=srv.data_dir / "tls" / "selfsigned-cert.pem",
        des_key=secrets.token_hex(12), temp=temp, logs=logs))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "ROUNDCUBE_CONFIG_DIR": str(conf)}
    proc, port = start_php(root, env)
    try:
        yield srv, Roundcube(f"http://{HOST}:{port}", env, proc, logs)
    finally:
        stop(proc)


def test_roundcube_lists_threads_sorts_reads_flags_and_moves(roundcube):
    srv, rc = roundcube
    for i, (subject, mid, parent) in enumerate(THREAD):
        extra = [f"In-Reply-To: {parent}", f"References: {parent}"] if parent else []
        msg = simple_message(subject, body=f"text of {subject}\n", extra=extra,
                             date=f"Mon, 02 Mar 2026 10:0{i}:00 +0000")
        msg = re.sub(rb"Message-ID: <[^>]*>", f"Message-ID: {mid}".encode(), msg)
        deliver_smtp(srv, msg=msg)
    rc.login(ALICE, PASSWORD)

    # threads: THREAD REFERENCES puts the reply under its parent
    listed = rows(rc.remote({"_action": "list", "_mbox": "INBOX", "_threads": "1",
                             "_sort": "date_DESC"}))
    by_subject = {s: (uid, f) for uid, s, f in listed}
    assert set(by_subject) == {s for s, _, _ in THREAD}, (listed, rc.problems())
    topic_uid = by_subject["rc topic"][0]
    assert by_subject["Re: rc topic"][1].get("parent_uid") == topic_uid, listed
    assert by_subject["rc topic"][1].get("has_children"), listed
    assert "UID THREAD REFERENCES US-ASCII ALL" in rc.commands(), rc.commands()

    # flat and sorted by subject: SORT (SUBJECT) on the server
    listed = rows(rc.remote({"_action": "list", "_mbox": "INBOX", "_threads": "0",
                             "_sort": "subject_ASC"}))
    assert [s for _, s, _ in listed] == ["rc other", "rc topic", "Re: rc topic"], listed
    assert any(re.match(r"UID SORT \(SUBJECT\) US-ASCII ALL", c) for c in rc.commands()), \
        rc.commands()

    # open the reply: its text is shown and \Seen set on the server
    reply_uid = by_subject["Re: rc topic"][0]
    page = rc.request({"_task": "mail", "_action": "show", "_uid": reply_uid, "_mbox": "INBOX"})
    assert "text of Re: rc topic" in page, page[-2000:]
    wait_mailbox(srv, lambda st: "\\Seen" in st.get("Re: rc topic", ()), "the reply \\Seen")

    # flag the first message
    r = rc.remote({"_action": "mark"}, {"_uid": topic_uid, "_flag": "flagged", "_mbox": "INBOX"})
    assert "marked successfully" in r.get("exec", ""), r
    wait_mailbox(srv, lambda st: "\\Flagged" in st.get("rc topic", ()), "rc topic \\Flagged")

    # move "rc other" to Archive: UID MOVE (postern offers MOVE)
    other_uid = by_subject["rc other"][0]
    r = rc.remote({"_action": "move"}, {"_uid": other_uid, "_target_mbox": "Archive",
                                        "_mbox": "INBOX"})
    assert "moved successfully" in r.get("exec", ""), r
    wait_mailbox(srv, lambda st: "rc other" in st, "rc other in Archive", mailbox="Archive")
    state = wait_mailbox(srv, lambda st: set(st) == {"rc topic", "Re: rc topic"},
                         "only the thread left in INBOX")
    assert "\\Flagged" in state["rc topic"], state
    assert f"UID MOVE {other_uid} Archive" in rc.commands(), rc.commands()

    # what else Roundcube asked for at login and listing: verified TLS, SASL PLAIN, ID,
    # NAMESPACE, special-use folders, quota
    cmds = rc.commands()
    for expect in ("AUTHENTICATE PLAIN", "ID (", "NAMESPACE", 'LIST (SPECIAL-USE) "" "*"',
                   "GETQUOTAROOT INBOX"):
        assert any(c.startswith(expect) for c in cmds), (expect, cmds)
    assert not re.search(r"PHP (Fatal|Warning)|IMAP Error", rc.problems()), rc.problems()
