"""The zone-and-cases text format that tests/unit/spf_zone_eval reads, and
the RFC 7208 suite's YAML converted into it.

One line per item, fields separated by tabs, each field escaped (a
backslash, a tab, and octets outside printable ASCII as \\xHH):

    scenario                                  (starts a new, empty zone)
    zone  NAME  TYPE  VALUE                   (A, AAAA, MX host, PTR, CNAME, TXT, SPF)
    zone  NAME  TIMEOUT                       (queries for types not listed before it time out)
    case  ID  IP  MAILFROM  HELO  RESULTS  EXPLANATION
        RESULTS: accepted results joined by ","; "" to only print the result
        EXPLANATION: the expected explanation, "-" when not checked

The zone follows pyspf's test driver (test/testspf.py): a name with SPF
(type 99) records and no TXT record also gets them as TXT, "TXT: NONE" only
stops that, a TXT's strings are joined (RFC 7208 3.3), and a name under
"error." that is not in the zone times out.

    usage: zone_cases.py SUITE.yml OUT.txt
"""
import sys

import yaml


def escape(value):
    out = []
    for ch in value:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7f and ch != "\t":
            out.append(ch)
        elif o <= 0xff:
            out.append("\\x%02x" % o)
        else:
            out.extend("\\x%02x" % b for b in ch.encode("utf-8"))
    return "".join(out)


def line(*fields):
    return "\t".join(escape(str(f)) for f in fields) + "\n"


def txt_value(v):
    return "".join(v) if isinstance(v, list) else v


def zone_lines(name, records):
    """Lines for one owner name, in order, with pyspf's generated TXT."""
    out, spf, gen = [], [], True
    for rec in records:
        if rec == "TIMEOUT":
            out.append(line("zone", name, "TIMEOUT"))
            continue
        for rtype, value in rec.items():
            if rtype == "TXT":
                gen = False
            elif rtype == "SPF" and gen:
                spf.append(txt_value(value))
            if value == "NONE":
                continue
            if rtype == "MX":
                value = value[1]
            elif rtype in ("TXT", "SPF"):
                value = txt_value(value)
            out.append(line("zone", name, rtype, value))
    if gen:
        out.extend(line("zone", name, "TXT", v) for v in spf)
    return out


def scenario_lines(doc):
    out = [line("scenario")]
    for name, records in (doc.get("zonedata") or {}).items():
        out.extend(zone_lines(name, records))
    for tid, t in doc["tests"].items():
        results = t["result"] if isinstance(t["result"], list) else [t["result"]]
        exp = t.get("explanation")
        out.append(line("case", tid, t["host"], t["mailfrom"], t["helo"], ",".join(results),
                        "-" if exp is None else exp))
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    with open(dst, "w", encoding="ascii") as f:
        for doc in docs:
            f.writelines(scenario_lines(doc))


if __name__ == "__main__":
    main()
