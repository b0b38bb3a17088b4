"""A real `mlflow server` subprocess for the MLflow backend and sync tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """``mlflow server`` on sqlite + a served artifact directory, in ``root``."""

    def __init__(self, root: str, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.uri = f"mlflow+{self.url}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 90.0) -> None:
        mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
        command = [
            mlflow_bin if os.path.exists(mlflow_bin) else "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.root}/mlflow.db",
            "--artifacts-destination", f"{self.root}/artifacts", "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]
        env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
        self.starts += 1
        log = open(os.path.join(self.root, f"server-{self.starts}.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited; see {self.root}/server-*.log")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mlflow server did not start in {timeout} s; see {self.root}")

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        try:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: uvicorn's workers too
        except ProcessLookupError:
            return
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        # The port must refuse connections before the caller goes on.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)
