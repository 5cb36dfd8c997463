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


def test_server_sweeps_expired_entries(postern):
    """The queue runner removes expired triplets (pending past expire,
    passed and unused past remember) and keeps live ones."""
    import time
    srv = postern(start=False)
    now = int(time.time())
    db = sqlite3.connect(srv.data_dir / "postern.db")
    rows = [("192.0.2.0/24", "stale@s.example", "alice@example.org", now - 2 * 86400, 0,
             now - 2 * 86400),
            ("192.0.2.0/24", "old@s.example", "alice@example.org", now - 90 * 86400,
             now - 90 * 86400, now - 40 * 86400),
            ("192.0.2.0/24", "live@s.example", "alice@example.org", now - 60, 0, now - 60),
            ("192.0.2.0/24", "kept@s.example", "alice@example.org", now - 90 * 86400,
             now - 90 * 86400, now - 86400)]
    db.executemany("INSERT INTO greylist(net, sender, rcpt, first_seen, passed, last_seen) "
                   "VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    srv.start()
    deadline = time.time() + 15
    left = None
    while time.time() < deadline:
        db = sqlite3.connect(f"file:{srv.data_dir / 'postern.db'}?mode=ro", uri=True)
        left = sorted(r[0] for r in db.execute("SELECT sender FROM greylist"))
        size = db.execute("SELECT n FROM greylist_size").fetchone()[0]
        db.close()
        if len(left) == 2:
            break
        time.sleep(0.2)
    assert left == ["kept@s.example", "live@s.example"]
    assert size == 2
