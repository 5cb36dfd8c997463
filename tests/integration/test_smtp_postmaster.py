"""The admin's addresses: postmaster (RFC 5321 4.5.1) and abuse (RFC 2142).

Every local domain and the server's hostname take postmaster@ and abuse@ in
any letter case, and the bare <postmaster> too, with no relay check, on port
25 and on submission; the mail goes to the `postmaster` setting (local
mailboxes, or the queue for remote addresses), by default to the first user
created, and `serve` and `config check` say so while it is unset. A user or
alias of that name in the store wins. With nobody to receive it yet the reply
is 451 (the sender retries; nothing is lost). Hostile cases: the admin names
at foreign domains, at address literals, at look-alike domains, and a bare
<abuse>, all still need relay permission or are refused."""
import pytest

from conftest import HOSTNAME, free_port, make_message, run_postern
from submission_util import ALICE, NO_LIMITS, login, submission_server

# every form of the two addresses the server must take (hostname mx.example.org)
FORMS = [
    "POSTMASTER@Example.Org", "postmaster@example.org", "Abuse@EXAMPLE.ORG",
    f"postmaster@{HOSTNAME}", f"abuse@{HOSTNAME}", f"PostMaster@{HOSTNAME.upper()}",
    "postmaster+tag@example.org",
]
BARE = ["postmaster", "Postmaster", "POSTMASTER"]


def without_template_alias(postern, config=None):
    """A server whose store has no postmaster@example.org alias (the template
    has one, to alice): the rule, not the store, decides."""
    srv = postern(config=config, start=False)
    p = srv.cli("alias", "del", "postmaster@example.org")
    assert p.returncode == 0, p.stderr
    return srv


def rcpt(c, addr, mail_from="s@remote.test"):
    c.cmd(f"MAIL FROM:<{mail_from}>", expect=250)
    r = c.cmd(f"RCPT TO:<{addr}>")
    c.cmd("RSET", expect=250)
    return r


def deliver_each(srv, addrs):
    """One message per address on port 25; every RCPT must be accepted."""
    with srv.connect() as c:
        c.ehlo()
        for a in addrs:
            c.cmd("MAIL FROM:<s@remote.test>", expect=250)
            r = c.cmd(f"RCPT TO:<{a}>")
            assert (r.code, r.enh) == (250, "2.1.5"), (a, r)
            c.cmd("DATA", expect=354)
            c.send(make_message(subject=f"to {a}") + b".\r\n")
            assert c.reply().code == 250, a


# ---- every form reaches the configured address -----------------------------------------------


def test_every_form_reaches_the_configured_postmaster(postern):
    srv = without_template_alias(postern, {"postmaster": "bob@example.org"})
    srv.start()
    deliver_each(srv, FORMS + BARE)
    assert len(srv.maildir("bob")) == len(FORMS + BARE)
    assert srv.maildir("alice") == []
    subjects = b"".join(srv.messages("bob"))
    for a in FORMS + BARE:
        assert f"Subject: to {a}".encode() in subjects, a
    # set: no warning about the default
    assert srv.logs("config.postmaster_unset") == []
    assert srv.logs("config.postmaster_unreachable") == []


def test_list_of_postmasters_one_copy_each(postern):
    srv = without_template_alias(postern, {"postmaster": ["alice@example.org", "bob@example.org"]})
    srv.start()
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<>", expect=250)     # a bounce to the postmaster is the classic case
        for a in ("postmaster", "abuse@example.org", f"postmaster@{HOSTNAME}"):
            r = c.cmd(f"RCPT TO:<{a}>")
            assert r.code == 250, (a, r)
        c.cmd("DATA", expect=354)
        c.send(make_message(subject="to both") + b".\r\n")
        assert c.reply().code == 250
    assert len(srv.maildir("alice")) == 1 and len(srv.maildir("bob")) == 1


