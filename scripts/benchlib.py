"""What the HTTP benchmarks share: a production-like environment on a fresh SQLite database,
migrated and with static files collected, served by gunicorn on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepared_environment(work: Path, **extra: str) -> dict[str, str]:
    """Settings as in production (DEBUG off), a new database in `work`, migrated."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wallet_support.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_PRIVATE_MEDIA_ROOT": str(work / "private"),
        "TICKETS_RATE_PER_IP": "1000000/3600",
        "TICKETS_RATE_PER_EMAIL": "1000000/3600",
        **extra,
    }
    manage = [PYTHON, str(BASE_DIR / "manage.py")]
    for command in ("migrate -v0", "createcachetable", "collectstatic --noinput -v0"):
        subprocess.run([*manage, *command.split()], env=env, check=True, cwd=BASE_DIR)
    return env


def django_in_this_process(prefix: str, **extra: str) -> tuple[Path, dict[str, str]]:
    """A new work directory with a prepared database, and Django set up on it here (for the
    benchmarks that seed rows or use the test client themselves)."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=prefix))
    env = prepared_environment(work, **extra)
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    return work, env


def gunicorn(port: int, workers: int = 2) -> list[str]:
    """The command line the README gives for production: sync workers."""
    return [PYTHON, "-m", "gunicorn", "-w", str(workers), "-k", "sync",
            "-b", f"127.0.0.1:{port}", "wallet_support.wsgi"]  # fmt: skip
