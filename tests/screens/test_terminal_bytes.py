"""The real app in a pseudo-terminal, on hostile data from the server: the bytes written to
the terminal hold none of the corpus's escape sequences, C1 controls or bidi overrides."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from app_hostile import CORPUS, FORBIDDEN_BYTES, LONG_LINE  # type: ignore[import-not-found]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


class Terminal:
    """A child process on a pty of a fixed size; collects everything it writes."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.output = bytearray()

    def read_until(self, needle: bytes, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if time.monotonic() > deadline:
                tail = bytes(self.output[-3000:]).decode("utf-8", "replace")
                raise AssertionError(f"{needle!r} not written within {timeout}s; tail:\n{tail}")
            self._pump(0.1)

    def _pump(self, wait: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait)
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            self.output += chunk

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._pump(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait(5)
        os.close(self.master)
        return code


def test_no_hostile_bytes_reach_the_terminal(live: Any, tmp_path: Path) -> None:
    tag = "zqpty" + os.urandom(3).hex()
    description = "\n".join(text for _, text, _ in CORPUS) + "\n" + LONG_LINE
    made = [live.create(f"{tag} {text}", description=description) for _, text, _ in CORPUS]
    # Every incident gets the hostile notes: whichever one the keys open (on a loaded
    # machine "G" may land before the whole list is there), its notes are on screen.
    for incident in made:
        for _, text, _ in CORPUS:
            live.note(incident["id"], text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENTTUI_", "TEXTUAL"))}
    env.update({"INCIDENTTUI_SERVER": live.url, "INCIDENTTUI_TOKEN": live.tokens["responder"],
                "INCIDENTTUI_DATA_DIR": str(tmp_path / "data"),
                "INCIDENTTUI_CONFIG_DIR": str(tmp_path / "config"),
                "TERM": "xterm-256color", "COLORTERM": "truecolor"})
    env.pop("NO_COLOR", None)
    term = Terminal([sys.executable, "-m", "incidenttui", "--no-mouse"], env, (120, 40))
    try:
        term.read_until(b"ONLINE", timeout=60)
        term.send(b"/")
        term.read_until(b"filter: words")  # see test_queue: keys typed at once are lost
        time.sleep(0.2)
        term.send(tag.encode())
        term.read_until("␛[31mRED".encode())
        term.send(b"\r")  # back to the list
        time.sleep(0.5)
        # the first incident made (the queue shows newest first among equal priorities)
        term.send(b"G")
        time.sleep(0.3)
        term.send(b"\r")
        term.read_until(b"rita note", timeout=90)
        term.send(b"g")
        term.read_until(b"description", timeout=90)
        term.send(b"\x1b")  # back to the queue
        time.sleep(0.3)
    finally:
        term.send(b"\x11")  # ctrl+q
        code = term.close()
    output = bytes(term.output)
    assert code == 0, output[-2000:].decode("utf-8", "replace")
    found = [seq for seq in FORBIDDEN_BYTES if seq in output]
    assert not found, f"raw hostile sequences reached the terminal: {found}"
    # the markup was shown as text, not run: the app stayed up until ctrl+q
    for text in ("[@click=app.quit]y", "[link=file:///etc/passwd]z"):
        assert text.encode() in output, text