def test_postmaster_on_submission(postern):
    srv = submission_server(postern, auth=NO_LIMITS, start=False,
                            config={"postmaster": "bob@example.org"})
    assert srv.cli("alias", "del", "postmaster@example.org").returncode == 0
    srv.start()
    c = login(srv)
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    for a in ("Postmaster", f"abuse@{HOSTNAME}"):
        r = c.cmd(f"RCPT TO:<{a}>")
        assert (r.code, r.enh) == (250, "2.1.5"), (a, r)
    c.cmd("DATA", expect=354)
    c.send(make_message(sender=ALICE, to="postmaster", subject="submitted to postmaster") + b".\r\n")
    assert c.reply().code == 250
    c.close()
    [data] = srv.messages("bob")
    assert b"Subject: submitted to postmaster" in data


# ---- the default: the first user, with a warning ------------------------------------------------


def test_default_is_the_first_user_and_serve_warns(postern):
    srv = without_template_alias(postern)
    srv.start()
    [w] = srv.logs("config.postmaster_unset")
    assert w["level"] == "warn" and w["user"] == ALICE, w
    assert "postmaster = " in w["hint"] and "first" in w["hint"], w
    deliver_each(srv, ["postmaster@example.org", "postmaster", f"abuse@{HOSTNAME}"])
    assert len(srv.maildir("alice")) == 3
    assert srv.maildir("bob") == []


def test_config_check_names_who_gets_postmaster_mail(postern):
    srv = postern(start=False)
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
    assert "postmaster not set" in p.stdout and ALICE in p.stdout, p.stdout
    srv.overrides["postmaster"] = ["bob@example.org", "noc@remote.example"]
    srv.write_config()
    p = srv.cli("config", "check")
    assert p.returncode == 0, p.stderr
    assert "postmaster: bob@example.org, noc@remote.example" in p.stdout, p.stdout
    assert "not set" not in p.stdout


