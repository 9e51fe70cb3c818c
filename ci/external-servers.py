#!/usr/bin/env python3
"""The emulator's IP services against servers this project did not write.

`mtg emulator --listen` is driven over TCP exactly as a host drives a unit,
while the far side is aiosmtpd (SMTP), pyftpdlib (FTP), a plain POP3 server
and TCP/UDP echo servers written here in Python, each on its own loopback
address. Checked (issue 7, "Done when"):

- after AT+WOPEN=1, AT#APNSERV, AT+CGATT=1, AT#CONNECTIONSTART answers an
  IPv4 line then Ok_Info_GprsActivation;
- #SENDMAIL1 and #PUTMAIL deliver mail with the configured envelope, headers
  and body (as aiosmtpd received it);
- #GETMAIL prints a seeded message;
- #FTPGET and #FTPPUT move a file holding every byte value (0x03 and 0x10
  included) intact, in both FTP modes;
- #OTCP and #OUDP echo through the echo servers;
- #PING to 127.0.0.1 reports two replies with PINGNUM=2.

With `--bench` it then prints the data-mode throughput of #FTPGET, #FTPPUT
(1 MiB) and #OTCP (256 KiB echoed) through the emulator: a benchmark, never
a pass/fail threshold (these machines are shared and noisy).

Usage: ci/external-servers.py path/to/mtg [--bench]   (run by
ci/external-servers.sh, which provides aiosmtpd and pyftpdlib in a virtual
environment)
"""

import logging

import os
import re
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer

config_logging(level=logging.WARNING)

MTG = sys.argv[1]
BENCH = "--bench" in sys.argv[2:]
SMTP_IP, POP3_IP, FTP_IP, ECHO_IP = "127.0.0.121", "127.0.0.122", "127.0.0.123", "127.0.0.124"
ALL_BYTES = bytes(range(256)) * 2
DLE, ETX = 0x10, 0x03


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


# --- the far side -----------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: every accepted mail."""

    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


POP3_MESSAGES = [b"From: office@example.com\r\nSubject: seeded\r\n\r\nhello from a plain POP3 server\r\n.dot line\r\n"]


class Pop3(socketserver.StreamRequestHandler):
    """A plain POP3 server (RFC 1939): one user, the seeded messages."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        deleted = set()
        self.reply("+OK plain POP3 ready")
        for raw in self.rfile:
            cmd, _, arg = raw.decode(errors="replace").strip().partition(" ")
            cmd = cmd.upper()
            if cmd in ("USER", "PASS"):
                self.reply("+OK" if arg in ("cam", "pop-secret") else "-ERR")
            elif cmd == "STAT":
                live = [m for i, m in enumerate(POP3_MESSAGES) if i not in deleted]
                self.reply(f"+OK {len(live)} {sum(map(len, live))}")
            elif cmd == "LIST":
                self.reply("+OK")
                for i, m in enumerate(POP3_MESSAGES):
                    if i not in deleted:
                        self.reply(f"{i + 1} {len(m)}")
                self.reply(".")
            elif cmd == "RETR":
                m = POP3_MESSAGES[int(arg) - 1]
                self.reply(f"+OK {len(m)} octets")
                for line in m.split(b"\r\n")[:-1]:
                    self.wfile.write((b"." + line if line.startswith(b".") else line) + b"\r\n")
                self.reply(".")
            elif cmd == "DELE":
                deleted.add(int(arg) - 1)
                self.reply("+OK")
            elif cmd == "QUIT":
                self.reply("+OK bye")
                return
            else:
                self.reply("+OK")


class TcpEcho(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except OSError:
            pass  # the unit closed first


class UdpEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- the host side ----------------------------------------------------------


class Line:
    """The serial line to `mtg emulator --listen`."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def write(self, data):
        self.sock.sendall(data)

    def read_until(self, needle, timeout=30):
        deadline = time.time() + timeout
        while needle not in self.buf:
            if time.time() > deadline:
                raise SystemExit(f"timed out waiting for {needle!r}; got {self.buf!r}")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit(f"the line closed; got {self.buf!r}")
            self.buf += chunk
        i = self.buf.index(needle) + len(needle)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def command(self, line, final=b"\r\nOK\r\n", timeout=30):
        self.write(line.encode() + b"\r")
        return self.read_until(final, timeout).decode(errors="replace")


def dle_encode(data):
    return bytes(b for x in data for b in ((DLE, x) if x in (DLE, ETX) else (x,)))


def dle_decode_until_etx(line):
    """Data-mode bytes from the unit up to the unescaped ETX that ends them."""
    out, escaped = bytearray(), False
    while True:
        if not line.buf:
            line.buf += line.sock.recv(65536)
        b, line.buf = line.buf[0], line.buf[1:]
        if escaped:
            out.append(b)
            escaped = False
        elif b == DLE:
            escaped = True
        elif b == ETX:
            return bytes(out)
        else:
            out.append(b)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        raise SystemExit(1)


