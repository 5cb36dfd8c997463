"""`postern install` staged under --prefix (never on this machine's /etc or
/var: test_package.py does that, guarded), the commented configuration template
it embeds, postern(8) against `postern --help`.

Owner checks need root (chown); as another user they check modes only."""
import os
import pwd
import grp
import re
import shutil
import stat
import subprocess

import pytest

from conftest import POSTERN_BIN, REPO, postern_env, run_postern

TEMPLATE = REPO / "packaging" / "postern.conf"
MANPAGE = REPO / "docs" / "postern.8"
IS_ROOT = os.geteuid() == 0

LAYOUT = {  # path under the prefix -> mode
    "etc/postern": 0o750,
    "var/lib/postern": 0o2770,
    "var/lib/postern/mail": 0o2770,
    "var/lib/postern/queue": 0o2770,
    "var/lib/postern/spool": 0o2770,
    "var/lib/postern/tls": 0o2770,
    "var/lib/postern/dkim": 0o2770,
    "var/lib/postern/backups": 0o2770,
    "var/log/postern": 0o2750,
}


def install(prefix, *extra):
    return run_postern("install", "--prefix", prefix, *extra)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def relocated_template(tmp_path, user=""):
    """The template with its data and log directories moved into tmp_path (and,
    where no postern user exists, running as whoever starts it)."""
    text = TEMPLATE.read_text()
    text = text.replace('user = "postern";', f'user = "{user}";')
    text = text.replace('group = "postern";', f'group = "{user}";')
    text = text.replace('"/var/lib/postern"', f'"{tmp_path}/data"')
    text = text.replace('"/var/log/postern/', f'"{tmp_path}/log/')
    (tmp_path / "log").mkdir(parents=True)
    conf = tmp_path / "postern.conf"
    conf.write_text(text)
    return conf


# ---- the template ---------------------------------------------------------------------


