"""The checks behind scripts/scaleout_check.sh, one sub-command each.

Every sub-command prints its figures and one PASS or FAIL line, and exits 1 on FAIL. HTTP goes
through the standard library (http.client, a cookie jar of our own); what needs the database
(editing an article, creating tickets, reading results) sets Django up with the same
environment as the servers.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BASE_DIR = Path(__file__).resolve().parents[2]
NGINX = "http://127.0.0.1:18080"
SERVERS = ["http://127.0.0.1:18001", "http://127.0.0.1:18002"]

FAILED = False


def report(ok: bool, name: str, figures: str) -> bool:
    global FAILED
    print(f"  {'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)
    if not ok:
        FAILED = True
    return ok


def info(text: str) -> None:
    print(f"        {text}", flush=True)


def setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wallet_support.settings")
    import django

    django.setup()


# --- HTTP -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Client:
    """One visitor: a cookie jar, and optionally the X-Forwarded-For it claims to nginx."""

    base: str
    forwarded_for: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        parts = urlsplit(self.base)
        host = parts.hostname or "127.0.0.1"
        connection = http.client.HTTPConnection(host, parts.port, timeout=self.timeout)
        sent = {"Host": "127.0.0.1", "Accept-Language": "en", **(headers or {})}
        if self.forwarded_for:
            sent["X-Forwarded-For"] = self.forwarded_for
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                self.cookies[key.strip()] = val.strip()
        headers_out = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers_out, content, seconds)

    def get(self, path: str, **kwargs: object) -> Answer:
        return self.request("GET", path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str], **kwargs: object) -> Answer:
        return self.request("POST", path, data=data, **kwargs)  # type: ignore[arg-type]


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no csrfmiddlewaretoken in the page")
    return match.group(1)


def safe(call: Callable[..., Answer], *args: Any, **kwargs: Any) -> Answer:
    """An answer, or status 0 when the connection itself failed."""
    started = time.perf_counter()
    try:
        return call(*args, **kwargs)
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, {}, str(error), time.perf_counter() - started)


# --- 1. health ------------------------------------------------------------------------------


def cmd_health(args: argparse.Namespace) -> None:
    for base in [*SERVERS, NGINX]:
        client = Client(base)
        for path in ("/healthz", "/readyz"):
            answer = safe(client.get, path)
            via = "nginx" if base == NGINX else "direct"
            report(
                answer.status == 200,
                f"{path} {via} {urlsplit(base).port}",
                f"{answer.status} in {answer.seconds * 1000:.0f} ms {answer.body[:80]}",
            )


# --- 2. an edit seen everywhere -------------------------------------------------------------


def cmd_edit(args: argparse.Namespace) -> None:
    setup_django()
    from faq.models import Article

    article = Article.objects.get(slug=args.slug, language="en")
    path = article.get_absolute_url()
    clients = {base: Client(base) for base in SERVERS}
    # Every worker of both servers renders and caches the page with the old title first.
    for client in clients.values():
        for _ in range(8):
            answer = client.get(path)
            if answer.status != 200 or html.escape(article.title) not in answer.body:
                report(False, "article before the edit", f"{client.base}{path}: {answer.status}")
                return
    new_title = f"Scale-out edit {time.time_ns()}"
    article.title = new_title
    article.save()
    edited = time.monotonic()
    info(f"{path}: title set to {new_title!r} in the database")

    first_new: dict[str, float] = {}
    last_stale: dict[str, float] = {}
    polls = Counter[str]()
    deadline = edited + args.within
    while time.monotonic() < deadline:
        for base, client in clients.items():
            answer = client.get(path)
            polls[base] += 1
            now = time.monotonic() - edited
            if answer.status == 200 and new_title in answer.body:
                first_new.setdefault(base, now)
            else:
                last_stale[base] = now
        time.sleep(0.05)
    # After the deadline every answer of every worker must be the new page.
    late_stale = Counter[str]()
    for base, client in clients.items():
        for _ in range(10):
            answer = client.get(path)
            if answer.status != 200 or new_title not in answer.body:
                late_stale[base] += 1
    for base in SERVERS:
        port = urlsplit(base).port
        seen = first_new.get(base)
        stale = last_stale.get(base)
        report(
            seen is not None and late_stale[base] == 0,
            f"edit seen on :{port} within {args.within:g} s",
            f"first new page after {seen if seen is None else f'{seen:.2f} s'}, "
            f"last old page at {'never' if stale is None else f'{stale:.2f} s'}, "
            f"{polls[base]} polls, {late_stale[base]}/10 old pages after the deadline",
        )


# --- 3. rate limits shared and per client ---------------------------------------------------


class Tracker:
    """A visitor of the tracking form: the form once (CSRF cookie and token), then attempts.
    One GET, many POSTs, so nginx's round robin sends the POSTs to both servers in turn."""

    def __init__(self, forwarded_for: str) -> None:
        self.client = Client(NGINX, forwarded_for=forwarded_for)
        self.token = ""

    def attempt(self, n: int) -> Answer:
        if not self.token:
            form = self.client.get("/en/tickets/track/")
            if form.status != 200:
                return form
            self.token = csrf_token(form.body)
        return self.client.post(
            "/en/tickets/track/",
            {
                "csrfmiddlewaretoken": self.token,
                "reference": f"OK-ZZZZ-{n:04d}",
                "email": "nobody@example.test",
            },
        )


