"""Start a throwaway Label Studio server: headless, on 127.0.0.1, on a free port, in its own data folder.

The integration tests' ``label_studio`` fixture uses it; by hand it gives a server to try
``indoevent ls`` against (Ctrl-C stops it and nothing is left behind but the data folder)::

    LABEL_STUDIO_BIN=.venv-ls/bin/label-studio python tests/integration/start_label_studio.py
    # prints: export LABEL_STUDIO_URL=http://127.0.0.1:PORT LABEL_STUDIO_API_KEY=...

Label Studio lives in its own virtual environment (its Django pins clash with the project's):
the binary comes from $LABEL_STUDIO_BIN, else ``label-studio`` on PATH. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN_ENV = "LABEL_STUDIO_BIN"
START_TIMEOUT = 180.0  # the first start migrates a new SQLite database: about 60 s on 2 cores

# Settings Label Studio reads from the environment (with or without its LABEL_STUDIO_ prefix)
# that would point the test server at the developer's own users, ports or database.
LEAKY_ENV = ("PORT", "HOST", "USERNAME", "PASSWORD", "USER_TOKEN", "DATABASE_NAME", "BASE_DATA_DIR",
             "DJANGO_DB", "DJANGO_SETTINGS_MODULE")


# An ML backend on 127.0.0.1 (`indoevent serve` in the tests) is refused as a "reserved network
# address" without these, and its training webhook is silently not created (../shared/PITFALLS.md;
# `indoevent ls connect` prints the same list for a team's own server).
LOOPBACK_BACKEND_ENV = {"ML_BLOCK_LOCAL_IP": "false", "LABEL_STUDIO_ML_BLOCK_LOCAL_IP": "false",
                        "SSRF_PROTECTION_ENABLED": "false", "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
                        "USE_DEFAULT_BANNED_SUBNETS": "false"}


class ServerError(RuntimeError):
    """The server could not be started; the message ends with the tail of its log."""


def find_binary() -> str | None:
    """The ``label-studio`` executable: $LABEL_STUDIO_BIN, else PATH; None if neither has one.
    A $LABEL_STUDIO_BIN that names no executable is an error, not a reason to skip."""
    given = os.environ.get(BIN_ENV)
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise ServerError(f"${BIN_ENV}={given} is not an executable file")
        return given
    return shutil.which("label-studio")


def free_port() -> int:
    """A TCP port nobody listens on now (the server may still lose it to a race: see start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABEL_STUDIO_", "HEARTEX_")) and k not in LEAKY_ENV}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),  # database, media, exports, secret key
        "LATEST_VERSION_CHECK": "false",  # no PyPI request at start (and none possible offline)
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",  # the log shows what happened up to a crash
        **LOOPBACK_BACKEND_ENV,
    })
    return env


@dataclass
class LabelStudioServer:
    """A running server: ``url`` and the legacy API ``token`` of its one user."""

    process: subprocess.Popen
    port: int
    token: str
    username: str
    password: str
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and everything it started (it runs in its own process group)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _launch(binary: str, data_dir: Path, port: int, token: str, username: str, password: str) -> LabelStudioServer:
    log = data_dir / f"server-{port}.log"
    cmd = [binary, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
           # --key=value: a random password may start with "-", which argparse would take for an option.
           f"--username={username}", f"--password={password}", f"--user-token={token}",
           # Legacy tokens are off for a new organisation; the token above is a legacy one.
           "--enable-legacy-api-token", "--log-level", "WARNING"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=server_env(data_dir), cwd=data_dir, start_new_session=True)
    return LabelStudioServer(process, port, token, username, password, data_dir, log)


def start(binary: str, data_dir: str | Path, timeout: float = START_TIMEOUT, tries: int = 3) -> LabelStudioServer:
    """Start a server and wait until it answers on its port with our token.

    If the chosen port is taken before the server binds it, Label Studio silently moves to
    the next port: so readiness is not just /health answering on our port (that could be
    someone else's server) but our own random token being accepted there. A server that
    moved is stopped and started again on a new free port.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    token = "indoevent-" + secrets.token_hex(12)
    username, password = "indoevent@example.com", secrets.token_urlsafe(12)
    deadline = time.monotonic() + timeout
    for _ in range(tries):
        server = _launch(binary, data_dir, free_port(), token, username, password)
        try:
            while time.monotonic() < deadline:
                if server.process.poll() is not None:
                    raise ServerError(f"Label Studio exited with code {server.process.returncode} before it was "
                                      f"ready ({' '.join(server.process.args)}); its log:\n{server.log_tail()}")
                if f"Port {server.port} is in use" in server.log_tail(400):
                    break  # it moved to another port: start again elsewhere
                try:
                    code, body = _get(f"{server.url}/health")
                    if code == 200 and json.loads(body).get("status") == "UP":
                        code, _ = _get(f"{server.url}/api/current-user/whoami", token)
                        if code == 200:
                            return server
                        break  # someone else's server holds our port
                except (OSError, ValueError):
                    pass  # not listening yet
                time.sleep(1.0)
            else:
                raise ServerError(f"Label Studio did not answer on {server.url}/health within {timeout:.0f} s; "
                                  f"its log:\n{server.log_tail()}")
        except BaseException:
            server.stop()
            raise
        server.stop()
    raise ServerError(f"Label Studio could not keep a free port in {tries} tries; last log:\n{server.log_tail()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: a new temporary one)")
    args = parser.parse_args()
    binary = find_binary()
    if binary is None:
        print(f"no Label Studio: set ${BIN_ENV} or put label-studio on PATH (make label-studio)", file=sys.stderr)
        return 1
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="label-studio-"))
    t0 = time.monotonic()
    server = start(binary, data_dir)
    print(f"Label Studio is up in {time.monotonic() - t0:.0f} s (data: {data_dir}, log: {server.log})")
    print(f"export LABEL_STUDIO_URL={server.url} LABEL_STUDIO_API_KEY={server.token}")
    print(f"web login: {server.username} / {server.password}; Ctrl-C stops the server", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
