"""Greylisting's admin side: `postern user greylist ADDRESS on|off` (the
per-user opt-out the check reads, stored in users.greylist), its hostile and
wrong arguments, and the greylist config group's checks."""
import sqlite3

import pytest

from conftest import DOMAIN


def greylisted(srv, local):
    db = sqlite3.connect(f"file:{srv.data_dir / 'postern.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT greylist FROM users WHERE local = ? AND domain = ?",
                          (local, DOMAIN)).fetchone()[0]
    finally:
        db.close()


def test_opt_out_and_back(postern):
    srv = postern(start=False)
    assert greylisted(srv, "alice") == 1            # on by default
    p = srv.cli("user", "greylist", f"alice@{DOMAIN}", "off")
    assert p.returncode == 0, p.stderr
    assert "is not greylisted" in p.stdout
    assert greylisted(srv, "alice") == 0
    assert greylisted(srv, "bob") == 1              # nobody else
    p = srv.cli("user", "greylist", f"ALICE@{DOMAIN.upper()}", "on")
    assert p.returncode == 0 and "is greylisted" in p.stdout, p.stderr
    assert greylisted(srv, "alice") == 1


def test_unknown_user_and_bad_arguments(postern):
    srv = postern(start=False)
    p = srv.cli("user", "greylist", f"nobody@{DOMAIN}", "off")
    assert p.returncode == 1 and "no such user" in p.stderr
    for args in (("alice@" + DOMAIN, "maybe"), ("not-an-address", "off"),
                 ("alice'--@" + DOMAIN, "off")):
        p = srv.cli("user", "greylist", *args)
        assert p.returncode == 2, (args, p.stderr)
    assert srv.cli("user", "greylist", "alice@" + DOMAIN).returncode == 2
    assert greylisted(srv, "alice") == 1


@pytest.mark.parametrize("group, message", [
    ({"delay": "10m", "expire": "5m"}, "longer than"),
    ({"allow": ["192.0.2.0/33"]}, "neither a network"),
    ({"allow": ["exa mple.org"]}, "neither a network"),
    ({"max_entries": 5}, "max_entries"),
])
def test_config_checked(postern, group, message):
    srv = postern(config={"greylist": group}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode != 0 and message in p.stderr, p.stderr


def test_config_accepted(postern):
    srv = postern(config={"greylist": {"enabled": False, "delay": "1m", "expire": "12h",
                                       "remember": "60d", "auto_allow": 0,
                                       "allow": ["192.0.2.0/24", "2001:db8::/32",
                                                 "Partner.Example"]}}, start=False)
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
