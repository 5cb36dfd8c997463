"""The Debian package: `make deb` (scripts/deb.sh) builds it once per session
(a release build, DEB_BUILD_OPTIONS="nocheck parallel=2 noautodbgsym", about
half a minute on two cores); its name, fields and contents; the systemd unit
(systemd-analyze verify and security); and a real installation on this machine.

Why install into this machine and not a scratch root: `dpkg --root` runs the
maintainer scripts chrooted into that root, which would need a whole Debian
system there (sh, useradd, dpkg-statoverride), and what matters is what they do
to a real one: the user, the directories and their owners, the server started
as the unit starts it. So test_install_run_remove_purge installs the package,
starts /usr/bin/postern the way the unit does (as user postern, only
CAP_NET_BIND_SERVICE, no new privileges; setpriv stands in for systemd, which
does not run here) on loopback ports, one of them below 1024, then removes and
purges it and checks nothing is left. It runs only as root, and refuses to run
(skips, saying why) when a postern package, user, group or directory already
exists here: it never touches a real installation.

Run: POSTERN_BIN=... /usr/bin/python3 -m pytest -q tests/integration/test_package.py
"""
import contextlib
import fcntl
import grp
import gzip
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO

UNIT = REPO / "packaging" / "postern.service"
TEMPLATE = REPO / "packaging" / "postern.conf"
LOGROTATE = REPO / "packaging" / "postern.logrotate"
MANPAGE = REPO / "docs" / "postern.8"
DEPLOY = REPO / "docs" / "deploy.md"
VERSION = re.search(r"^\s*version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text(), re.M).group(1)
# the exposure score systemd-analyze gives the unit (0 = locked down, 10 = unsafe;
# "OK" is below 5); 1.5 when written
EXPOSURE_MAX = 2.0

SYSTEM_PATHS = ["/etc/postern", "/var/lib/postern", "/var/log/postern", "/usr/bin/postern",
                "/lib/systemd/system/postern.service", "/etc/systemd/system/postern.service",
                "/etc/logrotate.d/postern"]
LOCK = "/tmp/postern-package-test.lock"
DPKG_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}


def need(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/deps.sh installs it)")


@pytest.fixture(scope="module")
def deb():
    """build-deb/postern_<version>_<arch>.deb, built from this tree."""
    need("dpkg-buildpackage", "dh", "dpkg-deb")
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2 noautodbgsym")
    p = subprocess.run(["bash", "scripts/deb.sh"], cwd=REPO, capture_output=True, text=True,
                       timeout=900, env=env)
    assert p.returncode == 0, f"make deb failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    path = Path(p.stdout.strip().splitlines()[-1])
    assert path.is_file(), p.stdout[-2000:]
    return path


@pytest.fixture(scope="module")
def extracted(deb, tmp_path_factory):
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def arch():
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


# ---- what the package holds -------------------------------------------------------------


def test_deb_name_and_fields(deb):
    assert deb.parent == REPO / "build-deb"
    assert deb.name == f"postern_{VERSION}_{arch()}.deb"
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture",
                             "Depends"], capture_output=True, text=True, check=True).stdout
    assert "Package: postern\n" in fields
    assert f"Version: {VERSION}\n" in fields
    assert f"Architecture: {arch()}\n" in fields
    # useradd for postinst, and the shared libraries dpkg-shlibdeps found
    for dep in ("passwd", "libc6", "libssl3", "libsqlite3-0", "libevent-2.1-7"):
        assert re.search(rf"\b{re.escape(dep)}\b", fields), fields


