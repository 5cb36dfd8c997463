"""The command line: config check and its FILE:LINE errors, domain/user/alias
management, passwords never on argv."""
import sqlite3
import textwrap

import pytest

from conftest import POSTERN_BIN, make_cert, run_postern


def good_config(tmp_path, port=2999):
    return textwrap.dedent(f"""\
        # a valid configuration
        hostname = "mx.example.org";
        data_dir = "{tmp_path}/data";
        user = "";
        workers = 1;
        listen = {{
          smtp = ["127.0.0.1:{port}"];
        }};
        tls = {{ min_version = "1.3"; }};
        limits = {{ message_size = "10M"; recipients = 50; connections = 100;
                   connections_per_ip = 10; errors = 5; }};
        timeouts = {{ command = "5m"; data = "3m"; session = "1h"; shutdown = "30s"; }};
        log = {{ level = "warn"; }};
        """)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---- config check ----------------------------------------------------------------------


def test_config_check_ok(tmp_path):
    conf = write(tmp_path / "ok.conf", good_config(tmp_path))
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    assert "configuration ok" in p.stdout
    assert "mx.example.org" in p.stdout
    assert not (tmp_path / "data").exists(), "config check must not create the data dir"


def test_config_check_shows_each_services_policy(tmp_path):
    conf = write(tmp_path / "svc.conf", good_config(tmp_path) + textwrap.dedent("""\
        services = {
          imaps = { timeouts = { idle = "2h"; login = "45s"; }; limits = { errors = 3; }; };
        };
        """))
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    smtp = lines.index(next(ln for ln in lines if ln.strip().startswith("smtp ")))
    # the global keys written in the file are every service's defaults
    assert "connections 100 (10 per address), errors 5" in lines[smtp + 1], p.stdout
    assert "session 1h" in lines[smtp + 2], p.stdout
    imaps = lines.index(next(ln for ln in lines if ln.strip().startswith("imaps ")))
    assert "(not listening)" in lines[imaps], p.stdout
    assert "connections 50 (10 per address), errors 3" in lines[imaps + 1], p.stdout
    assert "idle 2h" in lines[imaps + 2] and "login 45s" in lines[imaps + 2], p.stdout


def test_config_check_shows_the_default_per_address_caps(tmp_path):
    # nothing written: IMAP allows a NAT'd office's clients (100 from one
    # address), SMTP, submission and POP3 20, and 200 in all
    conf = write(tmp_path / "defaults.conf", textwrap.dedent(f"""\
        hostname = "mx.example.org";
        data_dir = "{tmp_path}/data";
        user = "";
        listen = {{ smtp = ["127.0.0.1:25999"]; }};
        """))
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()

    def policy(name):
        i = lines.index(next(ln for ln in lines if ln.strip().startswith(name + " ")))
        return lines[i + 1]
    assert "(100 per address)" in policy("imap") and "(100 per address)" in policy("imaps"), p.stdout
    for svc in ("smtp", "submission", "pop3"):
        assert "(20 per address)" in policy(svc), p.stdout
    assert "(200 per address)" in policy("lmtp"), p.stdout


# ---- config check runs serve's own checks, creating nothing ----------------------------


def check_fails(tmp_path, extra, expected, name="serve.conf", base=None):
    conf = write(tmp_path / name, (base if base is not None else good_config(tmp_path)) + extra)
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "configuration ok" not in p.stdout
    assert expected in p.stderr, p.stderr
    assert "serve would refuse to start" in p.stderr, p.stderr
    assert not (tmp_path / "data").exists(), "config check must not create the data dir"
    return p


def test_config_check_refuses_a_missing_certificate(tmp_path):
    text = good_config(tmp_path).replace('tls = { min_version = "1.3"; };',
                                         f'tls = {{ cert = "{tmp_path}/none.pem"; '
                                         f'key = "{tmp_path}/none-key.pem"; }};')
    check_fails(tmp_path, "", "none.pem", base=text)


