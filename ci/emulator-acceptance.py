#!/usr/bin/env python3
"""Acceptance check of `mtg emulator --listen` as an outside program sees it.

Starts the emulator on a new flash file, talks to it over TCP exactly as a
host would, restarts the process on the same flash file, and checks the
manual's answers (ch. 2 p.8 and p.16):

- after AT+WOPEN=1, AT#VPHY answers the block of defaults (#ANSWERMODE: 0 ...
  #RINGCOUNT: 0, OK);
- AT#REDIALCOUNT=15 is refused; AT#REDIALCOUNT=14 then AT#REDIALCOUNT? reads 14,
  also after a restart on the same flash file;
- AT#DELFLASH brings 5 back;
- junk bytes and a dropped connection leave it serving the next client.

Usage: ci/emulator-acceptance.py [path/to/mtg]   (default: target/release/mtg)
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

MTG = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "release", "mtg")

VPHY_DEFAULTS = [
    "#ANSWERMODE: 0",
    "#CALLBACKTIMER: 2",
    '#CALLSCREENNUM: "0"',
    '#DIALN1: ""',
    '#DIALN2: ""',
    "#DIALSELECT: 1",
    "#GPRSMODE: 1",
    "#PHYTIMEOUT: 15",
    "#REDIALCOUNT: 5",
    "#REDIALDELAY: 5",
    "#RINGCOUNT: 0",
    "OK",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Unit:
    """One `mtg emulator --listen` process."""

    def __init__(self, flash):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [MTG, "emulator", "--listen", f"127.0.0.1:{self.port}", "--flash", flash],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"emulator did not start: {self.proc.stderr.read().decode()}")
                time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Line:
    """A serial line to the unit: send a command, read lines until a final result."""

    def __init__(self, unit):
        self.sock = socket.create_connection(("127.0.0.1", unit.port), timeout=5)
        self.buf = b""

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r")
        lines = []
        while True:
            while b"\n" not in self.buf and not self.buf.endswith(b"\r"):
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise SystemExit(f"unit closed the line after {text!r}")
                self.buf += chunk
            line, sep, rest = self.buf.partition(b"\n")
            if not sep:
                line, rest = self.buf, b""
            self.buf = rest
            for part in line.split(b"\r"):
                part = part.decode(errors="replace").strip()
                if part and part != text:
                    lines.append(part)
                if part in ("OK", "ERROR") or part.startswith("#CME ERROR") or part.startswith("+CME ERROR"):
                    return lines

    def close(self):
        self.sock.close()


def expect(what, got, wanted):
    if got != wanted:
        raise SystemExit(f"FAIL {what}: expected {wanted!r}, got {got!r}")
    print(f"ok   {what}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        flash = os.path.join(tmp, "unit.json")
        unit = Unit(flash)
        try:
            line = Line(unit)
            expect("AT+WOPEN=1", line.command("AT+WOPEN=1"), ["OK"])
            expect("AT#VPHY defaults (p.16)", line.command("AT#VPHY"), VPHY_DEFAULTS)
            expect("AT+CMEE=1", line.command("AT+CMEE=1"), ["OK"])
            expect("AT#REDIALCOUNT=15 refused (p.8)", line.command("AT#REDIALCOUNT=15"), ["#CME ERROR: 34882"])
            expect("AT#REDIALCOUNT=14", line.command("AT#REDIALCOUNT=14"), ["OK"])
            expect("AT#REDIALCOUNT? reads 14", line.command("AT#REDIALCOUNT?"), ["#REDIALCOUNT: 14", "OK"])
            # Junk and a dropped connection must not stop the unit.
            line.sock.sendall(bytes(range(256)) * 8)
            line.close()
        finally:
            unit.stop()

        unit = Unit(flash)
        try:
            line = Line(unit)
            expect("after restart, AT#REDIALCOUNT? reads 14", line.command("AT#REDIALCOUNT?"), ["#REDIALCOUNT: 14", "OK"])
            expect("AT#DELFLASH", line.command("AT#DELFLASH"), ["OK"])
            expect("AT#REDIALCOUNT? reads 5 again", line.command("AT#REDIALCOUNT?"), ["#REDIALCOUNT: 5", "OK"])
            line.close()
            again = Line(unit)
            expect("next client served", again.command("AT"), ["OK"])
            again.close()
        finally:
            unit.stop()
    print("emulator acceptance: all checks passed")


if __name__ == "__main__":
    main()
