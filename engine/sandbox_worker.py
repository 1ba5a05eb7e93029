"""The sandbox's worker processes: designer code that might loop or allocate runs here, under
an address-space limit, one request at a time over a length-prefixed pickle channel. Started as
`python -m engine.sandbox_worker` (not forked: the web server is threaded)."""
from __future__ import annotations

import os
import pickle
import resource
import select
import struct
import subprocess
import sys
from typing import Any

from .sandbox import (MAX_RESULT_BYTES, STARTUP_TIMEOUT, _compile, _message, _run_guarded)


def _send(stream, obj: Any) -> None:
    data = obj if isinstance(obj, bytes) else pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!I", len(data)) + data)
    stream.flush()


def _recv(stream) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("worker closed")
    (size,) = struct.unpack("!I", head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("worker closed")
    return pickle.loads(body)


def worker_main() -> None:
    """Worker process: functions once, then one request at a time over stdin/stdout."""
    from engine.clock import clock

    memory_limit_mb = int(sys.argv[1])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr          # stray prints must not corrupt the channel
    functions = _recv(stdin)         # imports the host functions' modules before the limit
    with open("/proc/self/statm") as fh:
        base = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = base + memory_limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _send(stdout, "ready")
    while True:
        try:
            source, mode, context, external, now = _recv(stdin)
        except EOFError:
            return
        clock.freeze(now)
        retire = False
        try:
            code, _ = _compile(source, mode)
            value, data = _run_guarded(code, mode, context, external, functions)
            reply = pickle.dumps(("ok", value, data, False), pickle.HIGHEST_PROTOCOL)
            if len(reply) > MAX_RESULT_BYTES:
                reply = pickle.dumps(("error", "脚本结果过大 (result too large)", None, False))
        except BaseException as exc:   # noqa: BLE001 - everything goes back as a message
            value = data = None
            retire = isinstance(exc.__cause__ or exc, MemoryError)
            try:
                reply = pickle.dumps(("error", _message(exc), None, retire))
            except BaseException:      # noqa: BLE001
                reply = pickle.dumps(("error", "脚本运行出错 (unreportable error)", None, True))
        _send(stdout, reply)
        if retire:
            return


class _Worker:
    def __init__(self, memory_limit_mb: int, functions: dict):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.sandbox_worker", str(memory_limit_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)
        try:
            _send(self.process.stdin, functions)
            if self._wait(STARTUP_TIMEOUT) != "ready":
                raise EOFError("worker did not start")
        except BaseException:
            self.kill()
            raise

    def _wait(self, timeout: float) -> Any:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        return _recv(self.process.stdout)

    def call(self, payload: tuple, time_limit: float) -> tuple:
        _send(self.process.stdin, payload)
        return self._wait(time_limit)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


if __name__ == "__main__":
    worker_main()
