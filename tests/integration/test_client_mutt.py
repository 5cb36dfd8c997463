"""A real mail user agent against postern: Debian's mutt, over imaps://,
driven through a detached tmux session (send-keys in, capture-pane out).

mutt reads the index, opens a message, flags one, saves (moves) one to
=Archive and deletes one; after each step that changes the mailbox the
server's state is checked over a separate IMAP connection. mutt verifies the
server's self-signed certificate against the copy it is given
(certificate_file), so no prompt stands in the way.

Everything waits by polling the screen (or the server) up to a deadline, for
a loaded two-core machine; a failed wait shows the screen it last saw.
mutt and tmux come from Debian (scripts/deps.sh); without them the test is
skipped."""
import re
import shutil
import subprocess
import time

import pytest

from imap_fixtures import (ALICE, PASSWORD, deliver_smtp, imap_server, simple_message,
                           wait_mailbox)

DEADLINE = 60.0     # seconds for any one step

MUTTRC = """\
set imap_user = "{user}"
set imap_pass = "{password}"
set folder = "imaps://{user_url}@127.0.0.1:{port}/"
set spoolfile = "+INBOX"
set record = ""
set postponed = "+Drafts"
set certificate_file = "{cert}"
set ssl_force_tls = yes
set header_cache = ""
set message_cachedir = ""
set imap_check_subscribed = no
set imap_passive = no
set imap_idle = yes
set mail_check = 5
set timeout = 5
set sort = date
set arrow_cursor = yes
set confirmappend = no
set confirmcreate = no
set delete = yes
set move = no
set mark_old = no
set quit = yes
set wait_key = no
set sleep_time = 0
set beep = no
set pager_stop = yes
set help = no
set index_format = "%4C %Z %{{%b %d}} %-15.15L %s"
"""

SUBJECTS = ["mutt-one plain", "mutt-two flagged", "mutt-three archived", "mutt-four deleted"]


class Tmux:
    """One private tmux server (its own socket file) holding one window."""

    def __init__(self, tmp_path, env):
        self.socket = str(tmp_path / "tmux.sock")
        self.env = env

    def run(self, *args, check=True):
        p = subprocess.run([shutil.which("tmux"), "-S", self.socket, "-f", "/dev/null", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                           timeout=30)
        if check:
            assert p.returncode == 0, (args, p.stderr.decode("utf-8", "replace"))
        return p.stdout.decode("utf-8", "replace")

    def start(self, command):
        self.run("new-session", "-d", "-x", "200", "-y", "50", "-s", "mutt", command)
        self.run("set-option", "-t", "mutt", "remain-on-exit", "on")

    def keys(self, *keys):
        self.run("send-keys", "-t", "mutt", *keys)

    def text(self, chars):
        """Types chars literally (no key-name lookup)."""
        self.run("send-keys", "-t", "mutt", "-l", chars)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "mutt", check=False)

    def wait(self, pred, what, deadline=DEADLINE):
        end = time.monotonic() + deadline
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() > end:
                pytest.fail(f"mutt: {what} not seen within {deadline:.0f}s; screen:\n{s}",
                            pytrace=False)
            time.sleep(0.2)

    def wait_for(self, pattern, what=None, deadline=DEADLINE):
        return self.wait(lambda s: re.search(pattern, s, re.M), what or repr(pattern), deadline)

    def dead(self):
        """True once mutt has exited (the pane stays, remain-on-exit)."""
        return self.run("display-message", "-p", "-t", "mutt", "#{pane_dead}",
                        check=False).strip() == "1"

    def kill(self):
        self.run("kill-server", check=False)


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def index_line(screen, subject):
    """The index line of subject, or None."""
    m = re.search(rf"^.*{re.escape(subject)}.*$", screen, re.M)
    return m.group(0) if m else None


@pytest.fixture
def mutt(postern, tmp_path):
    tool("mutt")
    tool("tmux")
    srv = imap_server(postern)
    for i, subject in enumerate(SUBJECTS):
        deliver_smtp(srv, msg=simple_message(
            subject, body=f"body of {subject}\nsecond line {i}\n",
            date=f"Mon, 02 Mar 2026 10:0{i}:00 +0000"))
    home = tmp_path / "home"
    home.mkdir()
    rc = home / ".muttrc"
    rc.write_text(MUTTRC.format(user=ALICE, password=PASSWORD, user_url=ALICE.replace("@", "%40"),
                                port=srv.imaps_port,
                                cert=srv.data_dir / "tls" / "selfsigned-cert.pem"))
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "screen", "LANG": "C.UTF-8",
           "TMUX_TMPDIR": str(tmp_path)}
    t = Tmux(tmp_path, env)
    t.start(f"{shutil.which('mutt')} -d 2 -n -F {rc}")
    try:
        yield srv, t, home
    finally:
        t.kill()


