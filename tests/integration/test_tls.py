"""STARTTLS: certificates, protocol versions, cipher policy, SIGHUP reload."""
import os
import signal
import ssl
import subprocess
import time

import pytest

from conftest import HOSTNAME, cert_der, insecure_context, make_cert, make_message


def tls_client(srv, ctx=None, server_hostname=None):
    c = srv.connect()
    c.ehlo()
    c.starttls(ctx or insecure_context(), server_hostname)
    return c


def describe_der(openssl_bin, der):
    p = subprocess.run([openssl_bin, "x509", "-inform", "DER", "-noout", "-subject", "-ext",
                        "subjectAltName"], input=der, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, check=True)
    return p.stdout.decode()


def test_selfsigned_cert_names_the_hostname(server, openssl):
    c = tls_client(server)
    der = c.sock.getpeercert(binary_form=True)
    c.close()
    text = describe_der(openssl, der)
    assert f"CN = {HOSTNAME}" in text or f"CN={HOSTNAME}" in text, text
    assert f"DNS:{HOSTNAME}" in text, text
    # the certificate is the one kept in the data dir, and it verifies for the hostname
    pem = server.data_dir / "tls" / "selfsigned-cert.pem"
    assert cert_der(pem) == der
    key = server.data_dir / "tls" / "selfsigned-key.pem"
    assert (os.stat(key).st_mode & 0o077) == 0, "private key readable by group/others"
    ctx = ssl.create_default_context(cafile=str(pem))
    c = tls_client(server, ctx, server_hostname=HOSTNAME)
    c.ehlo()
    c.close()
    ctx = ssl.create_default_context(cafile=str(pem))
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_client(server, ctx, server_hostname="other.example.org")


def test_selfsigned_cert_kept_across_restarts(postern):
    srv = postern()
    c = tls_client(srv)
    first = c.sock.getpeercert(binary_form=True)
    c.close()
    assert srv.stop() == 0
    srv.start()
    c = tls_client(srv)
    assert c.sock.getpeercert(binary_form=True) == first
    c.close()


def expect_refused(srv, ctx):
    c = srv.connect()
    c.ehlo()
    c.cmd("STARTTLS", expect=220)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        c.wrap_tls(ctx)
        # some stacks only notice on first use
        c.cmd("EHLO client.example.net")
    c.close()
    # the server saw a handshake and refused it (not a client-side refusal)
    return srv.wait_log("tls.failed")[-1]


def test_tls12_accepted_by_default(server):
    c = tls_client(server, insecure_context(maximum=ssl.TLSVersion.TLSv1_2))
    assert c.sock.version() == "TLSv1.2"
    name, _, _ = c.sock.cipher()
    assert "GCM" in name or "CHACHA20" in name, name
    assert name.startswith("ECDHE"), name
    assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250
    c.close()
    [data] = server.messages("alice")
    assert b"(using TLSv1.2 with cipher ECDHE" in data


@pytest.mark.parametrize("version", ["TLSv1_1", "TLSv1"])
def test_old_tls_refused(server, version):
    v = getattr(ssl.TLSVersion, version)
    expect_refused(server, insecure_context(minimum=v, maximum=v))
    assert server.running()


def test_tls_failure_logged_with_reason(server):
    v = ssl.TLSVersion.TLSv1_1
    ev = expect_refused(server, insecure_context(minimum=v, maximum=v))
    # an operator must be able to tell why: OpenSSL says "unsupported protocol"
    assert "protocol" in ev["error"].lower() or "version" in ev["error"].lower(), ev


def test_weak_tls12_ciphers_refused(server):
    ctx = insecure_context(maximum=ssl.TLSVersion.TLSv1_2)
    # CBC without AEAD, and no forward secrecy
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:AES128-SHA:AES256-SHA:"
                    "AES128-GCM-SHA256:@SECLEVEL=0")
    expect_refused(server, ctx)


def test_min_version_13_refuses_tls12(postern):
    srv = postern(config={"tls": {"min_version": "1.3"}})
    expect_refused(srv, insecure_context(maximum=ssl.TLSVersion.TLSv1_2))
    c = tls_client(srv, insecure_context(minimum=ssl.TLSVersion.TLSv1_3))
    assert c.sock.version() == "TLSv1.3"
    c.ehlo()
    c.close()