def test_deb_contents(deb, extracted):
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    entries = {line.split()[0][0] + " " + line.split()[-1] for line in listing.splitlines()}
    for want in ("- ./usr/bin/postern", "- ./etc/postern/postern.conf",
                 "- ./lib/systemd/system/postern.service", "- ./usr/share/man/man8/postern.8.gz",
                 "- ./etc/logrotate.d/postern",
                 "- ./usr/share/doc/postern/deploy.md", "- ./usr/share/doc/postern/config.md"):
        assert want in entries, listing
    assert "root/root" in listing and not re.search(r"^\S+ (?!root/root)", listing, re.M)
    conffiles = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True,
                               text=True, check=True).stdout.split()
    assert sorted(conffiles) == ["/etc/logrotate.d/postern", "/etc/postern/postern.conf"]
    # the files are the repository's
    assert (extracted / "etc/postern/postern.conf").read_bytes() == TEMPLATE.read_bytes()
    assert (extracted / "lib/systemd/system/postern.service").read_bytes() == UNIT.read_bytes()
    assert (extracted / "etc/logrotate.d/postern").read_bytes() == LOGROTATE.read_bytes()
    assert gzip.decompress((extracted / "usr/share/man/man8/postern.8.gz").read_bytes()) == \
        MANPAGE.read_bytes()
    binary = extracted / "usr/bin/postern"
    assert os.stat(binary).st_mode & 0o111
    if shutil.which("readelf"):
        # hardening=+all: a position-independent executable, relocations read-only at start
        dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True,
                                 check=True).stdout
        assert "BIND_NOW" in dynamic and "PIE" in dynamic, dynamic
    p = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10)
    assert p.stdout.strip() == f"postern {VERSION}"
    p = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=10)
    assert "install [--prefix DIR] [--user NAME]" in p.stdout


def test_deb_maintainer_scripts(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "ctl")], check=True)
    for script in ("postinst", "postrm", "prerm"):
        path = tmp_path / "ctl" / script
        assert path.is_file(), script
        p = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert p.returncode == 0, f"{script}: {p.stderr}"
    postinst = (tmp_path / "ctl/postinst").read_text()
    assert "/usr/bin/postern install" in postinst
    # the unit is not enabled at installation (set the hostname first)
    assert "deb-systemd-helper enable" not in postinst.split("was-enabled")[0]
    postrm = (tmp_path / "ctl/postrm").read_text()
    purge = postrm[postrm.index("\npurge)"):]
    assert "rm -rf /var/lib/postern" in purge and "rm -rf" not in postrm[:postrm.index("\npurge)")]


# ---- the unit ---------------------------------------------------------------------------


def unit_settings(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_unit_settings_match_the_layout():
    s = unit_settings(UNIT.read_text())
    assert s["Type"] == ["simple"]
    assert s["User"] == ["postern"] and s["Group"] == ["postern"]
    assert s["ExecStart"] == ["/usr/bin/postern serve -c /etc/postern/postern.conf"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert s["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert s["NoNewPrivileges"] == ["yes"] and s["ProtectSystem"] == ["strict"]
    assert "PrivateUsers" not in s, "a private user namespace cannot bind ports below 1024"
    # the server may write exactly where the template keeps data and logs
    rw = s["ReadWritePaths"][0].split()
    template = TEMPLATE.read_text()
    data_dir = re.search(r'^data_dir = "([^"]+)";', template, re.M).group(1)
    log_dirs = {os.path.dirname(m) for m in re.findall(r'^\s*(?:audit_)?file = "([^"]+)";', template, re.M)}
    assert data_dir in rw and log_dirs <= set(rw), (rw, data_dir, log_dirs)
    limit = int(s["LimitNOFILE"][0])
    connections = int(re.search(r"^\s*connections = (\d+);", template, re.M).group(1))
    assert limit >= 2 * connections + 1024


def test_unit_security_exposure(tmp_path):
    need("systemd-analyze")
    shutil.copy(UNIT, tmp_path / "postern.service")
    cmd = ["systemd-analyze", "security", "--offline=true",
           f"--threshold={int(EXPOSURE_MAX * 10)}", "postern.service"]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    m = re.search(r"Overall exposure level for postern\.service: (\d+\.\d+) (\w+)", p.stdout)
    assert m, p.stdout + p.stderr
    assert float(m.group(1)) <= EXPOSURE_MAX and p.returncode == 0, p.stdout


# ---- a real installation -----------------------------------------------------------------


def existing_installation():
    """What of postern is already on this machine ('' when nothing)."""
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "postern"], capture_output=True,
                       text=True, env=DPKG_ENV)
    if p.returncode == 0 and p.stdout.strip():
        return f"the package postern ({p.stdout.strip()})"
    for what, lookup in (("user", pwd.getpwnam), ("group", grp.getgrnam)):
        with contextlib.suppress(KeyError):
            lookup("postern")
            return f"a {what} named postern"
    for path in SYSTEM_PATHS:
        if os.path.lexists(path):
            return path
    return ""


def dpkg(*args):
    """dpkg, waiting up to a minute and a half for another dpkg or apt to finish."""
    deadline = time.monotonic() + 90
    while True:
        p = subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300,
                           env=DPKG_ENV)
        if p.returncode != 0 and "lock" in p.stderr and time.monotonic() < deadline:
            time.sleep(2)
            continue
        return p


