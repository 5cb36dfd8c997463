"""Real IMAP clients against postern: mbsync (isync) mirroring a 2000-message
mailbox to a local Maildir and back (certificate checked against the
server's self-signed one), imaplib, and curl (LIST, FETCH by UID, SEARCH,
over implicit TLS and STARTTLS).

mbsync comes from Debian's isync package and curl from curl; a test whose
tool is missing is skipped."""
import re
import shutil
import subprocess
import time

import pytest

from conftest import HOST
from imap_fixtures import (ALICE, PASSWORD, fetch_all, imap_conn, imap_server, imaps,
                           simple_message, write_maildir)


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


# ---- mbsync ---------------------------------------------------------------------------------


MBSYNC_RC = """\
IMAPAccount srv
Host localhost
Port {port}
User {user}
Pass {password}
SSLType IMAPS
CertificateFile {cert}
AuthMechs PLAIN
Timeout 60

IMAPStore remote
Account srv

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync All
SyncState *
Expunge None
"""


def run_mbsync(mbsync, rc, log):
    t0 = time.monotonic()
    p = subprocess.run([mbsync, "-Dn", "-c", str(rc), "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=180)
    log.write_bytes(p.stdout)
    assert p.returncode == 0, p.stdout[-3000:].decode("utf-8", "replace")
    sent = [l for l in p.stdout.decode("utf-8", "replace").splitlines() if l.startswith(">>> ")]
    return sent, time.monotonic() - t0


def local_files(local):
    return sorted(p for d in ("cur", "new") for p in (local / "INBOX" / d).iterdir())


def test_mbsync_mirrors_2000_messages_and_syncs_back(postern, tmp_path):
    mbsync = tool("mbsync")
    s = imap_server(postern, config={"hostname": "localhost"})
    n = 2000
    msgs = [simple_message(f"mbsync {i}", body=f"message number {i}\n") for i in range(n)]
    write_maildir(s.maildir_path("alice"), msgs, host="bulk")
    c = imap_conn(s)
    r = c.ok("SELECT INBOX", timeout=60)                     # indexes them once
    assert f"{n} EXISTS" in r.lines()
    c.close()
    local = tmp_path / "local"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(MBSYNC_RC.format(port=s.imaps_port, user=ALICE, password=PASSWORD, local=local,
                                   cert=s.data_dir / "tls" / "selfsigned-cert.pem"))

    sent, took = run_mbsync(mbsync, rc, tmp_path / "run1.log")
    files = local_files(local)
    assert len(files) == n, len(files)
    # mbsync adds its own X-TUID: field to the copies it writes
    assert sorted(re.sub(rb"(?m)^X-TUID: .*\n", b"", f.read_bytes().replace(b"\r\n", b"\n"))
                  for f in files) == sorted(m.replace(b"\r\n", b"\n") for m in msgs)
    print(f"mbsync: first run {n} messages in {took:.1f}s")

    # a second run with no changes transfers nothing
    sent, _ = run_mbsync(mbsync, rc, tmp_path / "run2.log")
    moving = [l for l in sent if re.search(r"BODY|APPEND|STORE|EXPUNGE|MOVE|COPY", l, re.I)]
    assert moving == [], moving[:5]
    assert len(local_files(local)) == n

    # a flag set locally goes to the server; a flag set on the server comes back
    f = local_files(local)[10]
    uid = int(re.search(r",U=(\d+)", f.name).group(1))
    base, _, flags = f.name.partition(":2,")
    f.rename(f.parent.parent / "cur" / (base + ":2," + "".join(sorted(set(flags + "F")))))
    c = imap_conn(s)
    c.ok("SELECT INBOX", timeout=60)
    c.ok(f"UID STORE {uid + 1} +FLAGS (\\Seen)")
    c.close()
    sent, _ = run_mbsync(mbsync, rc, tmp_path / "run3.log")
    assert any(re.search(rf"UID STORE {uid} \+FLAGS.*\\Flagged", l) for l in sent), sent
    c = imap_conn(s)
    c.ok("SELECT INBOX", timeout=60)
    fl = fetch_all(c.ok(f"UID FETCH {uid}:{uid + 1} FLAGS"))
    by_uid = {int(v["UID"]): v["FLAGS"] for v in fl.values()}
    assert "\\Flagged" in by_uid[uid], by_uid
    c.close()
    back = [p for p in local_files(local) if f",U={uid + 1}:" in p.name]
    assert len(back) == 1 and "S" in back[0].name.split(":2,")[1], back

    # a message written locally is appended on the server
    new = simple_message("written locally", body="local text\n")
    write_maildir(local / "INBOX", [new.replace(b"\r\n", b"\n")], host="localclient")
    sent, _ = run_mbsync(mbsync, rc, tmp_path / "run4.log")
    assert any(" APPEND " in l for l in sent), sent
    c = imap_conn(s)
    c.ok("SELECT INBOX", timeout=60)
    r = c.ok("SEARCH SUBJECT \"written locally\"", timeout=60)
    assert r.lines("SEARCH")[0] == f"SEARCH {n + 1}", r
    c.close()


# ---- curl ------------------------------------------------------------------------------------


def curl(*args, check=True):
    p = subprocess.run([tool("curl"), "-sS", "--max-time", "30", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p


@pytest.fixture(scope="module")
def curl_srv(tmp_path_factory, template_data):
    from imap_fixtures import module_server
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def test_curl_lists_mailboxes(curl_srv):
    p = curl("-k", "-u", f"{ALICE}:{PASSWORD}", f"imaps://{HOST}:{curl_srv.imaps_port}/")
    out = p.stdout.decode()
    for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert re.search(rf'^\* LIST \([^)]*\) "/" "?{name}"?\r?$', out, re.M), out


def test_curl_fetches_a_message_over_imaps_and_starttls(curl_srv):
    msg = simple_message("for curl", body="curl body\n")
    c = imap_conn(curl_srv)
    r = c.append("INBOX", msg)
    uid = r.code.split()[2]
    c.close()
    url = f"imaps://{HOST}:{curl_srv.imaps_port}/INBOX;UID={uid}"
    p = curl("-k", "-u", f"{ALICE}:{PASSWORD}", url)
    assert p.stdout == msg, p.stdout[:300]
    url = f"imap://{HOST}:{curl_srv.imap_port}/INBOX;UID={uid}"
    p = curl("-k", "--ssl-reqd", "-u", f"{ALICE}:{PASSWORD}", url)
    assert p.stdout == msg
    # a partial fetch by section
    p = curl("-k", "-u", f"{ALICE}:{PASSWORD}",
             f"imaps://{HOST}:{curl_srv.imaps_port}/INBOX;UID={uid};SECTION=TEXT")
    assert p.stdout == b"curl body\r\n"
    # curl's custom request: SEARCH
    p = curl("-k", "-u", f"{ALICE}:{PASSWORD}", "-X", 'UID SEARCH SUBJECT "for curl"',
             f"imaps://{HOST}:{curl_srv.imaps_port}/INBOX")
    assert re.search(rf"^\* SEARCH .*\b{uid}\b", p.stdout.decode(), re.M), p.stdout


def test_curl_wrong_password_and_no_tls(curl_srv):
    p = curl("-k", "-u", f"{ALICE}:wrong", f"imaps://{HOST}:{curl_srv.imaps_port}/", check=False)
    assert p.returncode == 67, (p.returncode, p.stderr)       # CURLE_LOGIN_DENIED
    # clear text without STARTTLS: LOGINDISABLED, curl cannot log in
    p = curl("-u", f"{ALICE}:{PASSWORD}", f"imap://{HOST}:{curl_srv.imap_port}/", check=False)
    assert p.returncode != 0, p.stdout


def test_imaplib_session(curl_srv):
    m = imaps(curl_srv)
    typ, data = m.create("imaplib-box")
    assert typ == "OK"
    typ, data = m.append("imaplib-box", r"(\Flagged)", None, simple_message("from imaplib"))
    assert typ == "OK"
    typ, data = m.select("imaplib-box")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.uid("SEARCH", None, "FLAGGED")
    assert data == [b"1"]
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"from imaplib" in data[0][1]
    typ, data = m.uid("MOVE", "1", "Trash")
    assert typ == "OK"
    m.close()
    m.logout()
