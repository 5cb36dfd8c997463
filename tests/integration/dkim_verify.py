#!/usr/bin/python3
"""Verify a DKIM-signed message with dkimpy, independently of postern's code.

Usage: dkim_verify.py MESSAGE_FILE SELECTOR DOMAIN TXT_RECORD

No real DNS: the TXT record given on the command line is the answer for
SELECTOR._domainkey.DOMAIN, and every other name has none. The message is
read as stored by postern (LF line ends; CRLF accepted) and turned into wire
form (CRLF, last line terminated) before verification. Ed25519 needs
python3-nacl.

Exit status 0 when the (topmost) signature verifies, 1 otherwise; the result
and, on failure, dkimpy's reason are printed. Run with Debian's
/usr/bin/python3, which has python3-dkim.
"""
import logging
import sys

import dkim


def main(argv):
    if len(argv) != 5:
        print("usage: dkim_verify.py MESSAGE_FILE SELECTOR DOMAIN TXT_RECORD", file=sys.stderr)
        return 1
    path, selector, domain, record = argv[1:]
    with open(path, "rb") as f:
        message = f.read()
    # LF or CRLF in, CRLF out, without doubling CRs that are already there
    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    # on the wire the last line always ends in CRLF (RFC 5321 4.1.1.4: the
    # <CRLF>.<CRLF> terminator), which is what postern signs
    if message and not message.endswith(b"\r\n"):
        message += b"\r\n"

    qname = f"{selector}._domainkey.{domain}".lower().rstrip(".")

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if name.lower().rstrip(".") == qname:
            return record.encode("ascii")
        return None

    log = logging.getLogger("dkim_verify")
    logging.basicConfig(level=logging.WARNING, format="dkimpy: %(message)s")
    try:
        ok = dkim.DKIM(message, logger=log).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        print(f"FAIL: {e}")
        return 1
    if ok:
        print(f"PASS: DKIM signature valid (d={domain}, s={selector})")
        return 0
    print("FAIL: DKIM signature invalid")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