def test_config_check_without_a_database_creates_nothing(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text(f'hostname = "{HOSTNAME}"; data_dir = "{tmp_path / "data"}"; user = "";\n'
                    'listen = { smtp = ["127.0.0.1:2525"]; };\n')
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    assert "no users yet" in p.stdout and "451" in p.stdout, p.stdout
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("value, fragment", [
    ('"postmaster"', '"postmaster" is not an address'),
    ('"admin@"', '"admin@" is not an address'),
    ('["ok@example.org", "a b@example.org"]', '"a b@example.org" is not an address'),
    ('[]', "'postmaster' lists no address"),
    ('42', "'postmaster' must be a string or a list of strings"),
])
def test_bad_postmaster_setting_names_file_and_line(tmp_path, value, fragment):
    conf = tmp_path / "c.conf"
    conf.write_text(f'hostname = "{HOSTNAME}";\n\npostmaster = {value};\n')
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 1, p.stdout
    assert f"{conf}:3: " in p.stderr and fragment in p.stderr, p.stderr
    p = run_postern("serve", config=conf)
    assert p.returncode == 1 and fragment in p.stderr, p.stderr


def test_a_configured_address_that_reaches_nobody_is_named_at_start(postern):
    srv = without_template_alias(postern, {"postmaster": ["ghost@example.org", "bob@example.org"]})
    srv.start()
    [w] = srv.logs("config.postmaster_unreachable")
    assert w["address"] == "ghost@example.org", w
    deliver_each(srv, ["abuse@example.org"])          # bob still gets it
    assert len(srv.maildir("bob")) == 1


# ---- the store's own entries win -----------------------------------------------------------------


def test_store_entries_named_postmaster_or_abuse_win(postern):
    # the template's alias postmaster@example.org -> alice stays
    srv = postern(config={"postmaster": "bob@example.org"})
    srv.add_user("abuse@example.org")
    deliver_each(srv, ["PostMaster@example.org", "abuse@example.org", f"abuse@{HOSTNAME}"])
    assert len(srv.maildir("alice")) == 1              # the alias
    assert len(srv.maildir("abuse")) == 1              # the user
    assert len(srv.maildir("bob")) == 1                # the hostname: the rule
    # and <postmaster> is postmaster@hostname, which has no store entry
    deliver_each(srv, ["postmaster"])
    assert len(srv.maildir("bob")) == 2


def test_catch_all_does_not_take_postmaster(postern):
    srv = without_template_alias(postern, {"postmaster": "bob@example.org"})
    srv.start()
    srv.add_alias("@example.org", "alice@example.org")
    deliver_each(srv, ["postmaster@example.org", "someone@example.org"])
    assert len(srv.maildir("bob")) == 1 and len(srv.maildir("alice")) == 1


# ---- remote postmaster: through the queue, no relay check -------------------------------------------


def test_remote_postmaster_is_queued_without_relay_permission(postern):
    # a DNS server that never answers: the queued copy waits
    srv = without_template_alias(postern, {"postmaster": "noc@remote.example",
                                           "dns": {"servers": [f"127.0.0.1@{free_port()}"]},
                                           "timeouts": {"shutdown": "1s"}})
    srv.start()
    with srv.connect() as c:
        c.ehlo()
        # this client may not relay ...
        assert rcpt(c, "someone@remote.example").code == 554
        # ... but mail for postmaster is always taken
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<Postmaster>")
        assert (r.code, r.enh) == (250, "2.1.5"), r
        c.cmd("DATA", expect=354)
        c.send(make_message(subject="for the remote admin") + b".\r\n")
        assert c.reply().code == 250
    p = srv.cli("queue", "list")
    assert p.returncode == 0, p.stderr
    # forwarded with an SRS sender at the hostname (test_srs.py)
    assert "noc@remote.example" in p.stdout and "=remote.test=s@" in p.stdout, p.stdout
    assert srv.all_delivered() == []


# ---- nobody to receive it yet: 451, never lost ------------------------------------------------------


def test_no_users_means_451_until_the_first_user_exists(postern):
    srv = postern(template=False, start=False)
    srv.add_domain("example.org")
    srv.start()
    [w] = srv.logs("config.postmaster_unset")
    assert w["user"] is None and "451" in w["hint"], w
    with srv.connect() as c:
        c.ehlo()
        for a in ["postmaster", "postmaster@example.org", f"abuse@{HOSTNAME}"]:
            r = rcpt(c, a)
            assert (r.code, r.enh) == (451, "4.3.0"), (a, r)
            assert "postmaster" in r.text.lower(), r
        # other addresses are unaffected
        assert rcpt(c, "nobody@example.org").code == 550
    srv.add_user("carol@example.org")                 # no restart needed
    deliver_each(srv, ["postmaster"])
    assert len(srv.maildir("carol")) == 1


def test_only_unreachable_postmasters_mean_451(postern):
    srv = without_template_alias(postern, {"postmaster": ["ghost@example.org",
                                                          f"postmaster@{HOSTNAME}"]})
    srv.start()
    assert len(srv.logs("config.postmaster_unreachable")) == 2
    with srv.connect() as c:
        c.ehlo()
        r = rcpt(c, "abuse@example.org")
        assert (r.code, r.enh) == (451, "4.3.0"), r


# ---- hostile: the admin names elsewhere still need relay permission -------------------------------


@pytest.mark.parametrize("addr", [
    "postmaster@remote.example", "abuse@remote.example", "POSTMASTER@Remote.Example",
    "postmaster@example.org.evil.test", f"postmaster@{HOSTNAME}.evil.test",
    "postmaster@evil-example.org", "postmaster@[127.0.0.1]", "abuse@[IPv6:::1]",
])
def test_admin_names_elsewhere_need_relay_permission(server, addr):
    with server.connect() as c:
        c.ehlo()
        r = rcpt(c, addr)
        assert (r.code, r.enh) == (554, "5.7.1"), (addr, r)
    assert server.all_delivered() == []


@pytest.mark.parametrize("arg", ["<abuse>", "<postmaster@>", "<@example.org>", "<post master>",
                                 "<postmaster> junk=", "<postmaster"])
def test_malformed_admin_addresses_refused(server, arg):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd(f"RCPT TO:{arg}")
        assert r.code in (501, 555), (arg, r)


def test_bare_postmaster_is_not_a_sender(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<postmaster>")
        assert r.code == 501, r


def test_relay_permission_still_needed_for_remote_after_postmaster(postern):
    srv = without_template_alias(postern, {"postmaster": "bob@example.org"})
    srv.start()
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        assert c.cmd("RCPT TO:<postmaster>").code == 250
        r = c.cmd("RCPT TO:<victim@remote.example>")
        assert (r.code, r.enh) == (554, "5.7.1"), r
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    assert len(srv.maildir("bob")) == 1
    assert "victim@remote.example" not in srv.cli("queue", "list").stdout
