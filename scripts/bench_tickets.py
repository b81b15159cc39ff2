"""Concurrent ticket submissions against gunicorn on SQLite.

32 clients x 50 submissions (change with --clients / --per-client). Prints how many were
accepted, that every accepted one is in the database, the 5xx count, whether the server
logged "database is locked", and submissions per second.

    .venv/bin/python scripts/bench_tickets.py
"""

from __future__ import annotations

import argparse
import http.client
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from benchlib import BASE_DIR, free_port, gunicorn, prepared_environment


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/en/tickets/new/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def client(port: int, index: int, count: int, results: Counter[str], lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/en/tickets/new/")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "")
    csrf_match = re.search(r"csrftoken=([^;]+)", cookie)
    token_match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if csrf_match is None or token_match is None:
        raise SystemExit("the ticket form came without a CSRF cookie and token")
    csrf_cookie, token = csrf_match.group(1), token_match.group(1)
    for n in range(count):
        body = urlencode(
            {
                "csrfmiddlewaretoken": token,
                "kind": "complaint",
                "topic": "withdrawal",
                "subject": f"Withdrawal {index}-{n} not received",
                "description": "I withdrew 500 yuan three days ago and it has not arrived.",
                "transaction_reference": f"TX-{index}-{n}",
                "email": f"bench{index}.{n}@example.com",
            }
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        }
        try:
            conn.request("POST", "/en/tickets/new/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            outcome = {302: "accepted", 200: "refused"}.get(response.status, str(response.status))
        except (OSError, http.client.HTTPException) as error:
            outcome = f"error:{type(error).__name__}"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock:
            results[outcome] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-tickets-"))
    database = work / "bench.sqlite3"
    env = prepared_environment(work)

    port = free_port()
    log_path = work / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            gunicorn(port, args.workers),
            env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_up(port)
            results: Counter[str] = Counter()
            lock = threading.Lock()
            threads = [
                threading.Thread(target=client, args=(port, i, args.per_client, results, lock))
                for i in range(args.clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT COUNT(*) FROM tickets_ticket").fetchone()[0]
        queued = db.execute("SELECT COUNT(*) FROM django_tasks_database_dbtaskresult").fetchone()[0]
    server_log = log_path.read_text()
    locked = server_log.count("database is locked")
    server_errors = sum(n for outcome, n in results.items() if outcome.startswith("5"))
    attempted = args.clients * args.per_client

    print(f"submissions attempted   {attempted}")
    print(f"accepted (302)          {results['accepted']}")
    print(f"refused (200)           {results['refused']}")
    print(f"5xx responses           {server_errors}")
    errors = sum(n for outcome, n in results.items() if outcome.startswith("error"))
    print(f"connection errors       {errors}")
    verdict = "all" if stored == results["accepted"] else "MISMATCH"
    print(f"tickets in the database {stored} ({verdict})")
    print(f"e-mails queued          {queued}")
    print(f"'database is locked'    {locked}")
    print(f"submissions per second  {results['accepted'] / elapsed:.1f}  ({elapsed:.1f} s)")
    ok = stored == results["accepted"] == attempted and not server_errors and not locked
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