def owner_mode(path):
    st = os.lstat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            stat.S_IMODE(st.st_mode))


def free_port(privileged=False):
    ports = range(1023, 599, -1) if privileged else [0]
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    pytest.skip("no free port below 1024 on 127.0.0.1")


def greeting(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                return s.recv(512).decode("ascii", "replace")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def proc_status(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out


def check_installed_layout(stdout):
    pw = pwd.getpwnam("postern")
    assert pw.pw_dir == "/var/lib/postern" and pw.pw_shell.endswith("nologin"), pw
    assert grp.getgrgid(pw.pw_gid).gr_name == "postern"
    assert owner_mode("/etc/postern") == ("root", "postern", 0o750)
    assert owner_mode("/etc/postern/postern.conf") == ("root", "postern", 0o640)
    assert owner_mode("/var/lib/postern") == ("postern", "postern", 0o2770)
    for sub in ("mail", "queue", "spool", "tls", "dkim", "backups"):
        assert owner_mode(f"/var/lib/postern/{sub}") == ("postern", "postern", 0o2770), sub
    assert owner_mode("/var/log/postern") == ("postern", "postern", 0o2750)
    overrides = subprocess.run(["dpkg-statoverride", "--list"], capture_output=True, text=True,
                               env=DPKG_ENV).stdout
    assert "root postern 640 /etc/postern/postern.conf" in overrides
    assert "root postern 750 /etc/postern" in overrides
    assert "Next steps" in stdout


def loopback_config(workers=1):
    """The packaged configuration with loopback listeners (submission below 1024)."""
    ports = {svc: free_port() for svc in ("smtp", "submissions", "imap", "imaps")}
    ports["submission"] = free_port(privileged=True)
    text = Path("/etc/postern/postern.conf").read_text()
    listen = "listen = {\n" + "".join(f'  {svc} = ["127.0.0.1:{port}"];\n'
                                      for svc, port in ports.items()) + "};\n"
    text, n = re.subn(r"^listen = \{.*?^\};\n", listen, text, flags=re.M | re.S)
    assert n == 1
    text, n = re.subn(r"^workers = \d+;", f"workers = {workers};", text, flags=re.M)
    assert n == 1
    # the certificate lines as docs/deploy.md has the admin uncomment them
    text, n = re.subn(r"^  # (cert|key) = ", r"  \1 = ", text, flags=re.M)
    assert n == 2
    return text, ports


def write_loopback_config(confdir):
    """The packaged configuration with loopback listeners, in confdir (root:postern
    0750, the file 0640, as /etc/postern is). Returns (path, ports)."""
    text, ports = loopback_config()
    conf = confdir / "postern.conf"
    conf.write_text(text)
    gid = grp.getgrnam("postern").gr_gid
    os.chown(confdir, 0, gid)
    os.chmod(confdir, 0o750)
    os.chown(conf, 0, gid)
    os.chmod(conf, 0o640)
    return conf, ports


def run_as_the_unit(confdir, tmp_path):
    """Starts ExecStart of the installed unit the way systemd would, on a copy of
    the packaged configuration. Returns (process, ports)."""
    unit = unit_settings(Path("/lib/systemd/system/postern.service").read_text())
    argv = shlex.split(unit["ExecStart"][0])
    assert argv[-2:] == ["-c", "/etc/postern/postern.conf"]
    assert unit["User"] == unit["Group"] == ["postern"]
    conf, ports = write_loopback_config(confdir)
    caps = unit["AmbientCapabilities"][0].lower().replace("cap_", "")
    bounding = unit["CapabilityBoundingSet"][0].lower().replace("cap_", "")
    setpriv = ["setpriv", f"--reuid={unit['User'][0]}", f"--regid={unit['Group'][0]}",
               "--init-groups", f"--bounding-set=-all,+{bounding}", f"--inh-caps=+{caps}",
               f"--ambient-caps=+{caps}", "--no-new-privs"]
    umask = int(unit["UMask"][0], 8)
    out = open(tmp_path / "serve.out", "wb")
    proc = subprocess.Popen([*setpriv, *argv[:-1], str(conf)], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd="/", env=DPKG_ENV,
                            preexec_fn=lambda: os.umask(umask))
    return proc, ports


def check_runs_as_postern(pid):
    """Only the user postern, its group, CAP_NET_BIND_SERVICE, no new privileges."""
    status = proc_status(pid)
    uid, gid = pwd.getpwnam("postern").pw_uid, grp.getgrnam("postern").gr_gid
    assert status["Uid"] == [str(uid)] * 4 and status["Gid"] == [str(gid)] * 4, status
    assert set(status["Groups"]) <= {str(gid)}, status["Groups"]
    cap_net_bind_service = 1 << 10
    for caps in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(status[caps][0], 16) & ~cap_net_bind_service == 0, (caps, status[caps])
    assert status["NoNewPrivs"] == ["1"]


def doc_script(marker):
    """The shell block of docs/deploy.md that contains marker."""
    blocks = re.findall(r"^```sh\n(.*?)^```", DEPLOY.read_text(), re.M | re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"deploy.md: {len(found)} blocks with {marker!r}"
    return found[0]


def run_certbot_hook(tmp_path):
    """deploy.md's certbot deploy hook, on a certificate made here."""
    lineage = tmp_path / "live"
    lineage.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    "/CN=mail.example.org", "-keyout", str(lineage / "privkey.pem"),
                    "-out", str(lineage / "fullchain.pem")], check=True, capture_output=True)
    hook = tmp_path / "hook"
    hook.write_text(doc_script("# certbot deploy hook"))
    env = dict(DPKG_ENV, RENEWED_LINEAGE=str(lineage), RENEWED_DOMAINS="mail.example.org")
    p = subprocess.run(["sh", str(hook)], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert owner_mode("/etc/postern/tls") == ("root", "postern", 0o750)
    assert owner_mode("/etc/postern/tls/privkey.pem") == ("root", "postern", 0o640)
    assert owner_mode("/etc/postern/tls/fullchain.pem") == ("root", "postern", 0o644)
    # another certificate of the host is left alone
    env["RENEWED_DOMAINS"] = "www.example.org"
    os.unlink("/etc/postern/tls/privkey.pem")
    assert subprocess.run(["sh", str(hook)], env=env, timeout=60).returncode == 0
    assert not os.path.exists("/etc/postern/tls/privkey.pem")
    env["RENEWED_DOMAINS"] = "www.example.org mail.example.org"
    assert subprocess.run(["sh", str(hook)], env=env, timeout=60).returncode == 0
    assert os.path.exists("/etc/postern/tls/privkey.pem")


def run_backup_script(tmp_path):
    """deploy.md's backup script, writing into tmp_path instead of /var/backups."""
    script = doc_script("/usr/local/sbin/postern-backup")
    script, n = re.subn(r"^dest=.*$", f"dest={tmp_path}/backup", script, flags=re.M)
    assert n == 1
    p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                       env=DPKG_ENV)
    assert p.returncode == 0, p.stderr
    copy = tmp_path / "backup" / "postern.db"
    tables = subprocess.run(["sqlite3", str(copy), ".tables"], capture_output=True, text=True,
                            check=True).stdout.split()
    assert "domains" in tables or len(tables) > 3, tables
    for tar in ("data.tar", "etc.tar"):
        names = subprocess.run(["tar", "-tf", str(tmp_path / "backup" / tar)], capture_output=True,
                               text=True, check=True).stdout
        assert names, tar
    assert list(Path("/var/lib/postern/backups").iterdir()) == []


def rotate_logs(tmp_path):
    """Forces the packaged logrotate rule; False when logrotate is not installed."""
    if shutil.which("logrotate") is None:
        return False
    p = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "logrotate.state"),
                        "/etc/logrotate.d/postern"], capture_output=True, text=True, timeout=60,
                       env=DPKG_ENV)
    assert p.returncode == 0, p.stderr
    assert os.path.exists("/var/log/postern/postern.log.1")
    return True


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    return proc.returncode


