"""Cross-checks postern's SPF evaluator with pyspf (Debian's python3-spf) on
random-but-valid records: both evaluate the same cases on the same in-memory
zone, postern through tests/unit/spf_zone_eval (the zone_cases.py format),
pyspf with its DNS lookup replaced by the rules of its own test driver.

    usage: crosscheck.py SPF_ZONE_EVAL [CASES] [SEED]

Prints each disagreement with its zone and exits 1 when there is one.
The generator stays away from the few places where RFC 7208 leaves a choice
and pyspf chose differently (see KNOWN below), so a disagreement is a bug on
one side. Needs python3-spf and python3-yaml (zone_cases.py).
"""
import ipaddress
import os
import random
import subprocess
import sys
import tempfile

import spf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zone_cases import line  # noqa: E402

# Where pyspf 2.0.14 and postern part, both within RFC 7208, and so never generated:
#  - a DNS error on a ptr term's PTR lookup: RFC 7208 5.5 says no match (postern);
#    pyspf gives temperror. Zones here never time out PTR names.
#  - redirect= counts against the 10-term limit in pyspf when the record is
#    parsed, in postern when it is followed (RFC 7208 4.6.4 counts evaluated
#    terms). Chains stay short enough that the limit is not reached with a
#    redirect= present.
#  - %{p} is computed by pyspf once, for the first domain that asks, and also
#    for explanations never shown; it is not generated.
#  - "include:" of the record's own domain is a permerror in pyspf as soon as
#    the record is parsed ("trivial recursion"); RFC 7208 has no such rule, so
#    postern lets an earlier term decide and ends a reached loop at the term
#    limit. Records never include their own domain here.

DOMAINS = ["d%d.example" % i for i in range(6)]
CLIENTS4 = ["192.0.2.%d" % i for i in range(1, 9)]
CLIENTS6 = ["2001:db8::%d" % i for i in range(1, 5)]
LOCALS = ["alice", "a.b", "x-y", "postmaster"]


def rand_spec(r, depth_ok=True):
    choice = r.random()
    if choice < 0.55:
        return r.choice(DOMAINS + ["nx.example", "t.example"])
    if choice < 0.7:
        return "%{d}"
    if choice < 0.8:
        return "%{l}." + r.choice(DOMAINS)
    if choice < 0.9:
        return "%{ir}.%{v}." + r.choice(DOMAINS)
    return "%{d2}"


def rand_mech(r, owner):
    q = r.choice(["", "", "", "+", "-", "~", "?"])
    k = r.random()
    if k < 0.15:
        net = ipaddress.ip_network("192.0.2.%d/%d" % (r.randint(0, 8), r.choice([32, 32, 30, 24, 8])),
                                   strict=False)
        m = "ip4:%s/%d" % (net.network_address, net.prefixlen)
    elif k < 0.25:
        m = "ip6:2001:db8::%x/%d" % (r.randint(0, 4), r.choice([128, 126, 64]))
    elif k < 0.42:
        m = "a"
        if r.random() < 0.5:
            m += ":" + rand_spec(r)
        if r.random() < 0.3:
            m += "/%d" % r.choice([24, 30, 32])
        if r.random() < 0.2:
            m += "//%d" % r.choice([64, 126, 128])
    elif k < 0.57:
        m = "mx"
        if r.random() < 0.5:
            m += ":" + rand_spec(r)
        if r.random() < 0.3:
            m += "/%d" % r.choice([24, 30])
    elif k < 0.72:
        m = "include:" + r.choice([d for d in DOMAINS if d != owner] + ["nx.example"])
    elif k < 0.82:
        m = "exists:" + rand_spec(r)
    elif k < 0.9:
        m = "ptr" + (":" + r.choice(DOMAINS + ["example"]) if r.random() < 0.5 else "")
    else:
        m = "all"
    return q + m


def rand_record(r, owner, with_redirect):
    terms = [rand_mech(r, owner) for _ in range(r.randint(0, 4))]
    if with_redirect and r.random() < 0.3:
        terms.append("redirect=" + r.choice(DOMAINS + ["nx.example"]))
    if r.random() < 0.3:
        terms.append("exp=exp." + r.choice(DOMAINS))
    if r.random() < 0.1:
        terms.append("foo=%{d}")
    r.shuffle(terms)
    return "v=spf1 " + " ".join(terms) if terms else "v=spf1"