def main():
    root = tempfile.mkdtemp()
    mailbox = Mailbox()
    smtp_port = free_port(SMTP_IP)
    controller = Controller(mailbox, hostname=SMTP_IP, port=smtp_port)
    controller.start()
    pop3 = serve(Threaded((POP3_IP, 0), Pop3))
    tcp_echo = serve(Threaded((ECHO_IP, 0), TcpEcho))
    udp_echo = serve(socketserver.ThreadingUDPServer((ECHO_IP, 0), UdpEcho))
    ftp_root = os.path.join(root, "ftp")
    os.makedirs(os.path.join(ftp_root, "pub"))
    with open(os.path.join(ftp_root, "pub", "all.bin"), "wb") as f:
        f.write(ALL_BYTES)
    authorizer = DummyAuthorizer()
    authorizer.add_user("cam", "ftp-secret", ftp_root, perm="elradfmwMT")
    FTPHandler.authorizer = authorizer
    FTPHandler.passive_ports = range(60100, 60200)
    ftp_port = free_port(FTP_IP)
    ftp = FTPServer((FTP_IP, ftp_port), FTPHandler)
    threading.Thread(target=ftp.serve_forever, kwargs={"handle_exit": False}, daemon=True).start()

    port = free_port("127.0.0.1")
    proc = subprocess.Popen([MTG, "emulator", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the emulator did not start")
                time.sleep(0.05)
        line = Line(port)
        line.command("ATE0")
        line.command("AT+CMEE=1")
        line.command("AT+WOPEN=1")
        line.command('AT#APNSERV="internet"')
        line.command("AT+CGATT=1")
        got = line.command("AT#CONNECTIONSTART", b"Ok_Info_GprsActivation\r\n", 130)
        check(re.search(r"\r\n\d+\.\d+\.\d+\.\d+\r\n", got) is not None, f"#CONNECTIONSTART: an IPv4 line, then Ok_Info_GprsActivation ({got.strip()!r})")

        # Mail through aiosmtpd.
        for cmd in [f'AT#SMTPSERV="{SMTP_IP}"', f"AT#SMTPPORT={smtp_port}", 'AT#DOMAIN="camera.example"',
                    'AT#SENDERNAME="Camera 1"', 'AT#SENDERADDR="camera@example.com"',
                    'AT#CCREC1="cc@example.com"', 'AT#SUBJ1="snapshot"']:
            line.command(cmd)
        line.write(b"AT#REC1ADD\r")
        line.write(b"to@example.com\x1a")
        line.read_until(b"OK\r\n")
        line.write(b"AT#BODY1\r")
        line.write(b"first line\r\n.dotted line\x1a")
        line.read_until(b"OK\r\n")
        line.command("AT#SENDMAIL1", timeout=60)
        sender, rcpts, content = mailbox.mails[-1]
        check(sender == "camera@example.com" and rcpts == ["to@example.com", "cc@example.com"],
              f"#SENDMAIL1: envelope {sender} -> {rcpts}")
        check(b"Subject: snapshot" in content and b"camera@example.com" in content and b"Camera 1" in content,
              "#SENDMAIL1: From and Subject headers as configured")
        check(b"\r\nfirst line\r\n.dotted line" in content, "#SENDMAIL1: the body, dot line intact (stuffed, unstuffed by aiosmtpd)")
        line.write(b"AT#PUTMAIL\r")
        line.read_until(b"Ok_Info_WaitingForData\r\n")
        line.write(b"put body\r\n..\r\n\r\n.\r\n")
        line.read_until(b"OK\r\n", 60)
        check(mailbox.mails[-1][2].endswith(b"put body\r\n..\r\n\r\n"), f"#PUTMAIL: the body as typed ({mailbox.mails[-1][2][-30:]!r})")

        # POP3 from a plain POP3 server.
        for cmd in [f'AT#POP3SERV="{POP3_IP}"', f"AT#POP3PORT={pop3.server_address[1]}", 'AT#POP3UN="cam"',
                    'AT#POP3PW="pop-secret"']:
            line.command(cmd)
        got = line.command("AT#GETMAIL", timeout=60)
        check("Ok_Info_Mail" in got and "hello from a plain POP3 server" in got and "\r\n.dot line" in got,
              "#GETMAIL prints the seeded message, dot line unstuffed")

        # FTP with pyftpdlib, every byte value, both modes.
        for cmd in [f'AT#FTPSERV="{FTP_IP}"', f"AT#FTPPORT={ftp_port}", 'AT#FTPUN="cam"', 'AT#FTPPW="ftp-secret"',
                    "AT#FTPTYPE=I", 'AT#FTPGETPATH="/pub"', 'AT#FTPGETFILENAME="all.bin"', 'AT#FTPPUTPATH="/pub"']:
            line.command(cmd)
        for mode in (0, 1):
            line.command(f"AT#FTPMODE={mode}")
            line.write(b"AT#FTPGET\r")
            line.read_until(b"Ok_Info_DataBegin\r\n", 60)
            data = dle_decode_until_etx(line)
            line.read_until(b"OK\r\n", 60)
            check(data == ALL_BYTES, f"#FTPGET FTPMODE={mode}: {len(data)} bytes, every value intact")
            line.command(f'AT#FTPPUTFILENAME="up{mode}.bin"')
            line.write(b"AT#FTPPUT\r")
            line.read_until(b"Ok_Info_WaitingForData\r\n", 60)
            line.write(dle_encode(ALL_BYTES) + bytes([ETX]))
            line.read_until(b"OK\r\n", 60)
            with open(os.path.join(ftp_root, "pub", f"up{mode}.bin"), "rb") as f:
                check(f.read() == ALL_BYTES, f"#FTPPUT FTPMODE={mode}: the server's file holds every byte value")

        # Sockets through the echo servers.
        line.command(f'AT#TCPSERV=1,"{ECHO_IP}"')
        line.command(f"AT#TCPPORT=1,{tcp_echo.server_address[1]}")
        line.write(b"AT#OTCP=1\r")
        line.read_until(b"Ok_Info_WaitingForData\r\n", 60)
        line.write(dle_encode(b"tcp \x03\x10 echo"))
        echoed = line.read_until(dle_encode(b"tcp \x03\x10 echo"), 30)
        check(echoed.endswith(dle_encode(b"tcp \x03\x10 echo")), "#OTCP: the echo server's answer, DLE-coded")
        line.write(bytes([ETX]))
        line.read_until(b"OK\r\n")
        line.command(f'AT#UDPSERV="{ECHO_IP}"')
        line.command(f"AT#UDPPORT={udp_echo.server_address[1]}")
        line.write(b"AT#OUDP\r")
        line.read_until(b"Ok_Info_WaitingForData\r\n", 60)
        line.write(dle_encode(b"udp \x03 echo"))
        echoed = line.read_until(dle_encode(b"udp \x03 echo"), 30)
        check(echoed.endswith(dle_encode(b"udp \x03 echo")), "#OUDP: the echo server's datagram, DLE-coded")
        line.write(bytes([ETX]))
        line.read_until(b"OK\r\n")

        # PING.
        line.command('AT#PINGREMOTE="127.0.0.1"')
        line.command("AT#PINGNUM=2")
        got = line.command("AT#PING", timeout=60)
        replies = re.findall(r'"127\.0\.0\.1" is alive : time = \d+ ms', got)
        check(len(replies) == 2, f"#PING 127.0.0.1 with PINGNUM=2: {len(replies)} replies")
        if BENCH:
            bench(line, ftp_root, tcp_echo.server_address[1])
        line.command("AT#CONNECTIONSTOP")
    finally:
        proc.kill()
        proc.wait()
        controller.stop()
        ftp.close_all()
    print("external servers: every check passed")


def bench(line, ftp_root, echo_port):
    """Data-mode throughput through the emulator (wall clock)."""
    big = bytes(range(256)) * 4096  # 1 MiB, every value (DLE and ETX coded)
    with open(os.path.join(ftp_root, "pub", "big.bin"), "wb") as f:
        f.write(big)
    line.command('AT#FTPGETFILENAME="big.bin"')
    line.command("AT#FTPMODE=1")
    t = time.time()
    line.write(b"AT#FTPGET\r")
    line.read_until(b"Ok_Info_DataBegin\r\n", 60)
    data = dle_decode_until_etx(line)
    line.read_until(b"OK\r\n", 60)
    get = time.time() - t
    check(data == big, "bench #FTPGET: 1 MiB intact")
    line.command('AT#FTPPUTFILENAME="big-up.bin"')
    t = time.time()
    line.write(b"AT#FTPPUT\r")
    line.read_until(b"Ok_Info_WaitingForData\r\n", 60)
    line.write(dle_encode(big) + bytes([ETX]))
    line.read_until(b"OK\r\n", 120)
    put = time.time() - t
    echo = bytes(range(256)) * 1024  # 256 KiB
    line.command(f"AT#TCPPORT=1,{echo_port}")
    line.write(b"AT#OTCP=1\r")
    line.read_until(b"Ok_Info_WaitingForData\r\n", 60)
    t = time.time()
    line.write(dle_encode(echo))
    line.read_until(dle_encode(echo[-64:]), 120)
    tcp = time.time() - t
    line.write(b"x" + bytes([ETX]))
    line.read_until(b"OK\r\n")
    mib = 1024 * 1024
    print(f"throughput: #FTPGET {len(big) / mib / get:.2f} MiB/s, #FTPPUT {len(big) / mib / put:.2f} MiB/s, "
          f"#OTCP echo {len(echo) / mib / tcp:.2f} MiB/s (both ways) through the emulator")


if __name__ == "__main__":
    main()