@contextlib.contextmanager
def installed_on_this_machine(deb):
    """dpkg -i the package, yielding dpkg's output; purges it afterwards whatever
    happened. Skips unless root and nothing of postern is on this machine."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    need("setpriv", "systemd-analyze", "dpkg-statoverride")
    with open(LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pytest.skip(f"another test session holds {LOCK} and is installing postern")
        existing = existing_installation()
        if existing:
            pytest.skip(f"refusing to install: {existing} already exists on this machine; this "
                        "test installs and purges the package postern and never touches a real "
                        "installation")
        try:
            p = dpkg("-i", str(deb))
            assert p.returncode == 0, p.stdout + p.stderr
            yield p
        finally:
            dpkg("--purge", "postern")


def stop_all(procs):
    for proc in procs:
        if proc.poll() is None:
            stop(proc)


def test_install_run_remove_purge(deb, tmp_path):
    confdir = Path(tempfile.mkdtemp(prefix="postern-pkg-", dir="/tmp"))
    procs = []   # servers started, stopped before the package goes
    try:
        with installed_on_this_machine(deb) as p:
            try:
                install_run_remove_purge(p, confdir, tmp_path, procs)
            finally:
                stop_all(procs)
    finally:
        shutil.rmtree(confdir, ignore_errors=True)


def install_run_remove_purge(p, confdir, tmp_path, procs):
    check_installed_layout(p.stdout)

    p = subprocess.run(["systemd-analyze", "verify", "/lib/systemd/system/postern.service"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    p = subprocess.run(["postern", "config", "check", "-c", "/etc/postern/postern.conf"],
                       capture_output=True, text=True, timeout=60, env=DPKG_ENV)
    assert p.returncode == 0, p.stdout + p.stderr

    run_certbot_hook(tmp_path)
    proc, ports = run_as_the_unit(confdir, tmp_path)
    procs.append(proc)
    p = subprocess.run(["postern", "config", "check", "-c", str(confdir / "postern.conf")],
                       capture_output=True, text=True, timeout=60, env=DPKG_ENV)
    assert p.returncode == 0, p.stdout + p.stderr
    for svc in ("smtp", "submission"):
        banner = greeting(ports[svc])
        assert banner.startswith("220 mail.example.org "), (svc, banner)
    check_runs_as_postern(proc.pid)
    # it writes where the package made room for it, as its own user
    db = Path("/var/lib/postern/postern.db")
    assert db.is_file() and owner_mode(db)[0] == "postern"
    log = Path("/var/log/postern/postern.log")
    assert owner_mode(log)[:2] == ("postern", "postern")
    assert not owner_mode(log)[2] & 0o007, "the log must not be readable by others"
    # the packaged logrotate rule, then what its postrotate's `systemctl reload`
    # does (ExecReload: SIGHUP): the certificate is reloaded, the logs reopened
    audit = Path("/var/log/postern/audit.log")
    rotated = rotate_logs(tmp_path)
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while (not log.exists() or '"tls.reloaded"' not in log.read_text()) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert '"tls.reloaded"' in log.read_text(), log.read_text()[-2000:]
    if rotated:
        assert '"server.started"' in Path(f"{log}.1").read_text()
        assert owner_mode(log) == ("postern", "postern", 0o640)
    assert owner_mode(audit) == ("postern", "postern", 0o600)
    assert greeting(ports["smtp"]).startswith("220 ")
    if shutil.which("sqlite3") and shutil.which("runuser"):
        run_backup_script(tmp_path)
    assert stop(proc) == 0, (tmp_path / "serve.out").read_text()

    # remove: the program goes, data, logs, configuration and user stay
    p = dpkg("-r", "postern")
    assert p.returncode == 0, p.stdout + p.stderr
    assert not os.path.exists("/usr/bin/postern")
    assert not os.path.exists("/lib/systemd/system/postern.service")
    assert db.is_file() and log.is_file()
    assert os.path.exists("/etc/postern/postern.conf")
    pwd.getpwnam("postern")
    assert "apt purge postern" in p.stderr

    # purge: everything goes, and the script said so first
    p = dpkg("--purge", "postern")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "deleting /var/lib/postern" in p.stderr
    left = [path for path in SYSTEM_PATHS if os.path.lexists(path)]
    assert left == [], left
    with pytest.raises(KeyError):
        pwd.getpwnam("postern")
    with pytest.raises(KeyError):
        grp.getgrnam("postern")
    overrides = subprocess.run(["dpkg-statoverride", "--list"], capture_output=True,
                               text=True, env=DPKG_ENV).stdout
    assert "postern" not in overrides
    assert existing_installation() == ""


# Started as root, serve gives root up and root's commands write as the service user.
def test_root_serve_and_commands_act_as_postern(deb, tmp_path):
    confdir = Path(tempfile.mkdtemp(prefix="postern-pkg-", dir="/tmp"))
    procs = []
    try:
        with installed_on_this_machine(deb):
            try:
                root_serve_and_commands(confdir, tmp_path, procs)
            finally:
                stop_all(procs)
    finally:
        shutil.rmtree(confdir, ignore_errors=True)


def root_serve_and_commands(confdir, tmp_path, procs):
    run_certbot_hook(tmp_path)
    conf, ports = write_loopback_config(confdir)
    # an admin's commands, as root, before the server ever ran: what they make
    # belongs to postern, or the server could not open it
    for args in (["domain", "add", "example.org"], ["dkim", "keygen", "example.org"]):
        p = subprocess.run(["postern", *args, "-c", str(conf)], capture_output=True, text=True,
                           timeout=60, env=DPKG_ENV)
        assert p.returncode == 0, p.stdout + p.stderr
    made = [Path("/var/lib/postern/postern.db"), *Path("/var/lib/postern/dkim").rglob("*")]
    assert len(made) > 2, made
    for path in made:
        assert owner_mode(path)[:2] == ("postern", "postern"), (path, owner_mode(path))
    # `postern serve` started by root: it binds (a port below 1024 too), then
    # runs as postern holding CAP_NET_BIND_SERVICE alone, with no new privileges
    out = open(tmp_path / "root-serve.out", "wb")
    proc = subprocess.Popen(["postern", "serve", "-c", str(conf)], stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                            env=DPKG_ENV)
    procs.append(proc)
    for svc in ("smtp", "submission"):
        assert greeting(ports[svc]).startswith("220 mail.example.org "), svc
    check_runs_as_postern(proc.pid)
    log = Path("/var/log/postern/postern.log")
    assert owner_mode(log)[:2] == ("postern", "postern")
    assert stop(proc) == 0, (tmp_path / "root-serve.out").read_text()
