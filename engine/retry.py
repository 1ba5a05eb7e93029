"""The engine's one way to try again (tenacity): redo work that lost an optimistic lock, and
the back-off between the tries of a failing async job."""
from __future__ import annotations

from typing import NamedTuple

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

MAX_BACKOFF_SECONDS = 300.0


class _Try(NamedTuple):
    attempt_number: int


def backoff_seconds(attempt: int, first: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds to wait after failed try number `attempt` (from 1): first, twice that, four
    times, ... never more than `cap`."""
    return wait_exponential(multiplier=first, max=cap)(_Try(attempt))


def redo_on(exceptions, attempts: int) -> Retrying:
    """`for attempt in redo_on(StaleWrite, 3): with attempt: ...` runs the block again, at
    once, when it raises one of `exceptions`; the last failure is raised as it was."""
    return Retrying(retry=retry_if_exception_type(exceptions), stop=stop_after_attempt(attempts),
                    reraise=True)