def cmd_ratelimit(args: argparse.Namespace) -> None:
    setup_django()
    from django.conf import settings

    count, seconds = (int(part) for part in settings.TICKETS_RATE_TRACKING.split("/"))
    # The limit is a fixed window: do not start the test across a window's end.
    left = seconds - time.time() % seconds
    if left < 20:
        info(f"waiting {left:.0f} s for the next {seconds} s rate-limit window")
        time.sleep(left + 0.5)
    info(f"TICKETS_RATE_TRACKING = {count}/{seconds}")
    client_a = Tracker(args.client_a)
    statuses = []
    upstreams = Counter[str]()
    for n in range(count + 3):
        answer = client_a.attempt(n)
        statuses.append(answer.status)
        upstreams[answer.header("x-upstream") or "?"] += 1
    accepted = statuses[:count]
    refused = statuses[count:]
    info(f"client A ({args.client_a}) answers: {' '.join(map(str, statuses))}")
    info(f"answered by: {dict(upstreams)}")
    report(
        all(s == 200 for s in accepted) and all(s == 429 for s in refused),
        f"client A limited after exactly {count}",
        f"{sum(s == 200 for s in statuses)}x200 then {sum(s == 429 for s in refused)}x429 "
        f"(other: {sum(s not in (200, 429) for s in statuses)})",
    )
    report(
        len([u for u in upstreams if u != "?"]) >= 2,
        "client A's attempts spread over both servers",
        ", ".join(f"{u}: {n}" for u, n in sorted(upstreams.items())),
    )
    # Claiming another address on the left changes nothing: the app reads from the right.
    answer = Tracker(f"{args.client_b}, {args.client_a}").attempt(99)
    report(
        answer.status == 429,
        "client A claiming to be B (X-Forwarded-For: B, A) still limited",
        f"{answer.status}",
    )
    client_b = Tracker(args.client_b)
    answers = [client_b.attempt(n).status for n in range(3)]
    report(
        all(s == 200 for s in answers),
        f"client B ({args.client_b}) still accepted",
        " ".join(map(str, answers)),
    )


# --- 4. the chat take race ------------------------------------------------------------------