def test_config_check_refuses_a_key_that_does_not_match(tmp_path, openssl):
    cert, _ = make_cert(openssl, tmp_path, "mx.example.org", "a")
    _, other_key = make_cert(openssl, tmp_path, "mx.example.org", "b")
    text = good_config(tmp_path).replace('tls = { min_version = "1.3"; };',
                                         f'tls = {{ cert = "{cert}"; key = "{other_key}"; }};')
    check_fails(tmp_path, "", "tls:", base=text)
    # the matching pair passes
    good = good_config(tmp_path).replace('tls = { min_version = "1.3"; };',
                                         f'tls = {{ cert = "{cert}"; key = "{tmp_path}/a-key.pem"; }};')
    conf = write(tmp_path / "pair.conf", good)
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    assert "self-signed" not in p.stdout


def test_config_check_refuses_a_log_directory_that_does_not_exist(tmp_path):
    text = good_config(tmp_path).replace('log = { level = "warn"; };',
                                         f'log = {{ level = "warn"; file = "{tmp_path}/nope/p.log"; }};')
    check_fails(tmp_path, "", f"log.file: {tmp_path}/nope/p.log: cannot be created", base=text)
    text = good_config(tmp_path).replace('log = { level = "warn"; };',
                                         f'log = {{ audit_file = "{tmp_path}/gone/a.log"; }};')
    check_fails(tmp_path, "", "log.audit_file", name="audit.conf", base=text)


def test_config_check_refuses_no_listener(tmp_path):
    text = good_config(tmp_path).replace(f'smtp = ["127.0.0.1:2999"];', "")
    check_fails(tmp_path, "", "nothing to serve", base=text)


def test_config_check_refuses_a_newer_database_untouched(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "postern.db")
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    before = (data / "postern.db").read_bytes()
    conf = write(tmp_path / "newer.conf", good_config(tmp_path))
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 1, p.stdout
    assert "schema version 999 is newer" in p.stderr, p.stderr
    assert (data / "postern.db").read_bytes() == before
    assert sorted(x.name for x in data.iterdir()) == ["postern.db"]


def test_config_check_says_what_serve_will_do(tmp_path):
    conf = write(tmp_path / "ok.conf", good_config(tmp_path))
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    assert "serve creates it" in p.stdout
    assert "self-signed" in p.stdout


def test_config_check_refuses_unknown_service_keys(tmp_path):
    conf = write(tmp_path / "bad.conf", good_config(tmp_path) +
                 'services = { imap = { limits = { sessions = 5; }; }; };\n')
    p = run_postern("config", "check", config=conf)
    assert p.returncode != 0
    assert "bad.conf:14: unknown key 'sessions'" in p.stderr, p.stderr


def test_config_check_embedded_default(tmp_path):
    p = subprocess_in(tmp_path, "config", "check")
    assert p.returncode == 0, p.stderr
    assert "(embedded default)" in p.stdout


