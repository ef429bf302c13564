"""Helpers are started with Ctrl-C held back (`tools.spawning`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tools.spawning import ctrl_c_held

SIGINT_BIT = 1 << (signal.SIGINT - 1)


def _blocked(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigBlk line")


def test_a_process_started_meanwhile_is_born_with_ctrl_c_held() -> None:
    with ctrl_c_held():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(10)"])
    try:
        time.sleep(0.3)                       # past the interpreter's start
        assert _blocked(child.pid) & SIGINT_BIT
        child.send_signal(signal.SIGINT)      # held back: it does not stop the child
        time.sleep(0.3)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
    assert not _blocked(threading.get_native_id()) & SIGINT_BIT   # let go here


def test_a_ctrl_c_pressed_meanwhile_arrives_once_it_is_let_go() -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c_held():
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            time.sleep(0.1)
            finished = True
        time.sleep(1)                         # not reached: it arrives on leaving
    assert finished