def test_starttls_errors(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert (r.code, r.enh) == (501, "5.5.4"), r
        c.starttls()
        r = c.ehlo()
        assert "STARTTLS" not in r.lines
        r = c.cmd("STARTTLS")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        assert c.cmd("NOOP").code == 250


def test_garbage_instead_of_handshake(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("STARTTLS", expect=220)
        c.send(b"GET / HTTP/1.0\r\n\r\n" + b"\x16\x03\x01\x00\x05hello" * 10)
        assert c.is_closed(timeout=5)
    server.wait_log("tls.failed")
    with server.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250


def test_client_vanishes_mid_handshake(server):
    for _ in range(5):
        c = server.connect()
        c.ehlo()
        c.cmd("STARTTLS", expect=220)
        c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a truncated ClientHello
        c.close()
    time.sleep(0.3)
    with server.connect() as c:
        assert c.cmd("NOOP").code == 250


def test_transaction_log_records_tls(server):
    c = tls_client(server)
    assert c.send_message("s@remote.test", ["bob@example.org"], make_message()).code == 250
    c.close()
    [t] = server.transactions()
    assert t["tls"] == "TLSv1.3"
    assert t["result"] == "accepted"


# ---- SIGHUP reload --------------------------------------------------------------------


def test_sighup_reloads_certificate(postern, openssl, tmp_path):
    certdir = tmp_path / "certs"
    certdir.mkdir()
    old_cert, old_key = make_cert(openssl, certdir, "old.example.org", "old")
    new_cert, new_key = make_cert(openssl, certdir, "new.example.org", "new")
    live_cert, live_key = certdir / "live-cert.pem", certdir / "live-key.pem"
    live_cert.write_bytes(old_cert.read_bytes())
    live_key.write_bytes(old_key.read_bytes())
    live_key.chmod(0o600)
    srv = postern(config={"tls": {"cert": str(live_cert), "key": str(live_key)}})

    # a session opened under the old certificate
    old_session = tls_client(srv)
    assert old_session.sock.getpeercert(binary_form=True) == cert_der(old_cert)
    old_session.ehlo()
    old_session.cmd("MAIL FROM:<before@remote.test>", expect=250)

    # install the new pair the way a renewal tool does (write, rename) and reload
    tmp_c, tmp_k = certdir / "tmp-cert.pem", certdir / "tmp-key.pem"
    tmp_c.write_bytes(new_cert.read_bytes())
    tmp_k.write_bytes(new_key.read_bytes())
    os.rename(tmp_k, live_key)
    os.rename(tmp_c, live_cert)
    srv.send_signal(signal.SIGHUP)
    srv.wait_log("tls.reloaded")

    c = tls_client(srv)
    assert c.sock.getpeercert(binary_form=True) == cert_der(new_cert)
    assert c.send_message("new@remote.test", ["bob@example.org"], make_message()).code == 250
    c.close()

    # the old session goes on with its transaction
    old_session.cmd("RCPT TO:<alice@example.org>", expect=250)
    old_session.cmd("DATA", expect=354)
    old_session.send(make_message(subject="old session") + b".\r\n")
    assert old_session.reply().code == 250
    assert old_session.sock.getpeercert(binary_form=True) == cert_der(old_cert)
    old_session.close()
    assert len(srv.maildir("alice")) == 1
    assert len(srv.maildir("bob")) == 1
    assert srv.running()


def test_sighup_with_broken_certificate_keeps_old(postern, openssl, tmp_path):
    certdir = tmp_path / "certs"
    certdir.mkdir()
    cert, key = make_cert(openssl, certdir, "keep.example.org", "keep")
    other_cert, _ = make_cert(openssl, certdir, "other.example.org", "other")
    srv = postern(config={"tls": {"cert": str(cert), "key": str(key)}})
    original = cert_der(cert)
    # a certificate that does not match the key, then a file that is not PEM at all
    for content in (other_cert.read_bytes(), b"not a certificate\n"):
        cert.write_bytes(content)
        n = len(srv.logs("tls.reload_failed"))
        srv.send_signal(signal.SIGHUP)
        srv.wait_log("tls.reload_failed", count=n + 1)
        c = tls_client(srv)
        assert c.sock.getpeercert(binary_form=True) == original
        c.close()
    assert srv.logs("tls.reloaded") == []
    assert srv.running()


def test_missing_configured_cert_fails_start(postern, tmp_path):
    from conftest import run_postern
    srv = postern(config={"tls": {"cert": str(tmp_path / "nope.pem"), "key": str(tmp_path / "nope.key")}},
                  start=False)
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1, p
    assert "nope.pem" in p.stderr
