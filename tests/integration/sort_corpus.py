"""The generated mailbox SORT and THREAD are compared with Dovecot on
(test_imap_sort.py, test_imap_thread.py), and the Dovecot that answers them:
dovecot_fixture.py's (the import tests' fixture: `dovecot -F -c CONF` on
loopback high ports, base_dir in a temp dir) with one user.

corpus() generates the same ~200 messages every time (seeded): subjects with
Re:/Fwd:/[list] leaders, (fwd) trailers and [fwd: ...] wrappers, encoded
words in UTF-8 and ISO-8859-1, accented, Greek and Cyrillic text; display
names quoted, encoded, in comments, unquoted with a comma, groups; Date:
fields in several zones and the obsolete forms, missing and unreadable ones;
Message-IDs missing and duplicated; References chains with gaps,
In-Reply-To only, unknown parents and a loop. fill() APPENDs them with their
internal dates (three to an hour: ties).
"""
import contextlib
import random
import time
from base64 import b64encode

from dovecot_fixture import Dovecot, need_dovecot
from imap_fixtures import IMAPConn

USER, PASSWORD = "cmp@example.org", "cmp"


@contextlib.contextmanager
def dovecot_peer(root):
    """A running Dovecot with USER; .connect() gives a logged-in IMAPConn."""
    need_dovecot()
    dv = Dovecot(root, {USER: "{PLAIN}" + PASSWORD}).start()

    def connect():
        c = IMAPConn(dv.imap_port)
        c.login(USER, PASSWORD)
        return c

    dv.connect = connect
    try:
        yield dv
    finally:
        dv.stop()


# ---- the generated mailbox -------------------------------------------------------------------


BASES = ["meeting notes", "Budget 2026", "lunch?", "server down", "Release plan", "hello",
         "\u00dcber den Wolken", "Caf\u00e9 cr\u00e8me", "a\u00f1o nuevo", "\u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
         "\u0395\u03bb\u03bb\u03ac\u03b4\u03b1", "status report", "_underscore first", "[not a tag",
         "Zebra crossing", "zebra Crossing", "42", "", "  spaced   out  "]
LEADERS = ["", "", "", "Re: ", "RE: ", "re:", "Fwd: ", "Fw: ", "FWD:", "[list] ", "[list] Re: ",
           "Re: [list] ", "Re[2]: ", "Re: Re: ", "Re: Fwd: ", "[a][b] "]
TRAILERS = ["", "", "", " (fwd)", " (FWD)", "  "]
PEOPLE = [("Anna", "anna@a.example"), ("bob", "bob@b.example"), ("Zo\u00eb \u00c5ngstr\u00f6m", "zoe@c.example"),
          ("\u00c9mile", "emile@d.example"), ("O'Brien, Pat", "pat@e.example"), ("\u0395\u03bb\u03ad\u03bd\u03b7", "eleni@f.example"),
          ("\u0414\u043c\u0438\u0442\u0440\u0438\u0439", "dima@g.example"), ("", "noname@h.example"), ("Yves", "Yves@I.example"),
          ("aaron", "aaron@j.example")]
ZONES = ["+0000", "-0500", "+0530", "+0100", "-0800", "+1200"]


def _encoded(text, rnd):
    """text as an RFC 2047 encoded-word, or as it is when ASCII and rnd says so."""
    if text.isascii() and rnd.random() < 0.7:
        return text
    if all(ord(ch) < 256 for ch in text) and rnd.random() < 0.5:
        q = "".join(ch if ch.isalnum() and ch.isascii() else
                    "_" if ch == " " else "=%02X" % ord(ch) for ch in text)
        return f"=?ISO-8859-1?Q?{q}?="
    return "=?UTF-8?B?" + b64encode(text.encode()).decode() + "?="


def _subject(rnd):
    base = rnd.choice(BASES)
    s = rnd.choice(LEADERS) + base + rnd.choice(TRAILERS)
    if rnd.random() < 0.05:
        s = f"[fwd: {s}]"
    return _encoded(s, rnd) if s.strip() else s


def _mailbox(rnd):
    name, addr = rnd.choice(PEOPLE)
    form = rnd.randrange(6)
    if not name or form == 0:
        return addr
    if form == 1:
        return f"{addr} ({name})" if name.isascii() else f"{_encoded(name, rnd)} <{addr}>"
    if form == 2 and name.isascii():
        return f'"{name}" <{addr}>'
    return f"{_encoded(name, rnd)} <{addr}>"


