"""Open chats against gunicorn (2 sync workers): htmx polling versus server-sent events.

Seeds --chats live chats (each with its own customer session), lets an agent answer a random
chat every --reply-every seconds, then:

1. polling, as the chat window does it: every chat asks for what is new every 2 seconds for
   --seconds; prints polls, errors, the poll's p50/p95/p99 latency, the lines delivered, and
   the server's CPU (gunicorn master + workers, from /proc) as % of one core and per poll;
2. server-sent events, the same chats each holding one stream open (scripts/sse_experiment):
   prints how many chats got their stream within 5 seconds (and how many never did).

    .venv/bin/python scripts/bench_chat.py            # 200 chats, 30 s of polling
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import BASE_DIR, free_port, gunicorn, prepared_environment

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_EVERY = 2.0


def server_cpu_seconds(master_pid: int) -> float:
    """User + system CPU of the gunicorn master and its workers so far."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master_pid or ppid == master_pid:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


async def http_get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "HX-Request: true\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    response = await reader.read()
    writer.close()
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
    return status, response


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lines: int = 0


async def poll_chat(port: int, chat: Chat, until: float, results: Results) -> None:
    await asyncio.sleep(random.uniform(0, POLL_EVERY))  # windows open at different moments
    after = chat.after
    while (started := time.monotonic()) < until:
        try:
            status, body = await http_get(
                port, f"/en/tickets/chat/{chat.reference}/messages/?after={after}", chat.cookie
            )
        except OSError:
            status, body = 0, b""
        results.latencies.append(time.monotonic() - started)
        if status != 200:
            results.errors += 1
        else:
            text = body.decode(errors="replace")
            results.lines += text.count('class="message message-')
            marker = 'id="chat-after" name="after" value="'
            if marker in text:
                after = int(text.split(marker, 1)[1].split('"', 1)[0])
        await asyncio.sleep(max(0.0, started + POLL_EVERY - time.monotonic()))


async def open_stream(port: int, chat: Chat, until: float) -> bool:
    """True if the chat's event stream answered before `until`. Like a customer's open
    window, the stream is held open until then either way."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), until - time.monotonic()
        )
    except (OSError, TimeoutError):
        return False
    writer.write(
        f"GET /sse/chat/{chat.reference}/?after={chat.after} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {chat.cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    try:
        await asyncio.wait_for(reader.readuntil(b"event: ready"), until - time.monotonic())
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        return True
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


@dataclass
class Chat:
    reference: str
    cookie: str
    after: int  # the last message the window shows


def seed(count: int) -> list[Chat]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from tickets.access import ACCESS_SESSION_KEY
    from tickets.services import chat_start, chat_take

    agent = get_user_model().objects.create_user("bench-agent", is_staff=True, is_superuser=True)
    chats = []
    for n in range(count):
        ticket = chat_start(
            name=f"Customer {n}", email=f"c{n}@example.com", message="Is my top-up safe?",
            language="en",
        )  # fmt: skip
        chat_take(ticket=ticket, agent=agent)
        session = SessionStore()
        session[ACCESS_SESSION_KEY] = [ticket.reference]
        session.create()
        last_message = ticket.messages.order_by("pk").last()
        assert last_message is not None  # chat_start wrote the customer's first message
        chats.append(Chat(ticket.reference, f"sessionid={session.session_key}", last_message.pk))
    return chats


def agent_answers(every: float, stop: threading.Event, written: list[int]) -> None:
    """An agent answering a random chat every `every` seconds, as the console does."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from tickets.models import Ticket
    from tickets.services import chat_reply

    agent = get_user_model().objects.get(username="bench-agent")
    chat_ids = list(Ticket.objects.values_list("pk", flat=True))
    while not stop.wait(every):
        chat_reply(ticket=Ticket(pk=random.choice(chat_ids)), agent=agent, body="Checking now.")
        written[0] += 1
    connection.close()


def start_server(
    env: dict[str, str], port: int, log: Path, settings: str
) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [*gunicorn(port), "--pythonpath", "scripts"],
        env={**env, "DJANGO_SETTINGS_MODULE": settings}, cwd=BASE_DIR,
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def warm_up(port: int, chat: Chat) -> None:
    """Both workers have imported the site and answered before anything is measured."""

    async def polls() -> list[tuple[int, bytes]]:
        return await asyncio.gather(
            *(http_get(port, f"/en/tickets/chat/{chat.reference}/messages/", chat.cookie)
              for _ in range(20))
        )  # fmt: skip

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if all(status == 200 for status, _ in asyncio.run(polls())):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server does not answer polls")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--reply-every", type=float, default=0.2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    env = prepared_environment(work, SSE_HOLD_SECONDS="10")
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    chats = seed(args.chats)

    # 1. Polling.
    port = free_port()
    server = start_server(env, port, work / "polling.log", "wallet_support.settings")
    stop, written = threading.Event(), [0]
    writer = threading.Thread(target=agent_answers, args=(args.reply_every, stop, written))
    try:
        warm_up(port, chats[0])
        results = Results()
        writer.start()
        cpu_before, wall_before = server_cpu_seconds(server.pid), time.monotonic()
        until = wall_before + args.seconds

        async def run_polls() -> None:
            await asyncio.gather(*(poll_chat(port, chat, until, results) for chat in chats))

        asyncio.run(run_polls())
        cpu = server_cpu_seconds(server.pid) - cpu_before
        wall = time.monotonic() - wall_before
    finally:
        stop.set()
        writer.join()
        stop_server(server)
    polls = len(results.latencies)
    print(f"polling: {args.chats} open chats, one poll every {POLL_EVERY:.0f} s, {wall:.0f} s")
    print(f"  polls {polls} ({polls / wall:.0f}/s), errors {results.errors}")
    print(
        "  poll latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}".format(
            *(1000 * percentile(results.latencies, share) for share in (0.5, 0.95, 0.99))
        )
    )
    print(f"  agent lines written {written[0]}, lines delivered by polls {results.lines}")
    print(
        f"  server CPU {100 * cpu / wall:.1f} % of one core "
        f"({1000 * cpu / max(polls, 1):.2f} ms per poll)"
    )

    # 2. Server-sent events on the same gunicorn configuration.
    port = free_port()
    server = start_server(env, port, work / "sse.log", "sse_experiment.settings")
    try:
        warm_up(port, chats[0])

        async def run_streams() -> list[bool]:
            until = time.monotonic() + 5.0
            return await asyncio.gather(*(open_stream(port, chat, until) for chat in chats))

        connected = sum(asyncio.run(run_streams()))
    finally:
        stop_server(server)
    print(f"server-sent events: {args.chats} chats each holding a stream (2 sync workers)")
    print(f"  streams answered within 5 s: {connected}; waiting for a worker: "
          f"{args.chats - connected}")  # fmt: skip
    sys.exit(0 if results.errors == 0 else 1)


if __name__ == "__main__":
    main()