def test_template_passes_config_check(tmp_path):
    p = run_postern("config", "check", config=relocated_template(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "postern install" in run_postern("config", "check", config=relocated_template(
        tmp_path / "other", user="no-such-postern-user")).stderr
    assert "configuration ok (hostname mail.example.org" in p.stdout
    # a real server's listeners: every port on IPv4 and IPv6
    for port in (25, 587, 465, 143, 993):
        assert f"0.0.0.0:{port} [::]:{port}" in p.stdout, p.stdout


def test_template_as_shipped_has_no_syntax_or_key_error(tmp_path):
    # on a machine without /var/log/postern only serve's checks may complain
    p = run_postern("config", "check", config=TEMPLATE)
    assert not re.search(r"postern\.conf:\d+:", p.stderr), p.stderr


def test_config_md_public_example_matches_the_template(tmp_path):
    doc = (REPO / "docs" / "config.md").read_text()
    example = re.search(r"## Example for a public server.*?```\n(.*?)```", doc, re.S).group(1)
    conf = tmp_path / "public.conf"
    conf.write_text(example)
    p = run_postern("config", "check", config=conf)
    assert not re.search(r"public\.conf:\d+:", p.stderr), p.stderr
    template = TEMPLATE.read_text()
    for key in ("hostname", "data_dir", "user", "group"):
        line = re.search(rf"^{key} = .*;", example, re.M).group(0)
        assert re.search(rf"^{re.escape(line)}", template, re.M), line
    for path in re.findall(r'"(/[^"]+)"', example):
        assert path in template, f"{path} is in config.md's example but not in the template"


def test_template_sets_real_server_values():
    text = TEMPLATE.read_text()
    assert re.search(r'^hostname = "mail\.example\.org";', text, re.M)
    assert re.search(r'^data_dir = "/var/lib/postern";', text, re.M)
    assert re.search(r'^user = "postern";$', text, re.M)
    assert re.search(r'^group = "postern";$', text, re.M)
    assert re.search(r'^  file = "/var/log/postern/', text, re.M)
    # the certificate lines are there, commented, with certbot named
    assert re.search(r'^  # cert = ', text, re.M) and re.search(r'^  # key = ', text, re.M)
    assert "/etc/letsencrypt/live/" in text


# ---- postern install --prefix -----------------------------------------------------------


def test_install_prefix_lays_out_the_tree(tmp_path):
    root = tmp_path / "root"
    p = install(root)
    assert p.returncode == 0, p.stderr
    for rel, want in LAYOUT.items():
        path = root / rel
        assert path.is_dir() and not path.is_symlink(), rel
        assert mode(path) == want, f"{rel}: {oct(mode(path))}"
    conf = root / "etc/postern/postern.conf"
    assert mode(conf) == 0o640
    # the embedded template is packaging/postern.conf, byte for byte
    assert conf.read_bytes() == TEMPLATE.read_bytes()
    assert "Next steps" in p.stdout and "postern config check" in p.stdout
    assert "systemctl enable --now postern" in p.stdout


def test_install_is_idempotent_and_never_overwrites_the_config(tmp_path):
    root = tmp_path / "root"
    assert install(root).returncode == 0
    conf = root / "etc/postern/postern.conf"
    conf.write_text('hostname = "mx.mine.example";\n')
    os.chmod(root / "var/lib/postern", 0o777)
    os.chmod(root / "var/log/postern", 0o700)
    p = install(root)
    assert p.returncode == 0, p.stderr
    assert conf.read_text() == 'hostname = "mx.mine.example";\n'
    assert re.search(r"^kept\s+\S+/etc/postern/postern.conf", p.stdout, re.M), p.stdout
    assert mode(root / "var/lib/postern") == 0o2770
    assert mode(root / "var/log/postern") == 0o2750
    assert re.search(r"^fixed\s+\S+/var/lib/postern \(2770", p.stdout, re.M), p.stdout
    assert re.search(r"^ok\s+\S+/var/lib/postern/mail ", p.stdout, re.M), p.stdout


@pytest.mark.skipif(not IS_ROOT, reason="setting owners needs root")
def test_install_prefix_owners_for_an_existing_user(tmp_path):
    root = tmp_path / "root"
    p = install(root, "--user", "nobody")
    assert p.returncode == 0, p.stderr
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    for rel in LAYOUT:
        st = os.lstat(root / rel)
        want_uid = 0 if rel == "etc/postern" else nobody.pw_uid
        assert (st.st_uid, st.st_gid) == (want_uid, nobody.pw_gid), rel
    st = os.lstat(root / "etc/postern/postern.conf")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, nobody.pw_gid, 0o640)
    text = (root / "etc/postern/postern.conf").read_text()
    assert re.search(r'^user = "nobody";$', text, re.M), text
    assert re.search(rf'^group = "{group}";$', text, re.M), text
    # the rest of the template is untouched
    assert text.replace('"nobody"', '"postern"').replace(f'group = "{group}"', 'group = "postern"') \
        == TEMPLATE.read_text()
    # and owners drifted away come back
    os.chown(root / "var/lib/postern/mail", 0, 0)
    assert install(root, "--user", "nobody").returncode == 0
    assert os.lstat(root / "var/lib/postern/mail").st_uid == nobody.pw_uid
    assert mode(root / "var/lib/postern/mail") == 0o2770


def test_install_prefix_creates_no_account(tmp_path):
    name = "pstrtest-none"
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    p = install(tmp_path / "root", "--user", name)
    assert p.returncode == 0, p.stderr
    assert "owners are left as they are" in p.stdout
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    text = (tmp_path / "root/etc/postern/postern.conf").read_text()
    assert f'user = "{name}";' in text and f'group = "{name}";' in text


def test_install_leaves_a_symlinked_directory_alone(tmp_path):
    root = tmp_path / "root"
    (root / "var/lib").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    os.chmod(elsewhere, 0o755)
    (root / "var/lib/postern").symlink_to(elsewhere)
    p = install(root)
    assert p.returncode == 1
    assert "not a directory (a symbolic link?" in p.stderr, p.stderr
    assert mode(elsewhere) == 0o755
    assert list(elsewhere.iterdir()) == [], "nothing is made through the symlink"
    assert not (root / "etc/postern/postern.conf").exists()


def test_install_does_not_write_through_a_config_symlink(tmp_path):
    root = tmp_path / "root"
    (root / "etc/postern").mkdir(parents=True)
    victim = tmp_path / "victim"
    (root / "etc/postern/postern.conf").symlink_to(victim)
    p = install(root)
    assert p.returncode == 0, p.stderr
    assert not victim.exists()
    assert (root / "etc/postern/postern.conf").is_symlink()


@pytest.mark.parametrize("name", ["Root", "a b", "-x", "x;y", "../x", "a" * 33, "é", "x\"y"])
def test_install_refuses_bad_user_names(tmp_path, name):
    p = install(tmp_path / "root", "--user", name)
    assert p.returncode == 2, p.stdout
    assert "not a valid user name" in p.stderr
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize("args", [("install", "extra"), ("install", "-c", "/x.conf"),
                                  ("install", "--prefix"), ("install", "--user"),
                                  ("install", "--prefix=")])
def test_install_usage_errors(args):
    p = run_postern(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)


def test_install_without_prefix_needs_root(tmp_path):
    cmd = [POSTERN_BIN, "install"]
    if IS_ROOT:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is needed to drop root for this test")
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=postern_env(),
                       cwd=tmp_path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "must run as root" in p.stderr


def test_install_help():
    p = run_postern("install", "--help")
    assert p.returncode == 0
    for text in ("--prefix DIR", "--user NAME", "2770", "2750", "0640", "never overwritten"):
        assert text in p.stdout


# ---- postern(8) ------------------------------------------------------------------------


def help_commands():
    p = run_postern("--help")
    names = re.findall(r"^  ([a-z]+)\b", p.stdout.split("Options")[0], re.M)
    assert "serve" in names and "install" in names, p.stdout
    return names


def test_man_page_documents_every_command():
    man = MANPAGE.read_text()
    for name in help_commands():
        assert re.search(rf'^\.B[RI]? "?{name}\b', man, re.M), f"postern(8) lacks '{name}'"
    for option in (r"\-\-prefix", r"\-\-user", r"\-\-config", r"\-\-version", r"\-\-password\-stdin"):
        assert option in man, option


def test_man_page_renders_without_warnings():
    if not shutil.which("man"):
        pytest.skip("man is not installed")
    p = subprocess.run(["man", "--warnings", "-l", str(MANPAGE)], capture_output=True, text=True,
                       timeout=30, env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": ""})
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == "", p.stderr
    assert "postern install" in p.stdout
