"""The SQLite directory's schema version: newer databases are refused without
being touched, version 1 databases are opened as they are."""
import hashlib
import sqlite3

from conftest import PASSWORD, make_message, run_postern

# Schema version 1 exactly as released (src/store/store_sqlite.c, step 1).
SCHEMA_V1 = """
CREATE TABLE domains (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  created INTEGER NOT NULL);
CREATE TABLE users (
  local TEXT NOT NULL COLLATE NOCASE,
  domain TEXT NOT NULL COLLATE NOCASE REFERENCES domains(name),
  password TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (local, domain));
CREATE TABLE aliases (
  local TEXT NOT NULL COLLATE NOCASE,
  domain TEXT NOT NULL COLLATE NOCASE REFERENCES domains(name),
  target TEXT NOT NULL COLLATE NOCASE,
  created INTEGER NOT NULL,
  PRIMARY KEY (local, domain, target));
"""


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dir_listing(d):
    return sorted(p.name for p in d.iterdir())


def make_db(path, version, schema=SCHEMA_V1, rows=True):
    db = sqlite3.connect(path)
    db.executescript(schema)
    if rows:
        db.execute("INSERT INTO domains VALUES ('legacy.test', 1700000000)")
        db.execute("INSERT INTO users VALUES ('olduser', 'legacy.test', "
                   "'$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA', "
                   "1700000000)")
        db.execute("INSERT INTO aliases VALUES ('old-alias', 'legacy.test', 'olduser@legacy.test', "
                   "1700000000)")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_newer_schema_refused_and_untouched(postern):
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    make_db(db_path, 999)
    before = digest(db_path)
    listing = dir_listing(srv.data_dir)

    for args, stdin in ((("domain", "list"), None), (("user", "list"), None), (("alias", "list"), None),
                        (("domain", "add", "new.test"), None),
                        (("user", "add", "x@legacy.test", "--password-stdin"), "pw\n")):
        p = run_postern(*args, input=stdin, config=srv.config_path)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert "schema version 999 is newer" in p.stderr, (args, p.stderr)
        assert str(db_path) in p.stderr
        assert p.stdout == "", (args, p.stdout)
        assert digest(db_path) == before, f"{args} modified the database"
        assert dir_listing(srv.data_dir) == listing, f"{args} created {dir_listing(srv.data_dir)}"

    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1, p.stderr
    assert "schema version 999 is newer" in p.stderr
    assert digest(db_path) == before, "serve modified the database"
    assert not (srv.data_dir / "backups").exists()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 999
    db.close()


