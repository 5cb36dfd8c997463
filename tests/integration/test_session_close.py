"""How a session ends when the client has sent more than the server read: the
last reply must reach the client. Closing a socket with unread input makes the
kernel answer with a reset, which can destroy that reply on its way; the
engine stops sending (FIN), drops what still arrives for a moment and only
then closes (a lingering close, src/net/session.c). One test per protocol,
each ending with unread input behind the last command."""
import socket
import time

from conftest import HOST
from pop3_fixtures import pop3_server

JUNK = b"x" * 60 + b"\r\n"


def send_and_read_all(port, command, tail, timeout=20):
    """Sends command with the tail right behind it, as a client that pipelines
    and reads afterwards, through a small send buffer: most of the tail is
    still on its way when the server has answered. Then reads until the
    server closes. Without a lingering close the server closes with unread
    input: the kernel resets the connection and the send fails."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.settimeout(timeout)
    s.connect((HOST, port))
    got = b""
    try:
        got += s.recv(4096)                  # the greeting
        s.sendall(command + tail)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    return got


def test_last_reply_arrives_though_input_was_left_unread(postern):
    srv = pop3_server(postern)
    tail = JUNK * 4000                      # ~250 KB the server never reads as commands
    cases = [
        (srv.port, b"QUIT\r\n", b"221 "),
        (srv.imap_port, b"a1 LOGOUT\r\n", b"a1 OK"),
        (srv.pop3_port, b"QUIT\r\n", b"+OK"),
    ]
    for port, command, want in cases:
        got = send_and_read_all(port, command, tail)   # no reset, the reply, then EOF
        assert want in got.split(b"\r\n", 1)[-1], (port, got[-200:])