def _address_field(rnd, allow_group=True):
    r = rnd.random()
    if allow_group and r < 0.05:
        return "undisclosed-recipients:;"
    if allow_group and r < 0.1:
        return f"Team: {_mailbox(rnd)}, {_mailbox(rnd)};"
    return ", ".join(_mailbox(rnd) for _ in range(rnd.randint(1, 3)))


DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _date(rnd, when):
    r = rnd.random()
    if r < 0.06:
        return None
    if r < 0.09:
        return rnd.choice(["yesterday", "32 Foo 2026 99:99", ""])
    t = time.gmtime(when)
    zone = rnd.choice(ZONES)
    if r < 0.15:     # obsolete forms: no day name, no seconds, a zone name, a two-digit year
        return f"{t.tm_mday} {MONTHS[t.tm_mon - 1]} {t.tm_year % 100:02d} {t.tm_hour:02d}:{t.tm_min:02d} GMT"
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {zone}")


def corpus(n=200, seed=5256):
    """[(message bytes, internal date text)] for n messages."""
    rnd = random.Random(seed)
    out = []
    ids = []            # message id of message i (None when it has none)
    refs_of = []        # the reference chain leading to message i
    base_time = 1767225600   # 2026-01-01
    for i in range(n):
        when = base_time + rnd.randrange(0, 90 * 86400)
        hdr = []
        if rnd.random() > 0.03:
            hdr.append(f"From: {_address_field(rnd)}")
        if rnd.random() > 0.05:
            hdr.append(f"To: {_address_field(rnd)}")
        if rnd.random() < 0.4:
            hdr.append(f"Cc: {_address_field(rnd)}")
        if rnd.random() > 0.04:
            hdr.append(f"Subject: {_subject(rnd)}")
        d = _date(rnd, when)
        if d is not None:
            hdr.append(f"Date: {d}")
        r = rnd.random()
        if r < 0.05:
            mid = None
        elif r < 0.08 and ids and any(ids):
            mid = rnd.choice([x for x in ids if x])      # a duplicate
        else:
            mid = f"<{i}.{seed}@corpus.example>"
        if mid:
            hdr.append(f"Message-ID: {mid}")
        chain = []
        r = rnd.random()
        if i >= n - 2:   # a loop: each of the last two says the other is its parent
            other = i + 1 if i == n - 2 else i - 1
            hdr.append(f"References: <{other}.{seed}@corpus.example>")
        elif i > 0 and r < 0.55:
            p = rnd.randrange(max(0, i - 30), i)
            chain = refs_of[p] + ([ids[p]] if ids[p] else [])
            kept = [x for x in chain if rnd.random() > 0.15]     # gaps
            if rnd.random() < 0.1:
                kept.insert(0, f"<lost{rnd.randrange(5)}@elsewhere.example>")
            if kept and rnd.random() < 0.15:
                hdr.append(f"In-Reply-To: {kept[-1]}")          # In-Reply-To only
            elif kept:
                hdr.append("References: " + "\r\n ".join(kept))
        elif r < 0.6:
            hdr.append(f"In-Reply-To: <lost{rnd.randrange(5)}@elsewhere.example>")
        ids.append(mid)
        refs_of.append(chain)
        body = "\r\n".join("x" * rnd.randint(10, 70) for _ in range(rnd.randint(1, 30)))
        msg = ("\r\n".join(hdr) + "\r\n\r\n" + body + "\r\n").encode()
        idate_t = time.gmtime(base_time + (i // 3) * 3600)   # ties: three messages an hour
        idate = time.strftime("%d-%b-%Y %H:%M:%S +0000", idate_t)
        out.append((msg, idate))
    return out


def fill(conn, name, msgs):
    """CREATE name, APPEND the messages with their internal dates, SELECT it."""
    conn.ok(f"CREATE {name}")
    for msg, idate in msgs:
        r = conn.append(name, msg, date=idate)
        assert r.status == "OK", r
    conn.ok(f"SELECT {name}")


def explain(cmd, ours, theirs):
    """A readable difference of two orders."""
    first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return (f"{cmd}: postern and Dovecot differ from position {first}: "
            f"postern {ours[first:first + 8]} Dovecot {theirs[first:first + 8]} "
            f"(lengths {len(ours)} / {len(theirs)})")
