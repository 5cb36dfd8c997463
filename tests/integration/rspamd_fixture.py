"""A real rspamd for the content filter tests (test_rspamd.py): Debian's rspamd and,
for its Bayes classifier (what moving mail into and out of Junk trains), a
redis-server (scripts/deps.sh), both started here, never as system services.

Rspamd() writes a minimal rspamd.conf into a directory of its own: the normal
worker and the controller on 127.0.0.1 high ports, redis on another, no DNS (a
nameserver nobody answers on), a five-line TLD list (rspamd compiles the whole
public suffix list at start otherwise: 30 s here), and rules.lua with a symbol
per test marker in the message:

    POSTERN-TEST-SPAM     20   -> reject (at 15)
    POSTERN-TEST-SUBJECT  10   -> rewrite subject (at 8)
    POSTERN-TEST-JUNK      7   -> add header (at 6)
    POSTERN-TEST-GREY      4.5 -> greylist (at 4)
    POSTERN-TEST-SOFT          -> soft reject (a pre-result, with its own message)

`rspamd -f` and `redis-server` run in the foreground as children of the test and
are stopped with SIGTERM at the end.
"""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import HOST, free_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
PASSWORD = "learn-secret"

RULES = r"""
local function has(task, marker)
  local content = task:get_content()
  return content ~= nil and tostring(content):find(marker, 1, true) ~= nil
end
local function marker_symbol(name, score, marker)
  rspamd_config:register_symbol{ name = name, score = score,
    callback = function(task) return has(task, marker) end }
end
marker_symbol('POSTERN_TEST_SPAM', 20.0, 'POSTERN-TEST-SPAM')
marker_symbol('POSTERN_TEST_SUBJECT', 10.0, 'POSTERN-TEST-SUBJECT')
marker_symbol('POSTERN_TEST_JUNK', 7.0, 'POSTERN-TEST-JUNK')
marker_symbol('POSTERN_TEST_GREY', 4.5, 'POSTERN-TEST-GREY')
rspamd_config:register_symbol{ name = 'POSTERN_TEST_SOFT', score = 0.0,
  callback = function(task)
    if has(task, 'POSTERN-TEST-SOFT') then
      task:set_pre_result('soft reject', 'Busy (test), come back later')
      return true
    end
  end }
"""

CONF = """
options {{
  pidfile = "{dir}/rspamd.pid";
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }}
  url_tld = "{dir}/tld.dat";
}}
logging {{ type = "file"; filename = "{dir}/rspamd.log"; level = "info"; }}
worker "normal" {{ bind_socket = "{host}:{normal}"; count = 1; }}
worker "controller" {{ bind_socket = "{host}:{controller}"; count = 1;
  password = "{password}"; enable_password = "{password}"; }}
actions {{ reject = 15; rewrite_subject = 8; add_header = 6; greylist = 4;
  subject = "***SPAM*** %s"; }}
classifier "bayes" {{
  backend = "redis"; servers = "{host}:{redis}"; min_learns = 1; min_tokens = 1;
  statfile {{ symbol = "BAYES_HAM"; spam = false; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; }}
}}
lua = "{dir}/rules.lua";
"""


def need_rspamd():
    for prog in (RSPAMD, REDIS):
        if not os.access(prog, os.X_OK):
            pytest.skip(f"{prog} is not installed (scripts/deps.sh installs rspamd, redis-server)")


class Rspamd:
    def __init__(self, root):
        self.dir = root
        self.normal, self.controller, self.redis_port = free_port(), free_port(), free_port()
        self.password = PASSWORD
        self.procs = []

    @property
    def address(self):
        return f"{HOST}:{self.normal}"

    @property
    def controller_address(self):
        return f"{HOST}:{self.controller}"

    def start(self, timeout=90):
        (self.dir / "tld.dat").write_text("org\nnet\ncom\ntest\nexample\n")
        (self.dir / "rules.lua").write_text(RULES)
        (self.dir / "rspamd.conf").write_text(CONF.format(
            dir=self.dir, host=HOST, normal=self.normal, controller=self.controller,
            redis=self.redis_port, password=self.password))
        self.procs.append(subprocess.Popen(
            [REDIS, "--bind", HOST, "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no"],
            stdout=open(self.dir / "redis.out", "wb"), stderr=subprocess.STDOUT))
        cmd = [RSPAMD, "-f", "-c", str(self.dir / "rspamd.conf")]
        if os.geteuid() == 0:
            cmd += ["-i", "-u", "root", "-g", "root"]
        self.procs.append(subprocess.Popen(cmd, stdout=open(self.dir / "rspamd.out", "wb"),
                                           stderr=subprocess.STDOUT, cwd=self.dir))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[-1].poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{self.address}/ping", timeout=2) as r:
                    if r.read().strip() == b"pong":
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError("rspamd did not start:\n" + self.log()[-3000:])

    def log(self):
        text = ""
        for name in ("rspamd.out", "rspamd.log"):
            p = self.dir / name
            if p.exists():
                text += p.read_text(errors="replace")
        return text

    def stat(self):
        """The controller's /stat (JSON)."""
        req = urllib.request.Request(f"http://{self.controller_address}/stat",
                                     headers={"Password": self.password})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def learned(self):
        return self.stat()["learned"]

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    need_rspamd()
    r = Rspamd(tmp_path_factory.mktemp("rspamd")).start()
    try:
        yield r
    finally:
        r.stop()
