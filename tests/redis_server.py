"""A throw-away Redis for the tests (Debian's `redis-server` package).

`redis_server` starts `redis-server` on a free port of 127.0.0.1, with nothing saved to disk,
and yields a `RedisServer` whose `url` goes into RATELIMIT_STORAGE_URI; `stop()` kills it in
the middle of a test (Redis down), `start()` brings it back on the same port. Without the
package the tests that need it are skipped, except on CI (`CI=true`), where a missing Redis
is a broken setup, as for PostgreSQL (tests/conftest.py).
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from .conftest import free_port

MISSING_REDIS = (
    "Brak Redisa: zainstaluj pakiet Debiana 'redis-server' (apt-get install redis-server), "
    "inaczej testy z Redisem zostaną pominięte."
)


def redis_server_binary():
    return shutil.which("redis-server") or (os.path.exists("/usr/bin/redis-server") and "/usr/bin/redis-server") or None


class RedisServer:
    def __init__(self, binary, port, directory):
        self.binary = binary
        self.port = port
        self.directory = directory
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=15):
        log = open(os.path.join(self.directory, f"redis-{self.port}.log"), "ab")  # noqa: SIM115 (kept by the process)
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=log, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        """Kill the server at once (SIGKILL, as when it crashes)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    binary = redis_server_binary()
    if binary is None:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(MISSING_REDIS, pytrace=False)
        pytest.skip(MISSING_REDIS)
    server = RedisServer(binary, free_port(), tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
