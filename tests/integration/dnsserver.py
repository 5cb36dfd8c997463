"""A private DNS server for tests: Debian's unbound serving fixed records.

    with DnsServer(["example.test. MX 10 mx1.example.test.",
                    "mx1.example.test. A 127.0.0.2",
                    "nullmx.test. MX 0 ."]) as dns:
        resolver_arg = dns.addr            # "127.0.0.1@PORT" (libunbound forwarder syntax)
        reply = dns.query("example.test", "MX")
        assert reply.answers("MX") == [(10, "mx1.example.test")]
        dns.update(["example.test. MX 5 mx2.example.test."])   # same port, new data

unbound runs in the foreground (-d) as a child process with a config, pidfile
and log in a temporary directory, on 127.0.0.1:<free high port> (UDP and TCP).
It never touches /etc or port 53 and never sends a query anywhere: "." is a
refuse zone, the zones it answers for are static local zones, its module
stack is the iterator alone (no validator, no trust anchor), and every
upstream address is on its do-not-query list, so even a bug in this config
could not make it recurse to the internet.

Records are unbound `local-data` strings (zone-file syntax, owner names
fully qualified). Their owners must lie in a served zone: "test." by default,
plus any given as zones={"other.example.": "static"}; a zone may also use any
unbound local-zone type, e.g. "refuse" (the resolver sees SERVFAIL) or "deny"
(queries are dropped: timeouts). local-data has a TTL of 3600 unless the record
gives one ("a.test. 5 A 127.0.0.1"); a libunbound client caches for that long,
so give short TTLs to records a test will change with update().

dns_query() is a small stdlib DNS client (UDP or TCP) used for the readiness
probe and by the self-check tests.
"""
import contextlib
import ipaddress
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

UNBOUND_BIN = os.environ.get("UNBOUND_BIN", "/usr/sbin/unbound")
HOST = "127.0.0.1"

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
          "SRV": 33, "TLSA": 52, "ANY": 255}