def rand_zone(r):
    """{name: [(type, value) | "TIMEOUT"]}"""
    zone = {}
    # redirect= only in records that reach no include, so that it never
    # meets the term limit (see KNOWN)
    for i, d in enumerate(DOMAINS):
        recs = []
        roll = r.random()
        if roll < 0.85:
            recs.append(("TXT", rand_record(r, d, with_redirect=(i % 2 == 0))))
        if roll > 0.95:
            recs.append(("TXT", rand_record(r, d, False)))
        if r.random() < 0.2:
            recs.append(("TXT", "not spf"))
        for a in r.sample(CLIENTS4 + ["198.51.100.1"], r.randint(0, 3)):
            recs.append(("A", a))
        for a in r.sample(CLIENTS6, r.randint(0, 2)):
            recs.append(("AAAA", a))
        for _ in range(r.choice([0, 0, 1, 2, 3, 11])):
            recs.append(("MX", r.choice(DOMAINS + ["mx.nx.example"])))
        zone[d] = recs
        zone["exp." + d] = [("TXT", r.choice(["%{i} not allowed for %{d}", "See %{o}: %{L}",
                                               "%{c} via %{r} %{x}", "two", "%{h} %{v}"]))]
        if r.random() < 0.3:
            zone["exp." + d].append(("TXT", "second"))
    zone["t.example"] = ["TIMEOUT"]
    for ip in CLIENTS4 + CLIENTS6:
        if r.random() < 0.5:
            rev = ipaddress.ip_address(ip).reverse_pointer
            zone[rev] = [("PTR", n) for n in r.sample(DOMAINS, r.randint(1, 2))]
        # exists:%{ir}.%{v}.DOMAIN and %{l}.DOMAIN targets
        if r.random() < 0.3:
            rev = ".".join(reversed(spf.query(i=ip, s="a@b.example", h="b.example").i.split(".")))
            v = "in-addr" if ":" not in ip else "ip6"
            zone["%s.%s.%s" % (rev, v, r.choice(DOMAINS))] = [("A", "127.0.0.2")]
    for loc in LOCALS:
        if r.random() < 0.3:
            zone["%s.%s" % (loc, r.choice(DOMAINS))] = [("A", "127.0.0.2")]
    return zone


# ---- pyspf on the same zone (its test driver's rules) ----

ZONE = {}


def fake_lookup(name, qtype, *args, **kwargs):
    labels = [x for x in name.split(".") if x]
    if any(len(x) > 63 for x in labels):
        raise spf.TempError("DNS label too long")
    name = ".".join(labels).lower()
    recs = ZONE.get(name)
    if recs is None:
        if name.startswith("error."):
            raise spf.TempError("DNS timeout")
        return []
    out, seen = [], False
    for rec in recs:
        if rec == "TIMEOUT":
            if not seen:
                raise spf.TempError("DNS timeout")
            break
        t, v = rec
        if t != qtype:
            continue
        seen = True
        if t == "TXT":
            v = [v.encode("latin-1")]
        elif t == "MX":
            v = (0, v)
        out.append(((name, t), v))
    return out


def pyspf_result(ip, sender, helo):
    q = spf.query(i=ip, s=sender, h=helo, receiver="receiver.test")
    q.set_default_explanation("DEFAULT")
    res, _, exp = q.check()
    return {"unknown": "permerror", "error": "temperror"}.get(res, res), exp


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7208
    r = random.Random(seed)
    spf.DNSLookup = fake_lookup
    scenarios = []
    while sum(len(c) for _, c in scenarios) < n:
        zone = {k.lower(): v for k, v in rand_zone(r).items()}
        cases = []
        for i in range(10):
            ip = r.choice(CLIENTS4 + CLIENTS6)
            helo = r.choice(DOMAINS)
            sender = "" if r.random() < 0.1 else "%s@%s" % (r.choice(LOCALS), r.choice(DOMAINS + ["nx.example"]))
            cases.append(("s%dc%d" % (len(scenarios), i), ip, sender, helo))
        scenarios.append((zone, cases))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for zone, cases in scenarios:
            f.write(line("scenario"))
            for name, recs in zone.items():
                for rec in recs:
                    f.write(line("zone", name, "TIMEOUT") if rec == "TIMEOUT" else line("zone", name, *rec))
            for cid, ip, sender, helo in cases:
                f.write(line("case", cid, ip, sender, helo, "", "-"))
        path = f.name
    try:
        out = subprocess.run([binary, path], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(path)
    ours = {}
    for row in out.splitlines():
        fields = row.split("\t")
        ours[fields[0]] = fields[1:]
    disagree, total, counts = 0, 0, {}
    for zone, cases in scenarios:
        global ZONE
        ZONE = zone
        for cid, ip, sender, helo in cases:
            total += 1
            res, exp = pyspf_result(ip, sender, helo)
            mine = ours[cid]
            counts[res] = counts.get(res, 0) + 1
            same = mine[0] == res
            if same and res == "fail":
                same = (mine[1] or "DEFAULT") == exp
            if not same:
                disagree += 1
                print("DISAGREE %s ip=%s sender=%r helo=%s: postern %s %r (%s), pyspf %s %r"
                      % (cid, ip, sender, helo, mine[0], mine[1], mine[2], res, exp))
                for name, recs in sorted(zone.items()):
                    print("    %s %s" % (name, recs))
    print("crosscheck: %d cases, %d agree, %d disagree; pyspf results %s"
          % (total, total - disagree, disagree, dict(sorted(counts.items()))))
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