def user_version(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def table_names(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def test_new_database_has_current_schema(postern):
    srv = postern(start=False)
    db_path = srv.data_dir / "postern.db"
    assert user_version(db_path) >= 1
    assert {"domains", "users", "aliases"} <= table_names(db_path)
    # a freshly created database needs no backup
    assert not (srv.data_dir / "backups").exists()


def test_existing_v1_database_opened(postern):
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    make_db(db_path, 1)
    v1_digest = digest(db_path)
    # a server of the old version may still run on it: only serve or `store migrate` upgrade
    p = srv.cli("domain", "list")
    assert p.returncode == 1
    assert "older than this postern" in p.stderr and "postern store migrate" in p.stderr, p.stderr
    assert digest(db_path) == v1_digest
    p = srv.cli("store", "migrate")
    assert p.returncode == 0, p.stderr
    assert "migrated from schema version 1 to" in p.stdout, p.stdout
    p = srv.cli("store", "migrate")
    assert p.returncode == 0 and "nothing to do" in p.stdout, (p.stdout, p.stderr)
    p = srv.cli("domain", "list")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["legacy.test"]
    assert srv.cli("user", "list").stdout.split() == ["olduser@legacy.test"]
    assert "old-alias@legacy.test -> olduser@legacy.test" in srv.cli("alias", "list").stdout

    # it now has the schema of a database postern creates itself
    fresh = postern(start=False, template=False)
    assert fresh.cli("domain", "list").returncode == 0
    latest = user_version(fresh.data_dir / "postern.db")
    assert user_version(db_path) == latest
    assert table_names(fresh.data_dir / "postern.db") <= table_names(db_path)
    bdir = srv.data_dir / "backups"
    backups = sorted(bdir.iterdir()) if bdir.exists() else []
    if latest > 1:
        # migrated: the v1 database was backed up first, intact
        assert [b.name.startswith("postern.db.v1.") for b in backups] == [True], backups
        assert user_version(backups[0]) == 1
        db = sqlite3.connect(f"file:{backups[0]}?mode=ro", uri=True)
        assert db.execute("SELECT local, domain FROM users").fetchall() == [("olduser", "legacy.test")]
        db.close()
    else:
        assert backups == []

    # opening it again makes no second backup
    assert srv.cli("domain", "list").returncode == 0
    if latest > 1:
        assert len([b for b in bdir.iterdir() if not b.name.endswith(("-wal", "-shm"))]) == 1

    # and the server delivers to its users
    srv.add_user("fresh@legacy.test")
    srv.start()
    with srv.connect() as c:
        r = c.send_message("s@remote.test", ["olduser@legacy.test", "old-alias@legacy.test",
                                             "fresh@legacy.test"], make_message())
        assert r.code == 250, r
    assert len(srv.maildir("olduser", "legacy.test")) == 1
    assert len(srv.maildir("fresh", "legacy.test")) == 1


def test_version_0_database_is_migrated(postern):
    # a database file that exists but has no schema yet (user_version 0)
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE unrelated (x)")
    db.commit()
    db.close()
    p = srv.cli("domain", "add", "example.org")
    assert p.returncode == 0, p.stderr
    p = srv.cli("user", "add", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    assert user_version(db_path) >= 1
    assert {"unrelated", "domains", "users", "aliases"} <= table_names(db_path)


def test_corrupt_database_refused_and_untouched(postern):
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    db_path.write_bytes(b"this is not an SQLite database, just some bytes\n" * 100)
    before = digest(db_path)
    p = srv.cli("domain", "list")
    assert p.returncode == 1
    assert str(db_path) in p.stderr
    assert digest(db_path) == before
    p = run_postern("serve", config=srv.config_path, timeout=30)
    assert p.returncode == 1
    assert digest(db_path) == before


def test_v1_database_with_pending_wal_is_read(postern):
    # another process left the database in WAL mode with a commit still in the -wal file
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    make_db(db_path, 1, rows=False)
    keeper = sqlite3.connect(db_path)
    keeper.execute("PRAGMA journal_mode=WAL")
    keeper.execute("PRAGMA wal_autocheckpoint=0")
    keeper.execute("INSERT INTO domains VALUES ('walonly.test', 1700000000)")
    keeper.commit()
    try:
        assert (srv.data_dir / "postern.db-wal").exists()
        p = srv.cli("store", "migrate")
        assert p.returncode == 0, p.stderr
        p = srv.cli("domain", "list")
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["walonly.test"]
    finally:
        keeper.close()


def test_database_is_never_readable_by_others(tmp_path):
    # it holds password hashes: a new one is 0600, an old 0644 one loses the world bits
    import os
    import stat
    conf = tmp_path / "p.conf"
    conf.write_text(f'data_dir = "{tmp_path}/data";\nuser = "";\n', encoding="utf-8")
    old = os.umask(0o022)
    try:
        p = run_postern("domain", "add", "example.net", config=conf)
        assert p.returncode == 0, p.stderr
        db = tmp_path / "data" / "postern.db"
        assert stat.S_IMODE(db.stat().st_mode) == 0o600, oct(db.stat().st_mode)
        db.chmod(0o644)
        p = run_postern("domain", "list", config=conf)
        assert p.returncode == 0, p.stderr
        assert stat.S_IMODE(db.stat().st_mode) & 0o007 == 0, oct(db.stat().st_mode)
        for side in ("postern.db-wal", "postern.db-shm"):
            f = tmp_path / "data" / side
            if f.exists():
                assert stat.S_IMODE(f.stat().st_mode) & 0o007 == 0, (side, oct(f.stat().st_mode))
    finally:
        os.umask(old)


def test_serve_migrates_an_older_database(postern):
    srv = postern(start=False, template=False)
    srv.data_dir.mkdir()
    db_path = srv.data_dir / "postern.db"
    make_db(db_path, 1)
    srv.start()
    srv.wait_log("store.migrated", lambda e: e.get("from") == 1)
    assert user_version(db_path) > 1
    assert [b.name.startswith("postern.db.v1.") for b in (srv.data_dir / "backups").iterdir()] == [True]
    assert srv.cli("domain", "list").stdout.split() == ["legacy.test"]
