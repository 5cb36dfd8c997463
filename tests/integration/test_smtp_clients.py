"""Real SMTP clients against postern's MX service: smtplib in clear, with HELO and
a null sender, over STARTTLS (RFC 3207) and QUIT inside TLS; swaks in clear and
with --tls. Each delivery is checked down to the file in the Maildir: the
trace fields (RFC 5321 4.4: Return-Path, Received with ESMTP / ESMTPS / SMTP
and the queue id), LF line ends, the size in the Maildir name, EHLO's
extensions as smtplib reads them.

swaks comes from Debian's swaks package; its tests are skipped without it."""
import shutil
import smtplib
import subprocess

import pytest

from conftest import HOSTNAME, QUEUED, make_message, split_delivered, swaks_got_reply


def assert_lf_only(data):
    assert b"\r" not in data, f"CR left in a delivered file: {data[:300]!r}"


# ---- smtplib -------------------------------------------------------------------------------------


def test_smtplib_plain_delivery(server):
    msg = make_message(subject="plain delivery", body="line one\r\nline two\r\n")
    with server.smtp() as s:
        code, resp = s.ehlo()
        assert code == 250
        assert resp.decode().splitlines()[0] == f"{HOSTNAME} greets client.example.net"
        for ext in ("pipelining", "8bitmime", "enhancedstatuscodes", "smtputf8", "chunking",
                    "starttls"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["size"] == str(25 * 1024 * 1024)
        assert s.mail("sender@remote.test") == (250, b"2.1.0 Ok")
        assert s.rcpt("alice@example.org") == (250, b"2.1.5 Ok")
        code, resp = s.data(msg)
        assert code == 250
        m = QUEUED.match(resp.decode())
        assert m, resp
        qid = m.group(1)
        code, resp = s.quit()
        assert code == 221
    files = server.maildir("alice")
    assert len(files) == 1
    assert server.maildir("bob") == []
    data = files[0].read_bytes()
    trace, body = split_delivered(data)
    assert trace.startswith(b"Return-Path: <sender@remote.test>\n")
    assert b"\nReceived: from client.example.net ([127.0.0.1])\n" in trace
    assert f"by {HOSTNAME} (postern) with ESMTP id {qid}".encode() in trace
    assert b"for <alice@example.org>;" in trace
    assert_lf_only(data)
    assert body == msg.replace(b"\r\n", b"\n")
    # Maildir name carries the size (S=) of the file as stored
    assert f",S={len(data)}," in files[0].name
    assert server.maildir("alice", sub="tmp") == []


def test_smtplib_sendmail_helo_and_null_sender(server):
    msg = make_message(subject="bounce")
    with server.smtp() as s:
        assert s.helo()[0] == 250
        s.mail("")
        assert s.rcpt("bob@example.org")[0] == 250
        code, _ = s.data(msg)
        assert code == 250
        s.quit()
    [data] = server.messages("bob")
    assert data.startswith(b"Return-Path: <>\n")
    assert b" with SMTP id " in data  # HELO, not EHLO


def test_smtplib_starttls_delivery(server):
    msg = make_message(subject="over tls")
    import ssl
    from conftest import insecure_context
    with server.smtp() as s:
        s.ehlo()
        code, _ = s.starttls(context=insecure_context())
        assert code == 220
        s.ehlo()
        assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
        assert isinstance(s.sock, ssl.SSLSocket)
        assert s.sock.version() == "TLSv1.3"
        s.mail("sender@remote.test")
        assert s.rcpt("bob@example.org")[0] == 250
        code, resp = s.data(msg)
        assert code == 250 and QUEUED.match(resp.decode()), resp
        s.close()  # QUIT over TLS has its own test
    [data] = server.messages("bob")
    trace, body = split_delivered(data)
    assert b" with ESMTPS id " in trace
    assert b"(using TLSv1.3 with cipher " in trace
    assert body == msg.replace(b"\r\n", b"\n")


def test_quit_over_tls_gets_221(server):
    from conftest import insecure_context
    s = server.smtp()
    s.ehlo()
    s.starttls(context=insecure_context())
    s.ehlo()
    try:
        code, resp = s.quit()
    except smtplib.SMTPServerDisconnected as e:
        pytest.fail(f"the 221 reply to QUIT inside TLS never arrived: {e}")
    assert code == 221


# ---- swaks ---------------------------------------------------------------------------------------


def run_swaks(server, *extra):
    swaks = shutil.which("swaks")
    if swaks is None:
        pytest.skip("swaks not installed")
    return subprocess.run([swaks, "--server", f"127.0.0.1:{server.port}", "--helo", "swaks.example.net",
                           "--from", "swaks@remote.test", "--to", "alice@example.org",
                           "--header", "Subject: swaks test", "--body", "hello from swaks",
                           "--timeout", "10", *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, text=True)


def test_swaks_plain(server):
    p = run_swaks(server)
    assert p.returncode == 0, p.stdout
    assert swaks_got_reply(p.stdout, 250, "2.0.0 Ok: queued as"), p.stdout
    [data] = server.messages("alice")
    assert data.startswith(b"Return-Path: <swaks@remote.test>\n")
    assert b"Subject: swaks test\n" in data
    assert b"hello from swaks" in data


def test_swaks_tls(server):
    p = run_swaks(server, "--tls")
    assert swaks_got_reply(p.stdout, 250, "2.0.0 Ok: queued as"), p.stdout
    [data] = server.messages("alice")
    assert b" with ESMTPS id " in data
    assert p.returncode == 0, f"swaks --tls failed (rc {p.returncode}):\n{p.stdout}"