def test_mutt_reads_flags_moves_and_deletes(mutt):
    srv, t, home = mutt
    screen = t.wait(lambda s: all(index_line(s, x) for x in SUBJECTS), "the four subjects")
    assert "INBOX" in screen, screen

    # open a message: its body is shown in the pager
    t.keys("/")
    t.wait_for(r"Search for:", "the search prompt")
    t.text("mutt-one")
    t.keys("Enter")
    t.wait(lambda s: (index_line(s, "mutt-one") or "").startswith("->"), "mutt-one selected")
    t.keys("Enter")
    t.wait_for(r"^body of mutt-one plain$", "the body of mutt-one")
    t.wait_for(r"^second line 0$", "the second body line")
    t.keys("i")                                          # back to the index
    t.wait(lambda s: all(index_line(s, x) for x in SUBJECTS), "the index again")

    # flag a message, sync: \Flagged on the server, and \Seen on the one read (mutt
    # fetches with BODY.PEEK and writes \Seen back with its other flag changes)
    t.keys("/")
    t.wait_for(r"Search for:", "the search prompt")
    t.text("mutt-two")
    t.keys("Enter")
    t.wait(lambda s: (index_line(s, "mutt-two") or "").startswith("->"), "mutt-two selected")
    t.keys("F")
    t.wait(lambda s: re.search(r"!", index_line(s, "mutt-two") or ""), "the ! of a flag")
    t.keys("$")
    state = wait_mailbox(srv, lambda st: "\\Flagged" in st.get("mutt-two flagged", ()),
                        "mutt-two \\Flagged")
    assert "\\Flagged" not in state["mutt-one plain"], state
    wait_mailbox(srv, lambda st: "\\Seen" in st.get("mutt-one plain", ()), "mutt-one \\Seen")

    # save (move) a message to =Archive; after the sync it is there and not in INBOX
    t.keys("/")
    t.wait_for(r"Search for:", "the search prompt")
    t.text("mutt-three")
    t.keys("Enter")
    t.wait(lambda s: (index_line(s, "mutt-three") or "").startswith("->"), "mutt-three selected")
    t.keys("s")
    t.wait_for(r"^Save to mailbox", "the save prompt")
    t.keys("C-u")
    t.text("=Archive")
    t.keys("Enter")
    t.wait(lambda s: re.search(r"D", (index_line(s, "mutt-three") or "")[:12]),
           "mutt-three marked deleted after the save")
    t.keys("$")
    wait_mailbox(srv, lambda st: "mutt-three archived" in st, "mutt-three in Archive",
                mailbox="Archive")
    wait_mailbox(srv, lambda st: "mutt-three archived" not in st and len(st) == 3,
                "mutt-three gone from INBOX")

    # delete a message and sync: expunged on the server, the others stay
    t.wait(lambda s: index_line(s, "mutt-three") is None, "mutt-three gone from the index")
    t.keys("/")
    t.wait_for(r"Search for:", "the search prompt")
    t.text("mutt-four")
    t.keys("Enter")
    t.wait(lambda s: (index_line(s, "mutt-four") or "").startswith("->"), "mutt-four selected")
    t.keys("d")
    t.keys("$")
    state = wait_mailbox(srv, lambda st: set(st) == {"mutt-one plain", "mutt-two flagged"},
                        "only mutt-one and mutt-two left in INBOX")
    assert "\\Flagged" in state["mutt-two flagged"], state
    t.wait(lambda s: index_line(s, "mutt-four") is None and index_line(s, "mutt-two"),
           "the index without mutt-four")

    # new mail while mutt sits in IDLE shows up in the index by itself
    deliver_smtp(srv, msg=simple_message("mutt-five arrived", body="late\n",
                                         date="Mon, 02 Mar 2026 10:09:00 +0000"))
    t.wait(lambda s: index_line(s, "mutt-five arrived"), "the new message in the index")

    # quit cleanly: mutt closes the mailbox and logs out
    t.keys("q")
    t.wait(lambda s: t.dead(), "mutt exits")

    # what mutt said on the wire (its -d 2 log): a SCRAM login through GNU SASL, IDLE, the
    # save as COPY + \Deleted + EXPUNGE (mutt 2.2 does not use MOVE)
    wire = (home / ".muttdebug0").read_text("utf-8", "replace")
    for sent in ("AUTHENTICATE SCRAM-SHA-256", "IDLE", 'UID COPY 3 "Archive"', "EXPUNGE", "LOGOUT"):
        assert re.search(rf"> a\d+ {re.escape(sent)}", wire), (sent, wire[-3000:])