QTYPE_NAMES = {v: k for k, v in QTYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

# A zone of our own whose generation counter tells when a (re)load is live.
_PROBE_ZONE = "dnsserver.invalid."
_PROBE_NAME = "generation." + _PROBE_ZONE


# ---- a minimal DNS client (RFC 1035) ----

class DnsError(Exception):
    pass


class DnsReply:
    """rcode: "NOERROR", "NXDOMAIN", ...; records: list of (name, type, ttl, value).
    value is "1.2.3.4" for A/AAAA, (pref, "host") for MX, "host" for CNAME/NS/PTR,
    a list of str for TXT, the raw rdata bytes otherwise. Names have no trailing
    dot and the root is "."."""

    def __init__(self, rcode, flags, records):
        self.rcode = rcode
        self.flags = flags
        self.records = records

    def answers(self, rtype):
        return [value for _, t, _, value in self.records if t == rtype]

    def __repr__(self):
        return "DnsReply(%s, %r)" % (self.rcode, self.records)


def _encode_name(name):
    name = name.rstrip(".")
    out = bytearray()
    if name:
        for label in name.split("."):
            raw = label.encode("ascii")
            if not 0 < len(raw) <= 63:
                raise ValueError("bad label in %r" % name)
            out += bytes([len(raw)]) + raw
    out += b"\0"
    if len(out) > 255:
        raise ValueError("name too long: %r" % name)
    return bytes(out)


def build_query(name, qtype, qid=None, rd=True):
    """The bytes of a one-question query for name/qtype ("MX" or a number)."""
    qtype = QTYPES[qtype] if isinstance(qtype, str) else int(qtype)
    qid = random.getrandbits(16) if qid is None else qid
    flags = 0x0100 if rd else 0
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + _encode_name(name) + \
        struct.pack("!HH", qtype, 1)


def _read_name(msg, pos):
    """Returns (name, position after the name in place); follows compression
    pointers, refusing loops and names past the message."""
    labels = []
    end = None
    jumps = 0
    while True:
        if pos >= len(msg):
            raise DnsError("name runs past the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise DnsError("truncated pointer")
            if end is None:
                end = pos + 2
            jumps += 1
            if jumps > 64:
                raise DnsError("compression loop")
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n & 0xC0:
            raise DnsError("bad label type")
        pos += 1
        if n == 0:
            break
        if pos + n > len(msg):
            raise DnsError("label runs past the message")
        labels.append(msg[pos:pos + n].decode("ascii", "backslashreplace"))
        pos += n
    return (".".join(labels) or "."), (end if end is not None else pos)


def _rdata_value(msg, rtype, start, rdlen):
    rdata = msg[start:start + rdlen]
    if rtype == 1 and rdlen == 4:
        return str(ipaddress.IPv4Address(rdata))
    if rtype == 28 and rdlen == 16:
        return str(ipaddress.IPv6Address(rdata))
    if rtype == 15:
        if rdlen < 3:
            raise DnsError("short MX rdata")
        return struct.unpack("!H", rdata[:2])[0], _read_name(msg, start + 2)[0]
    if rtype in (2, 5, 12):
        return _read_name(msg, start)[0]
    if rtype == 16:
        out, i = [], 0
        while i < rdlen:
            n = rdata[i]
            out.append(rdata[i + 1:i + 1 + n].decode("utf-8", "backslashreplace"))
            i += 1 + n
        return out
    return bytes(rdata)


def parse_reply(msg, qid=None):
    """Parses a reply; checks the id when qid is given. Returns DnsReply
    holding the answer section."""
    if len(msg) < 12:
        raise DnsError("short reply")
    rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", msg[:12])
    if qid is not None and rid != qid:
        raise DnsError("reply id %d, query id %d" % (rid, qid))
    if not flags & 0x8000:
        raise DnsError("not a reply")
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(msg, pos)
        pos += 4
    records = []
    for _ in range(an):
        name, pos = _read_name(msg, pos)
        if pos + 10 > len(msg):
            raise DnsError("truncated record")
        rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if pos + rdlen > len(msg):
            raise DnsError("rdata runs past the message")
        records.append((name, QTYPE_NAMES.get(rtype, rtype), ttl,
                        _rdata_value(msg, rtype, pos, rdlen)))
        pos += rdlen
    return DnsReply(RCODES.get(flags & 0xF, flags & 0xF), flags, records)


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise DnsError("connection closed")
        buf += chunk
    return buf


def dns_query(host, port, name, qtype, tcp=False, timeout=2.0):
    """One query to host:port over UDP (or TCP); returns a DnsReply. Raises
    socket.timeout / OSError / DnsError."""
    qid = random.getrandbits(16)
    query = build_query(name, qtype, qid)
    if tcp:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(query)) + query)
            (n,) = struct.unpack("!H", _recv_exact(s, 2))
            return parse_reply(_recv_exact(s, n), qid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(query)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            msg = s.recv(65535)
            try:
                return parse_reply(msg, qid)
            except DnsError:
                if time.monotonic() >= deadline:
                    raise


# ---- the server ----

def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now, above 20000."""
    for _ in range(100):
        port = random.randint(20000, 60999)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((HOST, port))
                t.bind((HOST, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port found")


def _quote(text):
    if "\n" in text or "\r" in text:
        raise ValueError("newline in %r" % text)
    if '"' not in text:
        return '"%s"' % text
    if "'" not in text:
        return "'%s'" % text
    raise ValueError("cannot quote %r for unbound.conf" % text)


def _in_zone(owner, zone):
    owner, zone = owner.lower().rstrip(".") + ".", zone.lower().rstrip(".") + "."
    return zone == "." or owner == zone or owner.endswith("." + zone)


class DnsServer:
    """unbound on 127.0.0.1:port answering only for its local zones; see the
    module docstring. Starts in the constructor; stop() (or `with`) ends it."""

    def __init__(self, records=(), port=None, zones=None, start_timeout=10.0):
        self.host = HOST
        self.fixed_port = port
        self.port = port
        self.records = list(records)
        self.zones = {"test.": "static"} if zones is None else dict(zones)
        self.start_timeout = start_timeout
        self.generation = 0
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="postern-dns-")
        self.conf_path = os.path.join(self.dir, "unbound.conf")
        self.log_path = os.path.join(self.dir, "unbound.log")
        self.pid_path = os.path.join(self.dir, "unbound.pid")
        try:
            self.start()
        except BaseException:
            self._cleanup_dir()
            raise

    @property
    def addr(self):
        """The server as libunbound's ub_ctx_set_fwd() wants it."""
        return "%s@%d" % (self.host, self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- config --

    def _config(self):
        for rec in self.records:
            owner = rec.split()[0]
            if not owner.endswith("."):
                raise ValueError("owner of %r must be fully qualified" % rec)
            if not any(_in_zone(owner, z) for z in self.zones if z != "."):
                raise ValueError("%r is outside the served zones %s" % (rec, sorted(self.zones)))
        lines = [
            "server:",
            "    interface: %s" % self.host,
            "    port: %d" % self.port,
            "    do-ip4: yes",
            "    do-ip6: no",
            "    do-udp: yes",
            "    do-tcp: yes",
            "    username: \"\"",
            "    chroot: \"\"",
            "    directory: %s" % _quote(self.dir),
            "    pidfile: %s" % _quote(self.pid_path),
            "    logfile: \"\"",
            "    use-syslog: no",
            "    log-time-ascii: yes",
            "    verbosity: 1",
            "    num-threads: 1",
            "    so-reuseport: no",
            "    outgoing-range: 16",
            "    outgoing-num-tcp: 1",
            "    incoming-num-tcp: 16",
            "    msg-cache-size: 1m",
            "    rrset-cache-size: 1m",
            "    access-control: 127.0.0.0/8 allow",
            # answers only from its own zones: no validator, no trust anchor,
            # no upstream it would be allowed to ask
            "    module-config: \"iterator\"",
            "    do-not-query-localhost: yes",
            "    do-not-query-address: 0.0.0.0/0",
            "    do-not-query-address: ::/0",
            "    prefetch: no",
            "    local-zone: \".\" refuse",
            "    local-zone: %s static" % _quote(_PROBE_ZONE),
            "    local-data: %s" % _quote("%s 0 TXT \"%d\"" % (_PROBE_NAME, self.generation)),
        ]
        for zone, kind in self.zones.items():
            if zone.rstrip(".") == "":
                continue
            lines.append("    local-zone: %s %s" % (_quote(zone if zone.endswith(".") else zone + "."),
                                                     kind))
        for rec in self.records:
            lines.append("    local-data: %s" % _quote(rec))
        lines += ["remote-control:", "    control-enable: no", ""]
        return "\n".join(lines)

    def _write_config(self):
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self._config())
        os.replace(tmp, self.conf_path)

    # -- lifetime --

    def start(self):
        """Starts unbound (on a fresh free port unless one was fixed) and
        waits until it answers."""
        if self.proc is not None:
            raise RuntimeError("already running")
        os.makedirs(self.dir, exist_ok=True)
        attempts = 1 if self.fixed_port else 5
        for attempt in range(attempts):
            self.port = self.fixed_port or _free_port()
            self._write_config()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen([UNBOUND_BIN, "-d", "-c", self.conf_path],
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=self.dir)
            finally:
                log.close()
            if self._wait_ready(self.generation):
                return
            self._kill()
            if attempt + 1 == attempts:
                raise RuntimeError("unbound did not start on port %d:\n%s"
                                   % (self.port, self.log_tail()))

    def update(self, records=None, zones=None):
        """Replaces the records (and zones) and makes unbound reload them
        (SIGHUP): same process, same port. Returns once the new data is live."""
        if self.proc is None:
            raise RuntimeError("not running")
        if records is not None:
            self.records = list(records)
        if zones is not None:
            self.zones = dict(zones)
        self.generation += 1
        self._write_config()
        self.proc.send_signal(signal.SIGHUP)
        if not self._wait_ready(self.generation):
            raise RuntimeError("unbound did not reload:\n%s" % self.log_tail())

    def restart(self, records=None, zones=None):
        """Stops and starts again with new data, on the same port."""
        if records is not None:
            self.records = list(records)
        if zones is not None:
            self.zones = dict(zones)
        port = self.port
        self._kill()
        saved, self.fixed_port = self.fixed_port, port
        try:
            self.start()
        finally:
            self.fixed_port = saved

    def stop(self):
        """Ends unbound and removes its directory. Idempotent."""
        self._kill()
        self._cleanup_dir()

    def query(self, name, qtype, tcp=False, timeout=2.0):
        return dns_query(self.host, self.port, name, qtype, tcp=tcp, timeout=timeout)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # -- internals --

    def _wait_ready(self, generation):
        deadline = time.monotonic() + self.start_timeout
        want = [str(generation)]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                reply = self.query(_PROBE_NAME, "TXT", timeout=0.2)
                if want in reply.answers("TXT"):
                    return True
            except (OSError, DnsError):
                pass
            time.sleep(0.05)
        return False

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _cleanup_dir(self):
        if self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def dnspython_default(server):
    """Points dnspython's default resolver, which python3-spf and dkimpy ask,
    at server for the duration (python3-dnspython, imported only here)."""
    import dns.resolver
    saved = dns.resolver.default_resolver
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [server.host]
    r.port = server.port
    dns.resolver.default_resolver = r
    try:
        yield server
    finally:
        dns.resolver.default_resolver = saved
