"""A real clamd for the ClamAV tests (test_clamav.py): Debian's clamav-daemon
(scripts/deps.sh) started by the tests, never as the system service and never
with freshclam.

ClamAV(dir) writes a clamd.conf into a directory of its own: TCP on 127.0.0.1 at
a free high port and a UNIX socket there, Foreground, its log, pid file and
temporary files there, ScanMail (so that attachments are decoded and scanned),
and a DatabaseDirectory holding ONLY test.ndb, made here: one body signature
for the EICAR test string. No signature download is possible or needed; clamd
starts on any one database file, and with a single signature in well under a
second. It runs as root, as the test does (no User key), and is stopped with
SIGTERM.
"""
import binascii
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HOST, free_port

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"

# The EICAR anti-virus test file (https://www.eicar.org): harmless, and every
# scanner's test. Built from pieces so that this source file is not itself "found".
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + b"$H+H*")
# clamd reports a signature from a database it did not get from ClamAV with
# ".UNOFFICIAL" appended
SIGNATURE = "Postern.Test.EICAR"
FOUND_NAME = SIGNATURE + ".UNOFFICIAL"


def need_clamd():
    if not os.access(CLAMD, os.X_OK):
        pytest.skip("clamd is not installed (scripts/deps.sh installs clamav-daemon)")


class ClamAV:
    def __init__(self, directory, stream_max="64M"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "db"
        self.db.mkdir(exist_ok=True)
        # target 0 (any file), offset * (anywhere): the string in a decoded attachment
        (self.db / "test.ndb").write_text(
            f"{SIGNATURE}:0:*:{binascii.hexlify(EICAR).decode()}\n", encoding="ascii")
        self.socket = self.dir / "clamd.sock"
        self.port = free_port()
        self.log = self.dir / "clamd.log"
        self.conf = self.dir / "clamd.conf"
        self.conf.write_text("\n".join([
            "Foreground yes",
            f"DatabaseDirectory {self.db}",
            f"TCPSocket {self.port}",
            f"TCPAddr {HOST}",
            f"LocalSocket {self.socket}",
            f"TemporaryDirectory {self.dir}",
            f"LogFile {self.log}",
            f"PidFile {self.dir / 'clamd.pid'}",
            "ScanMail yes",
            f"StreamMaxLength {stream_max}",
            "SelfCheck 0",
            "",
        ]), encoding="ascii")
        self.proc = None

    @property
    def tcp_address(self):
        return f"{HOST}:{self.port}"

    @property
    def unix_address(self):
        return f"unix:{self.socket}"

    def start(self, timeout=60):
        self.proc = subprocess.Popen([CLAMD, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.1)
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        self.stop()
        pytest.fail(f"clamd did not start:\n{log}")

    def ping(self):
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                s.sendall(b"zPING\0")
                return s.recv(16) == b"PONG\0"
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
