"""The one way tests wait: on a condition, with a deadline that fails the test and says what
was awaited. Never on time alone (the repository forbids sleeping in tests)."""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, message: str, step: float = 0.1,
               on_timeout: Callable[[], str] | None = None) -> T:
    """Poll `condition` every `step` seconds until it returns something truthy and return that;
    after `timeout` seconds raise AssertionError naming `message` (and what `on_timeout`
    adds, e.g. process logs)."""
    pause = threading.Event()            # never set: a pause between polls, not a sleep
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}{extra}")
        pause.wait(step)