def cmd_chat_race(args: argparse.Namespace) -> None:
    setup_django()
    from django.contrib.auth.models import User

    from tickets.models import Message, Ticket, TicketEvent
    from tickets.services import chat_start

    agents = [User.objects.get(username=name) for name in args.agents]
    chat = chat_start(
        name="Race", email="race@example.test", message="Who takes me?", language="en"
    )
    version_before = Ticket.objects.get(pk=chat.pk).version
    info(f"waiting chat {chat.reference} (pk {chat.pk}); agents: {', '.join(args.agents)}")

    # n sessions, alternately for each agent, each logged in (and racing) on one server.
    sessions = []
    for i in range(args.sessions):
        agent = agents[i % len(agents)]
        base = SERVERS[(i // len(agents)) % len(SERVERS)]
        sessions.append((agent, Client(base)))

    def login(agent: User, client: Client) -> int:
        page = client.get("/admin/login/?next=/admin/")
        answer = client.post(
            "/admin/login/?next=/admin/",
            {
                "csrfmiddlewaretoken": csrf_token(page.body),
                "username": agent.username,
                "password": args.password,
                "next": "/admin/",
            },
        )
        console = client.get("/admin/tickets/ticket/chat-console/")
        return answer.status if answer.status != 302 else console.status

    started = time.perf_counter()
    logins: list[int] = [0] * len(sessions)

    def do_login(i: int) -> None:
        try:
            logins[i] = login(*sessions[i])
        except (OSError, http.client.HTTPException, RuntimeError):
            logins[i] = 0

    threads = [threading.Thread(target=do_login, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    info(f"{len(sessions)} logins in {time.perf_counter() - started:.1f} s: {Counter(logins)}")
    if not report(all(s == 200 for s in logins), "every session logged in", f"{Counter(logins)}"):
        return

    barrier = threading.Barrier(len(sessions))
    results: list[tuple[str, int, str, float]] = [("", 0, "", 0.0)] * len(sessions)

    def take(i: int) -> None:
        agent, client = sessions[i]
        headers = {"X-CSRFToken": client.cookies.get("csrftoken", ""), "HX-Request": "true"}
        barrier.wait()
        url = f"/admin/tickets/ticket/chat-console/{chat.pk}/take/"
        answer = safe(client.post, url, {}, headers=headers)
        alert = re.search(r'class="console-alert"[^>]*>(.*?)</p>', answer.body, re.S)
        shown = alert.group(1).strip() if alert else ""
        results[i] = (agent.username, answer.status, shown, answer.seconds)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = Counter(status for _, status, _, _ in results)
    succeeded = {name for name, status, alert, _ in results if status == 200 and not alert}
    refused = [name for name, status, alert, _ in results if status == 200 and alert]
    slowest = max(seconds for *_, seconds in results)
    info(f"answers: {dict(statuses)}, slowest {slowest * 1000:.0f} ms")
    info(f"took it (no error shown): {sorted(succeeded)}; refused: {dict(Counter(refused))}")
    if refused:
        sample = next(alert for _, _, alert, _ in results if alert)
        info(f"refusal shown: {html.unescape(sample)!r}")
    chat.refresh_from_db()
    events = TicketEvent.objects.filter(ticket=chat, field="assignee").count()
    joined = Message.objects.filter(
        ticket=chat, author_type=Message.Author.SYSTEM, body__contains="joined"
    ).count()
    holder = chat.assignee.username if chat.assignee else None
    info(
        f"database: assignee {holder}, {events} assignment event(s), {joined} 'joined' line(s), "
        f"version {version_before} -> {chat.version}"
    )
    per_agent = len(sessions) // len(agents)
    report(
        statuses == Counter({200: len(sessions)})
        and succeeded == {holder}
        and len(refused) == len(sessions) - per_agent
        and events == 1
        and joined == 1
        and chat.version == version_before + 1,
        f"exactly one winner among {len(sessions)} concurrent takes on both servers",
        f"winner {holder}; {len(refused)} refused; {events} assignment, {joined} join line",
    )


# --- 5, 6. e-mail -----------------------------------------------------------------------------


def sink_counts(sink: Path) -> Counter[str]:
    counts = Counter[str]()
    for line in (sink / "messages.jsonl").read_text().splitlines():
        if line.strip():
            for recipient in json.loads(line)["to"]:
                counts[recipient] += 1
    return counts


def cmd_mail_create(args: argparse.Namespace) -> None:
    setup_django()
    from tickets.models import Kind, Topic
    from tickets.services import ticket_create

    started = time.perf_counter()
    for i in range(args.count):
        ticket_create(
            kind=Kind.COMPLAINT,
            topic=Topic.OTHER,
            subject=f"Scale-out mail {i}",
            description="Checking that every confirmation leaves exactly once.",
            email=f"{args.prefix}-{i}@example.test",
            language="en",
        )
    info(f"{args.count} tickets created in {time.perf_counter() - started:.1f} s")


def cmd_mail_kill(args: argparse.Namespace) -> None:
    """Once `after` of the batch are delivered, hold the next SMTP session and kill -9 the
    worker that opened it: killed mid-send, its task claimed and never finished."""
    sink = Path(args.sink)
    pids = {int(p) for p in args.pids.split(",")}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivered = sum(1 for r in sink_counts(sink) if r.startswith(args.prefix))
        if delivered >= args.after:
            break
        time.sleep(0.05)
    else:
        report(False, "worker killed mid-stream", f"only {delivered} delivered in 30 s")
        return
    (sink / "hold-next").touch()
    held = sink / "held"
    while time.monotonic() < deadline and not held.exists():
        time.sleep(0.02)
    if not held.exists():
        report(False, "worker killed mid-stream", "no SMTP session arrived to hold")
        return
    port = held.read_text().strip()
    held.unlink()
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = {int(p) for p in re.findall(r"pid=(\d+)", out)}
    victims = found & pids
    if len(victims) != 1:
        report(False, "worker killed mid-stream", f"port {port}: pids {found}, workers {pids}")
        return
    victim = victims.pop()
    os.kill(victim, signal.SIGKILL)
    Path(args.victim_file).write_text(str(victim))
    info(f"after {delivered} e-mails: kill -9 worker pid {victim} in the middle of its session")


def cmd_mail_verify(args: argparse.Namespace) -> None:
    setup_django()
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from tickets.models import SentEmail

    sink = Path(args.sink)
    expected = [f"{args.prefix}-{i}@example.test" for i in range(args.count)]
    started = time.monotonic()
    unfinished = -1
    while True:
        counts = sink_counts(sink)
        unfinished = DBTaskResult.objects.exclude(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
        ).count()
        if all(counts[r] for r in expected) and unfinished == 0:
            break
        if time.monotonic() - started > args.timeout:
            break
        time.sleep(0.2)
    waited = time.monotonic() - started
    time.sleep(args.grace)  # anything sent twice would show up now
    counts = sink_counts(sink)
    per = Counter(counts[r] for r in expected)
    twice = [r for r in expected if counts[r] > 1]
    missing = [r for r in expected if counts[r] == 0]
    statuses = Counter(DBTaskResult.objects.values_list("status", flat=True))
    info(f"done after waiting {waited:.1f} s; tasks by status: {dict(statuses)}; "
         f"sent markers: {SentEmail.objects.count()}")  # fmt: skip
    if twice:
        info(f"more than once: {twice[:5]}")
    if missing:
        info(f"never: {missing[:5]}")
    report(
        not twice and not missing and unfinished == 0,
        f"{args.count} e-mail(s) {args.what}, each exactly once",
        f"{per[1]} once, {len(twice)} twice or more, {len(missing)} never "
        f"({sum(counts[r] for r in expected)} messages for {args.count} recipients)",
    )


def cmd_ticket_form(args: argparse.Namespace) -> None:
    """A customer sends the ticket form through nginx."""
    client = Client(NGINX, forwarded_for=args.client)
    page = client.get("/en/tickets/new/")
    answer = client.post(
        "/en/tickets/new/",
        {
            "csrfmiddlewaretoken": csrf_token(page.body),
            "kind": "complaint",
            "topic": "other",
            "subject": "After the database restart",
            "description": "Sent right after PostgreSQL came back.",
            "email": args.email,
            "name": "",
            "phone": "",
            "transaction_reference": "",
            "website": "",
        },
    )
    location = answer.header("location")
    report(
        page.status == 200 and answer.status == 302 and "submitted" in location,
        "ticket form sent through nginx",
        f"GET {page.status}, POST {answer.status} -> {location}",
    )


# --- 6. load while the database restarts ----------------------------------------------------


def cmd_load(args: argparse.Namespace) -> None:
    """GETs through nginx from a few threads until the stop file appears; writes each
    answer's (time, status, seconds) to the output file."""
    stop = Path(args.stop)
    paths = args.paths.split(",")
    lock = threading.Lock()
    records: list[tuple[float, int, float, str]] = []

    def run(n: int) -> None:
        client = Client(NGINX, timeout=10)
        i = n
        while not stop.exists():
            path = paths[i % len(paths)]
            i += 1
            answer = safe(client.get, path)
            with lock:
                records.append((time.time(), answer.status, answer.seconds, path))
            time.sleep(0.02)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Path(args.out).write_text(json.dumps(records))


def cmd_load_report(args: argparse.Namespace) -> None:
    records = json.loads(Path(args.out).read_text())
    down, up = args.down, args.up
    before = [r for r in records if r[0] < down]
    during = [r for r in records if down <= r[0] < args.recovered]
    after = [r for r in records if r[0] >= args.recovered]

    def summary(part: list[list[Any]]) -> str:
        return ", ".join(f"{s}x{n}" for s, n in sorted(Counter(int(r[1]) for r in part).items()))

    info(f"{len(records)} GETs through nginx; before the stop: {summary(before) or '-'}")
    info(f"database down {up - down:.1f} s, pages all 200 again {args.recovered - up:.1f} s "
         f"after the start; meanwhile: {summary(during) or '-'}")  # fmt: skip
    info(f"after: {summary(after) or '-'}")
    for path in sorted({r[3] for r in during}):
        info(f"  while down, {path}: {summary([r for r in during if r[3] == path])}")
    report(
        bool(before) and all(r[1] == 200 for r in before),
        "load before the restart",
        summary(before),
    )
    report(
        len(after) >= 10 and all(r[1] == 200 for r in after),
        "load after the database came back",
        f"{summary(after)} ({args.recovered - up:.2f} s after the restart)",
    )


def cmd_wait_pages(args: argparse.Namespace) -> None:
    """Poll until every page answers 200 through nginx (each worker: a few rounds)."""
    client = Client(NGINX, timeout=5)
    started = time.monotonic()
    paths = args.paths.split(",")
    streak = 0
    while time.monotonic() - started < args.timeout:
        answers = [safe(client.get, p).status for p in paths]
        streak = streak + 1 if all(s == 200 for s in answers) else 0
        if streak >= 4:  # nginx spreads the rounds over all four workers
            print(f"{time.time():.3f}")
            return
        time.sleep(0.1)
    print("0")


# --- 7. Redis outage ------------------------------------------------------------------------


def cmd_pages(args: argparse.Namespace) -> None:
    client = Client(NGINX, timeout=10, forwarded_for="192.0.2.10")
    for path in args.paths.split(","):
        answers = [safe(client.get, path) for _ in range(args.rounds)]
        statuses = Counter(a.status for a in answers)
        slowest = max(a.seconds for a in answers)
        report(
            all(a.status == 200 for a in answers) and slowest <= args.max_seconds,
            f"{args.label} {path}",
            f"{dict(statuses)} in {args.rounds} GETs, slowest {slowest * 1000:.0f} ms "
            f"(limit {args.max_seconds * 1000:.0f} ms)",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("health")
    p = sub.add_parser("edit")
    p.add_argument("--slug", default="how-to-top-up")
    p.add_argument("--within", type=float, default=3.0)
    p = sub.add_parser("ratelimit")
    p.add_argument("--client-a", default="203.0.113.5")
    p.add_argument("--client-b", default="198.51.100.7")
    p = sub.add_parser("chat-race")
    p.add_argument("--agents", nargs="+", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--sessions", type=int, default=20)
    p = sub.add_parser("mail-create")
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, default=40)
    p = sub.add_parser("mail-kill")
    p.add_argument("--sink", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--pids", required=True)
    p.add_argument("--after", type=int, default=5)
    p.add_argument("--victim-file", required=True)
    p = sub.add_parser("mail-verify")
    p.add_argument("--sink", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--timeout", type=float, default=40)
    p.add_argument("--grace", type=float, default=2)
    p.add_argument("--what", default="sent")
    p = sub.add_parser("ticket-form")
    p.add_argument("--email", required=True)
    p.add_argument("--client", default="192.0.2.20")
    p = sub.add_parser("load")
    p.add_argument("--paths", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--threads", type=int, default=4)
    p = sub.add_parser("load-report")
    p.add_argument("--out", required=True)
    p.add_argument("--down", type=float, required=True)
    p.add_argument("--up", type=float, required=True)
    p.add_argument("--recovered", type=float, required=True)
    p = sub.add_parser("wait-pages")
    p.add_argument("--paths", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("pages")
    p.add_argument("--paths", required=True)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--max-seconds", type=float, default=1.0)
    p.add_argument("--label", default="page")
    args = parser.parse_args()
    globals()[f"cmd_{args.command.replace('-', '_')}"](args)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
