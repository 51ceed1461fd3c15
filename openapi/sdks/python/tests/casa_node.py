"""Spawns a real `casa serve` on a loopback port and a fresh data dir (for the tests)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[4]


def casa_binary() -> str:
    if os.environ.get("CASA_BIN"):
        return os.environ["CASA_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "casa")


class CasaNode:
    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="casa-sdk-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.admin_token = "sdk-test-admin-" + secrets.token_hex(16)
        env = {**os.environ, "CASA_ADMIN_TOKEN": self.admin_token, "CASA_LOG_LEVEL": "warn"}
        self.log = open(Path(self.dir.name) / "casa.log", "wb")
        self.proc = subprocess.Popen(
            [casa_binary(), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", f"{self.dir.name}/data"],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"casa exited: {Path(self.dir.name, 'casa.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("casa did not become ready")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        self.dir.cleanup()

    def __enter__(self) -> "CasaNode":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Tally:
    """Counts checks and prints `N passed, N failed` at the end."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")
        return ok

    def summary(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0
