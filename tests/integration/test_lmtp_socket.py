"""LMTP's UNIX socket: made before the privilege drop with the configured
owner, group and mode; a stale socket from a killed server is replaced; a
regular file or a live socket at the path is never removed (start refused
with a clear message); "unix:" paths are for listen.lmtp only."""
import grp
import os
import pwd
import smtplib
import socket
import stat

import pytest

from conftest import IO_TIMEOUT, free_port, make_message, run_postern
from test_privileges import service_server, svc_user  # noqa: F401 (a fixture)

ALICE = "alice@example.org"


def socket_server(postern, tmp_path, start=True, **lmtp):
    path = tmp_path / "run" / "postern" / "lmtp.sock"
    cfg = {"listen": {"lmtp": [f"unix:{path}"]}}
    if lmtp:
        cfg["lmtp"] = lmtp
    srv = postern(config=cfg, start=start)
    srv.lmtp_path = path
    return srv


def deliver(path):
    with smtplib.LMTP(str(path), timeout=IO_TIMEOUT) as c:
        return c.sendmail("s@remote.test", [ALICE], make_message())


def serve_fails(srv):
    """Runs serve expecting it to refuse to start; returns its stderr."""
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode != 0, p.stdout
    return p.stderr


def test_owner_group_mode_as_configured(postern, tmp_path):
    srv = socket_server(postern, tmp_path, socket_owner="nobody", socket_group="nogroup",
                        socket_mode="0620")
    st = os.lstat(srv.lmtp_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert st.st_gid == grp.getgrnam("nogroup").gr_gid
    assert stat.S_IMODE(st.st_mode) == 0o620
    # the missing directory was made, traversable: the socket's own mode guards it
    assert stat.S_IMODE(os.stat(srv.lmtp_path.parent).st_mode) == 0o755
    assert deliver(srv.lmtp_path) == {}


def test_default_owner_is_the_service_user(postern, svc_user, tmp_path):  # noqa: F811
    """Started as root with a service user: the socket is made before root is
    given up, and belongs to that user and group, mode 0660."""
    path = tmp_path / "run" / "lmtp.sock"
    srv = service_server(postern, svc_user, tmp_path, listen={"lmtp": [f"unix:{path}"]})
    srv.start()
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (svc_user.pw_uid, svc_user.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert deliver(path) == {}
    assert len(srv.maildir("alice")) == 1


def test_stale_socket_is_replaced(postern, tmp_path):
    srv = socket_server(postern, tmp_path, start=False)
    srv.lmtp_path.parent.mkdir(parents=True)
    # what a killed server leaves: a socket file nobody listens on
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(srv.lmtp_path))
    s.close()
    os.chown(srv.lmtp_path, pwd.getpwnam("nobody").pw_uid, -1)    # to tell the files apart
    os.chmod(srv.lmtp_path, 0o600)
    srv.start()
    st = os.lstat(srv.lmtp_path)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o660)
    assert deliver(srv.lmtp_path) == {}


def test_regular_file_at_the_path_is_not_removed(postern, tmp_path):
    srv = socket_server(postern, tmp_path, start=False)
    srv.lmtp_path.parent.mkdir(parents=True)
    srv.lmtp_path.write_text("precious\n")
    err = serve_fails(srv)
    assert "exists and is not a socket: refusing to remove it" in err, err
    assert srv.lmtp_path.read_text() == "precious\n"
    # config check says the same, and changes nothing
    p = srv.cli("config", "check")
    assert p.returncode != 0 and "is not a socket" in p.stderr, p.stderr
    # nor a symbolic link, whatever it points to
    srv.lmtp_path.unlink()
    target = tmp_path / "target.sock"
    os.symlink(target, srv.lmtp_path)
    assert "is not a socket" in serve_fails(srv)
    assert os.path.islink(srv.lmtp_path)


def test_live_socket_of_another_process_is_refused(postern, tmp_path):
    srv = socket_server(postern, tmp_path, start=False)
    srv.lmtp_path.parent.mkdir(parents=True)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(srv.lmtp_path))
    other.listen(1)
    try:
        err = serve_fails(srv)
        assert "another process listens on it" in err, err
        assert srv.lmtp_path.is_socket()
    finally:
        other.close()


def test_second_server_on_the_same_socket_is_refused(postern, tmp_path):
    srv = socket_server(postern, tmp_path)
    twin = postern(config={"listen": {"lmtp": [f"unix:{srv.lmtp_path}"]}}, start=False)
    assert "another process listens on it" in serve_fails(twin)
    assert deliver(srv.lmtp_path) == {}          # the first server keeps its socket


def test_socket_config_errors(postern, tmp_path):
    srv = postern(start=False)
    cases = [
        ({"listen": {"smtp": [f"unix:{tmp_path}/smtp.sock"]}}, "listen.smtp cannot be a UNIX socket"),
        ({"listen": {"lmtp": ["unix:relative.sock"]}}, "bad listen address"),
        ({"listen": {"lmtp": ["unix:/" + "x" * 120]}}, "bad listen address"),
        ({"listen": {"lmtp": [f"unix:{tmp_path}/l.sock"]}, "lmtp": {"socket_mode": "0999"}},
         "'socket_mode' must be an octal mode"),
        ({"listen": {"lmtp": [f"unix:{tmp_path}/l.sock"]}, "lmtp": {"socket_mode": "rw"}},
         "'socket_mode' must be an octal mode"),
        ({"lmtp": {"allow_remote": ["not-a-network"]}}, "bad network"),
    ]
    for over, msg in cases:
        srv.overrides = over
        srv.write_config()
        p = srv.cli("config", "check")
        assert p.returncode != 0 and msg in p.stderr, (over, p.stderr)


def test_unknown_socket_owner_refused(postern, tmp_path):
    srv = socket_server(postern, tmp_path, start=False, socket_owner="no-such-user-here")
    assert "socket_owner 'no-such-user-here' does not exist" in serve_fails(srv)


def test_config_check_lists_the_service(postern, tmp_path):
    port = free_port()
    srv = postern(config={"listen": {"lmtp": [f"127.0.0.1:{port}",
                                              f"unix:{tmp_path}/run/lmtp.sock"]}}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.strip().startswith("lmtp"))
    assert f"127.0.0.1:{port}" in line and f"unix:{tmp_path}/run/lmtp.sock" in line
    assert "port 24's role" in line