def subprocess_in(cwd, *args):
    import subprocess
    from conftest import postern_env
    from conftest import sanitizer_report
    p = subprocess.run([POSTERN_BIN, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, env=postern_env(), timeout=30, text=True)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


BAD_CONFIGS = [
    # (name, text, line, message fragment)
    ("unknown-key", 'hostname = "a.example";\n\nbogus = 1;\n', 3, "unknown key 'bogus'"),
    ("unknown-nested-key", 'limits = {\n  recipients = 5;\n  recipient = 5;\n};\n', 3,
     "unknown key 'recipient'"),
    ("wrong-type-int", 'workers = "two";\n', 1, "'workers' must be an integer"),
    ("wrong-type-string", 'hostname = 42;\n', 1, "'hostname' must be a string"),
    ("wrong-type-group", 'limits = 5;\n', 1, "'limits' must be a group"),
    ("wrong-type-list", 'listen = { smtp = "127.0.0.1:25"; };\n', 1, "'smtp' must be a list"),
    ("list-of-ints", 'listen = {\n  smtp = [25];\n};\n', 2, "'smtp' must list strings"),
    ("out-of-range-int", 'limits = {\n  recipients = 0;\n};\n', 2, "'recipients' out of range"),
    ("out-of-range-workers", '\nworkers = 1000;\n', 2, "'workers' out of range"),
    ("out-of-range-size", 'limits = { message_size = "2G"; };\n', 1, "'message_size' out of range"),
    ("too-small-size", 'limits = { message_size = "10"; };\n', 1, "'message_size' out of range"),
    ("out-of-range-duration", 'timeouts = { command = "10ms"; };\n', 1, "'command' out of range"),
    ("bad-size", 'limits = {\n  message_size = "25X";\n};\n', 2, "malformed size"),
    ("bad-size-negative", 'limits = { message_size = "-1M"; };\n', 1, "malformed size"),
    ("bad-size-overflow", 'limits = { message_size = "99999999999999999999G"; };\n', 1, "malformed size"),
    ("bad-duration", 'timeouts = { command = "5 minutes"; };\n', 1, "malformed duration"),
    ("bad-listen-no-port", 'listen = { smtp = ["127.0.0.1"]; };\n', 1, "bad listen address"),
    ("bad-listen-host", 'listen = {\n  smtp = ["127.0.0.1:25",\n            "999.1.1.1:25"];\n};\n', 3,
     "bad listen address \"999.1.1.1:25\""),
    ("bad-listen-port", 'listen = { smtp = ["127.0.0.1:65536"]; };\n', 1, "bad listen address"),
    ("bad-listen-name", 'listen = { smtp = ["localhost:25"]; };\n', 1, "bad listen address"),
    ("bad-listen-v6", 'listen = { smtp = ["[::1:25"]; };\n', 1, "bad listen address"),
    ("bad-min-version", 'tls = { min_version = "1.1"; };\n', 1, "'min_version' must be"),
    ("tls-cert-without-key", 'tls = {\n  cert = "/x.pem";\n};\n', 1, "needs both 'cert' and 'key'"),
    ("bad-log-level", 'log = { level = "verbose"; };\n', 1, "'level' must be one of"),
    ("empty-hostname", 'hostname = "";\n', 1, "'hostname' must be"),
    ("source-ipv4-is-v6", 'queue = { source_ipv4 = "2001:db8::1"; };\n', 1, "'source_ipv4' must be an IPv4"),
    ("source-ipv4-is-cidr", 'queue = { source_ipv4 = "10.0.0.0/8"; };\n', 1, "'source_ipv4' must be an IPv4"),
    ("source-ipv6-is-v4", 'queue = { source_ipv6 = "192.0.2.1"; };\n', 1, "'source_ipv6' must be an IPv6"),
    ("imap-autologout-too-short", 'imap = { autologout = "10ms"; };\n', 1, "'autologout' out of range"),
    ("syntax-missing-value", 'hostname = "a.example";\nworkers = ;\n', 2, "syntax error"),
    ("syntax-double-equals", '\n\nworkers = = 1;\n', 3, "syntax error"),
    ("syntax-unbalanced", 'limits = {\n  recipients = 5;\n', 3, "syntax error"),
]


@pytest.mark.parametrize("name,text,line,fragment", BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_config_errors_name_file_and_line(tmp_path, name, text, line, fragment):
    conf = write(tmp_path / f"{name}.conf", text)
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stdout == ""
    first = p.stderr.strip().splitlines()[0]
    assert f"{conf}:{line}: " in first, first
    assert fragment in first, first


def test_config_error_stops_serve_and_cli(tmp_path):
    conf = write(tmp_path / "bad.conf", 'data_dir = "%s/data";\nlimits = { errors = 0; };\n' % tmp_path)
    for args in (("serve",), ("domain", "list"), ("user", "list"), ("alias", "list")):
        p = run_postern(*args, config=conf, timeout=30)
        assert p.returncode == 1, (args, p.stderr)
        assert f"{conf}:2: " in p.stderr, (args, p.stderr)
    assert not (tmp_path / "data").exists()


def test_included_file_error_names_that_file(tmp_path):
    sub = tmp_path / "conf.d"
    sub.mkdir()
    write(sub / "limits.conf", 'limits = {\n  recipients = 10;\n  nonsense = 1;\n};\n')
    main = write(sub / "main.conf", 'hostname = "mx.example.org";\n@include "limits.conf"\n')
    p = run_postern("config", "check", config=main)
    assert p.returncode == 1
    first = p.stderr.strip().splitlines()[0]
    assert "limits.conf:3: " in first, first
    assert "main.conf" not in first, first
    assert "unknown key 'nonsense'" in first


def test_included_file_syntax_error_names_that_file(tmp_path):
    write(tmp_path / "broken.conf", 'workers = 1;\nworkers = ;\n')
    main = write(tmp_path / "main.conf", 'hostname = "mx.example.org";\n@include "broken.conf"\n')
    p = run_postern("config", "check", config=main)
    assert p.returncode == 1
    first = p.stderr.strip().splitlines()[0]
    assert "broken.conf:2: " in first, first


def test_included_file_is_used(tmp_path):
    write(tmp_path / "host.conf", 'hostname = "included.example.org";\n')
    main = write(tmp_path / "main.conf", f'data_dir = "{tmp_path}/d";\nuser = "";\n@include "host.conf"\n'
                 'listen = { smtp = ["127.0.0.1:2999"]; };\n')   # serve needs a listener
    p = run_postern("config", "check", config=main)
    assert p.returncode == 0, p.stderr
    assert "included.example.org" in p.stdout


def test_missing_config_file(tmp_path):
    p = run_postern("config", "check", config=tmp_path / "nope.conf")
    assert p.returncode == 1
    assert "nope.conf" in p.stderr


def test_empty_listen_refused_by_serve(tmp_path):
    conf = write(tmp_path / "c.conf", f'data_dir = "{tmp_path}/data";\nlisten = {{ smtp = []; }};\n')
    p = run_postern("serve", config=conf, timeout=30)
    assert p.returncode == 1
    assert "nothing to serve" in p.stderr


def test_port_in_use_fails(postern):
    import socket
    srv = postern(start=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", srv.port))   # bound without SO_REUSEPORT: serve cannot share it
        s.listen(1)
        p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1, p.stdout
    assert f"127.0.0.1:{srv.port}" in p.stderr and "already in use" in p.stderr, p.stderr


# ---- usage -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("frobnicate",), ("domain",), ("domain", "add"),
                                  ("domain", "list", "--bogus"), ("user", "add"),
                                  ("user", "frob", "a@example.org"), ("alias", "add", "x@example.org"),
                                  ("config", "verify"), ("serve", "now"), ("domain", "add", "-c")])
def test_usage_errors_exit_2(postern, args):
    srv = postern(start=False)
    cmd = list(args)
    if args and args[-1] != "-c":
        cmd += ["-c", str(srv.config_path)]
    p = run_postern(*cmd, timeout=30)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr


def test_help_and_version():
    p = run_postern("--help")
    assert p.returncode == 0 and "usage: postern" in p.stdout
    for sub in ("serve", "domain", "user", "alias", "config"):
        p = run_postern(sub, "--help")
        assert p.returncode == 0 and "usage:" in p.stdout, sub
    p = run_postern("--version")
    assert p.returncode == 0 and p.stdout.startswith("postern ")


# ---- domains ---------------------------------------------------------------------------------


def test_domain_add_list_del(postern):
    srv = postern(start=False)
    p = srv.cli("domain", "list")
    assert p.returncode == 0 and p.stdout.split() == ["example.org"]
    p = srv.cli("domain", "add", "New.Example.NET")
    assert p.returncode == 0, p.stderr
    assert srv.cli("domain", "list").stdout.split() == ["example.org", "new.example.net"]
    p = srv.cli("domain", "add", "new.example.net")
    assert p.returncode == 1 and "already exists" in p.stderr
    p = srv.cli("domain", "del", "new.example.net")
    assert p.returncode == 0, p.stderr
    assert srv.cli("domain", "list").stdout.split() == ["example.org"]
    p = srv.cli("domain", "del", "new.example.net")
    assert p.returncode == 1 and "no domain" in p.stderr


@pytest.mark.parametrize("bad", ["-example.org", "example.org-", "a-.example", "exa mple.org",
                                 "a..b", "example.org.", "../etc", "a/b", "ex_ample.org", "é.example",
                                 "x" * 64 + ".org", ""])
def test_domain_add_invalid(postern, bad):
    srv = postern(start=False)
    p = srv.cli("domain", "add", bad)
    assert p.returncode == 2, (bad, p.stderr)
    assert srv.cli("domain", "list").stdout.split() == ["example.org"]


def test_domain_del_with_users_refused(postern):
    srv = postern(start=False)
    p = srv.cli("domain", "del", "example.org")
    assert p.returncode == 1
    assert "still has users or aliases" in p.stderr
    assert srv.cli("domain", "list").stdout.split() == ["example.org"]
    # only aliases left also blocks
    srv.add_domain("aliasonly.test")
    srv.add_alias("x@aliasonly.test", "alice@example.org")
    p = srv.cli("domain", "del", "aliasonly.test")
    assert p.returncode == 1


# ---- users -------------------------------------------------------------------------------------


def test_user_add_list_del(postern):
    srv = postern(start=False)
    assert srv.cli("user", "list").stdout.split() == ["alice@example.org", "bob@example.org"]
    p = srv.cli("user", "add", "Carol@example.org", "--password-stdin", input="pw carol\n")
    assert p.returncode == 0, p.stderr
    assert "carol@example.org" in srv.cli("user", "list", "example.org").stdout.split()
    assert (srv.data_dir / "mail" / "example.org" / "carol" / "Maildir" / "new").is_dir()
    p = srv.cli("user", "del", "carol@example.org")
    assert p.returncode == 0, p.stderr
    assert "carol@example.org" not in srv.cli("user", "list").stdout
    p = srv.cli("user", "del", "carol@example.org")
    assert p.returncode == 1 and "no such user" in p.stderr


def test_user_add_duplicate(postern):
    srv = postern(start=False)
    p = srv.cli("user", "add", "alice@example.org", "--password-stdin", input="other\n")
    assert p.returncode == 1
    assert "already exists" in p.stderr
    p = srv.cli("user", "add", "ALICE@example.org", "--password-stdin", input="other\n")
    assert p.returncode == 1


def test_user_add_unknown_domain(postern):
    srv = postern(start=False)
    p = srv.cli("user", "add", "dave@nowhere.test", "--password-stdin", input="pw\n")
    assert p.returncode == 1
    assert "not a local domain" in p.stderr


def test_user_add_without_tty_fails(postern):
    srv = postern(start=False)
    p = srv.cli("user", "add", "carol@example.org")   # stdin is /dev/null, no terminal
    assert p.returncode == 1
    assert "--password-stdin" in p.stderr
    assert "carol@example.org" not in srv.cli("user", "list").stdout


def test_password_never_accepted_on_argv(postern):
    srv = postern(start=False)
    for args in (("user", "add", "carol@example.org", "hunter2"),
                 ("user", "add", "carol@example.org", "--password", "hunter2"),
                 ("user", "add", "carol@example.org", "--password=hunter2"),
                 ("user", "add", "carol@example.org", "-p", "hunter2"),
                 ("user", "passwd", "alice@example.org", "hunter2")):
        p = srv.cli(*args, input="stdin-pw\n")
        assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert "carol@example.org" not in srv.cli("user", "list").stdout
    db = sqlite3.connect(srv.data_dir / "postern.db")
    rows = db.execute("SELECT local, password FROM users").fetchall()
    db.close()
    assert all("hunter2" not in pw and "stdin-pw" not in pw for _, pw in rows)


def test_password_is_hashed(postern):
    srv = postern(start=False)
    p = srv.cli("user", "add", "carol@example.org", "--password-stdin", input="Tr0ub4dor&3\n")
    assert p.returncode == 0
    db = sqlite3.connect(srv.data_dir / "postern.db")
    [(pw,)] = db.execute("SELECT password FROM users WHERE local = 'carol'").fetchall()
    db.close()
    assert pw.startswith("$argon2id$"), pw
    assert "Tr0ub4dor" not in pw
    assert "Tr0ub4dor" not in p.stdout + p.stderr


def test_user_passwd(postern):
    srv = postern(start=False)
    db_path = srv.data_dir / "postern.db"

    def hash_of(local):
        db = sqlite3.connect(db_path)
        [(pw,)] = db.execute("SELECT password FROM users WHERE local = ?", (local,)).fetchall()
        db.close()
        return pw

    before = hash_of("alice")
    p = srv.cli("user", "passwd", "alice@example.org", "--password-stdin", input="new password\n")
    assert p.returncode == 0, p.stderr
    assert hash_of("alice") != before
    p = srv.cli("user", "passwd", "nobody@example.org", "--password-stdin", input="x\n")
    assert p.returncode == 1
    p = srv.cli("user", "passwd", "alice@example.org")   # no tty, no --password-stdin
    assert p.returncode == 1


def test_empty_password_refused(postern):
    srv = postern(start=False)
    for stdin in ("\n", ""):
        p = srv.cli("user", "add", "carol@example.org", "--password-stdin", input=stdin)
        assert p.returncode == 1, repr(stdin)
    assert "carol" not in srv.cli("user", "list").stdout


@pytest.mark.parametrize("bad", ["carol", "@example.org", "carol@", "ca rol@example.org",
                                 "../../etc@example.org", "a/b@example.org", ".carol@example.org",
                                 "car..ol@example.org", "carol+tag@example.org", "jörg@example.org",
                                 "x" * 65 + "@example.org"])
def test_user_add_invalid_address(postern, bad):
    srv = postern(start=False)
    p = srv.cli("user", "add", bad, "--password-stdin", input="pw\n")
    assert p.returncode == 2, (bad, p.stderr)
    assert srv.cli("user", "list").stdout.split() == ["alice@example.org", "bob@example.org"]


# ---- aliases --------------------------------------------------------------------------------


def alias_lines(srv):
    p = srv.cli("alias", "list")
    assert p.returncode == 0, p.stderr
    return sorted(p.stdout.splitlines())


def test_alias_add_list_del(postern):
    srv = postern(start=False)
    base = alias_lines(srv)
    assert "both@example.org -> alice@example.org" in base
    p = srv.cli("alias", "add", "team@example.org", "alice@example.org", "bob@example.org",
                "friend@remote.test")
    assert p.returncode == 0, p.stderr
    lines = alias_lines(srv)
    for t in ("alice@example.org", "bob@example.org", "friend@remote.test"):
        assert f"team@example.org -> {t}" in lines
    # adding an existing pair again is not an error
    p = srv.cli("alias", "add", "team@example.org", "alice@example.org")
    assert p.returncode == 0
    assert len(alias_lines(srv)) == len(base) + 3
    p = srv.cli("alias", "del", "team@example.org", "friend@remote.test")
    assert p.returncode == 0, p.stderr
    assert "team@example.org -> friend@remote.test" not in alias_lines(srv)
    assert "team@example.org -> bob@example.org" in alias_lines(srv)
    p = srv.cli("alias", "del", "team@example.org")
    assert p.returncode == 0, p.stderr
    assert alias_lines(srv) == base
    p = srv.cli("alias", "del", "team@example.org")
    assert p.returncode == 1 and "no such alias" in p.stderr


def test_alias_catch_all(postern):
    srv = postern(start=False)
    p = srv.cli("alias", "add", "@example.org", "bob@example.org")
    assert p.returncode == 0, p.stderr
    assert "@example.org -> bob@example.org" in alias_lines(srv)
    p = srv.cli("alias", "del", "@example.org")
    assert p.returncode == 0, p.stderr


def test_alias_errors(postern):
    srv = postern(start=False)
    p = srv.cli("alias", "add", "x@nowhere.test", "alice@example.org")
    assert p.returncode == 1 and "not a local domain" in p.stderr
    for bad_target in ("not-an-address", "a@", "@example.org", "a b@example.org", "postmaster",
                       "a@[127.0.0.1]"):
        p = srv.cli("alias", "add", "x@example.org", bad_target)
        assert p.returncode == 2, (bad_target, p.stderr)
    p = srv.cli("alias", "add", "x y@example.org", "alice@example.org")
    assert p.returncode == 2
    assert "x@example.org" not in "\n".join(alias_lines(srv))


def test_second_instance_on_same_port_refused(postern):
    """A second `postern serve` on an address a running one listens on must fail
    instead of silently sharing the port (SO_REUSEPORT) and taking part of the mail."""
    first = postern()
    second = postern(start=False)
    second.write_config(first.port)
    import subprocess
    from conftest import postern_env
    proc = subprocess.Popen([POSTERN_BIN, "serve", "-c", str(second.config_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=postern_env())
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=15)
        rc = None
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stdout.close()
    proc.stderr.close()
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert rc == 1, f"second instance kept running on port {first.port} (rc {rc})"
    assert "cannot listen" in err or "in use" in err, err
