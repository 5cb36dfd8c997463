"""Giving up root: serve runs as its service user with one capability and
no_new_privs; CLI commands run as root write as that user; strict_permissions
refuses keys and data others could read or change; one place for the
configuration."""
import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import POSTERN_BIN, make_cert, make_message, postern_env, run_postern

CAP_NET_BIND_SERVICE = 1 << 10

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a service user")


@pytest.fixture(scope="module")
def svc_user():
    """A system user and group of its own, removed afterwards."""
    name = f"pt{os.getpid() % 100000}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def owned_by_others(root, uid):
    return [str(p) for p in [Path(root), *Path(root).rglob("*")] if p.lstat().st_uid != uid]


def let_others_through(path):
    """pytest makes its directories 0700: the service user must reach data_dir."""
    for d in [Path(path), *Path(path).parents]:
        if d == Path("/"):
            break
        d.chmod(d.stat().st_mode | stat.S_IXOTH)


def service_server(postern, svc_user, tmp_path, **config):
    """A server configured to run as svc_user, its data made by the CLI run as root."""
    let_others_through(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    over = {"user": svc_user.pw_name, "group": svc_user.pw_name,
            "log": {"file": str(logs / f"postern-{len(list(logs.iterdir()))}.log")}}
    over.update(config)
    srv = postern(config=over, start=False, template=False)
    srv.add_domain("example.org")
    srv.add_user("alice@example.org")
    return srv


def test_serve_runs_as_the_service_user_with_one_capability(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    srv.start()
    tasks = list(Path(f"/proc/{srv.proc.pid}/task").iterdir())
    assert len(tasks) > 2, "workers and pools should be running"
    for task in tasks:   # capabilities are per thread: every thread must have given them up
        st = proc_status(f"{srv.proc.pid}/task/{task.name}")
        assert st["Uid"] == [str(svc_user.pw_uid)] * 4, (task, st["Uid"])
        assert st["Gid"] == [str(svc_user.pw_gid)] * 4, (task, st["Gid"])
        assert st["Groups"] == [str(svc_user.pw_gid)], st["Groups"]
        assert int(st["CapEff"][0], 16) == CAP_NET_BIND_SERVICE, st["CapEff"]
        assert int(st["CapPrm"][0], 16) == CAP_NET_BIND_SERVICE, st["CapPrm"]
        assert int(st["CapInh"][0], 16) == 0 and int(st["CapAmb"][0], 16) == 0
        assert int(st["CapBnd"][0], 16) == CAP_NET_BIND_SERVICE, st["CapBnd"]
        assert st["NoNewPrivs"] == ["1"]
    srv.wait_log("server.identity", lambda e: e.get("uid") == svc_user.pw_uid)

    with srv.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250
    assert len(srv.maildir("alice")) == 1
    assert owned_by_others(srv.data_dir, svc_user.pw_uid) == []
    assert stat.S_IMODE(srv.data_dir.stat().st_mode) == 0o2750
    assert stat.S_IMODE((srv.data_dir / "postern.db").stat().st_mode) == 0o600
    log = srv.log_path.stat()
    assert log.st_uid == svc_user.pw_uid and stat.S_IMODE(log.st_mode) == 0o640


def test_cli_as_root_writes_as_the_service_user(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    for args in (("alias", "add", "info@example.org", "alice@example.org"),
                 ("dkim", "keygen", "example.org"), ("user", "list")):
        p = srv.cli(*args)
        assert p.returncode == 0, (args, p.stderr)
    assert owned_by_others(srv.data_dir, svc_user.pw_uid) == []
    assert stat.S_IMODE((srv.data_dir / "postern.db").stat().st_mode) == 0o600
    for key in (srv.data_dir / "dkim").rglob("*.pem"):
        assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0, key
    srv.start()     # and the server can use all of it
    with srv.connect() as c:
        assert c.send_message("s@remote.test", ["info@example.org"], make_message()).code == 250


def test_a_root_owned_maildir_is_named_in_the_log(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    srv.start()
    maildir = srv.maildir_path("alice")
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        os.chown(maildir / sub, 0, 0)   # owned by root, as an admin's restore might leave it
    with srv.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], make_message())
    assert r.code == 451, r
    e = srv.wait_log("delivery.permission_denied")[0]
    assert e["path"] == str(maildir / "tmp") and e["owner"] == "root", e
    assert e["needs"] == svc_user.pw_name, e


def test_a_missing_service_user_is_named_with_the_fix(postern):
    srv = postern(config={"user": "no-such-postern-user"}, start=False)
    for args in (("serve",), ("config", "check"), ("domain", "list")):
        p = run_postern(*args, config=srv.config_path, timeout=30)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert "user 'no-such-postern-user' does not exist" in p.stderr, p.stderr
        assert "postern install" in p.stderr


def test_world_readable_key_refused(postern, svc_user, openssl, tmp_path):
    cert, key = make_cert(openssl, tmp_path, "mx.example.org", "srv")
    key.chmod(0o644)
    srv = service_server(postern, svc_user, tmp_path, tls={"cert": str(cert), "key": str(key)})
    for args in (("serve",), ("config", "check")):
        p = run_postern(*args, config=srv.config_path, timeout=30)
        assert p.returncode == 1, (args, p.stderr)
        assert f"chmod o-rwx {key}" in p.stderr, p.stderr
    # not strict: it starts, and says so in the log
    srv.overrides["strict_permissions"] = False
    srv.write_config()
    srv.start()
    srv.wait_log("server.permissions", lambda e: str(key) in e.get("problem", ""))


def test_world_readable_dkim_key_refused(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    assert srv.cli("dkim", "keygen", "example.org").returncode == 0
    key = next((srv.data_dir / "dkim").rglob("*.pem"))
    key.chmod(0o604)
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1 and f"chmod o-rwx {key}" in p.stderr, p.stderr


def test_writable_data_dir_refused(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    srv.data_dir.chmod(0o2777)
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1 and f"chmod o-w {srv.data_dir}" in p.stderr, p.stderr
    srv.data_dir.chmod(0o2770)   # group-writable by its own group is fine
    srv.start()


def test_data_owned_by_another_user_refused(postern, svc_user, tmp_path):
    srv = service_server(postern, svc_user, tmp_path)
    os.chown(srv.data_dir / "postern.db", 0, 0)
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1, p.stderr
    want = f"chown -R {svc_user.pw_name}:{svc_user.pw_name} {srv.data_dir}"
    assert want in p.stderr and "is owned by root" in p.stderr, p.stderr


def as_user(user):
    """Runs a child as user, without any capability (like a login shell of it)."""
    def drop():
        os.setgroups([user.pw_gid])
        os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
        os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
    return drop


def test_privileged_port_without_the_capability_names_the_fix(svc_user):
    home = tempfile.mkdtemp(prefix="postern-port-")
    try:
        os.chown(home, svc_user.pw_uid, svc_user.pw_gid)
        conf = Path(home) / "p.conf"
        # port 1 is never bound: the kernel refuses before it looks whether it is free
        conf.write_text(f'data_dir = "{home}/data";\nlisten = {{ smtp = ["127.0.0.1:1"]; }};\n')
        for args in (("config", "check"), ("serve",)):
            p = subprocess.run([POSTERN_BIN, *args, "-c", str(conf)], capture_output=True,
                               text=True, timeout=30, env=postern_env(),
                               preexec_fn=as_user(svc_user))
            assert p.returncode == 1, (args, p.stderr)
            assert "CAP_NET_BIND_SERVICE" in p.stderr and "setcap cap_net_bind_service=+ep" in p.stderr
            assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in p.stderr, p.stderr
    finally:
        subprocess.run(["rm", "-rf", home], check=True)


# ---- one place for the configuration ---------------------------------------------------------


def cli_in(cwd, *args, env_extra=None):
    env = postern_env()
    env.pop("POSTERN_CONFIG", None)
    env.update(env_extra or {})
    return subprocess.run([POSTERN_BIN, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, env=env)


@pytest.mark.skipif(Path("/etc/postern/postern.conf").exists(),
                    reason="this machine has a system configuration")
def test_cli_without_config_refuses_to_create_var(tmp_path):
    p = cli_in(tmp_path, "domain", "list")
    assert p.returncode == 1
    assert "/etc/postern/postern.conf" in p.stderr and "POSTERN_CONFIG" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []
    p = cli_in(tmp_path, "domain", "add", "example.org")
    assert p.returncode == 1 and list(tmp_path.iterdir()) == []
    # config check and serve may use the embedded default; check creates nothing
    p = cli_in(tmp_path, "config", "check")
    assert p.returncode == 0 and "(embedded default)" in p.stdout, p.stderr
    assert list(tmp_path.iterdir()) == []


def test_postern_config_is_honoured(postern, tmp_path):
    srv = postern(start=False)
    p = cli_in(tmp_path, "domain", "list", env_extra={"POSTERN_CONFIG": str(srv.config_path)})
    assert p.returncode == 0, p.stderr
    assert "example.org" in p.stdout.split()
    assert not (tmp_path / "var").exists()
