"""A tiny SMTP server for scripts/scaleout_check.sh: accepts every message and records it.

Each message it has acknowledged (250 after DATA) becomes one JSON line in <dir>/messages.jsonl
(recipients, subject, time) and one .eml file. A client that goes away before the
acknowledgement (a worker killed mid-send) delivered nothing, as with a real mail server.

The check needs to kill a worker in the middle of an SMTP session, deterministically: while
<dir>/hold-next exists, the next connection is held before the greeting for --hold-seconds;
its client's port is written to <dir>/held (so the script can find the worker owning it).
While <dir>/hold-250 exists, a message is read but its 250 waits until the file is removed.

    python smtp_sink.py --port 22525 --dir /tmp/x/mail
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import time
from pathlib import Path

counter = 0


async def _held(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait `seconds` before the greeting; True if the client hung up meanwhile."""
    try:
        data = await asyncio.wait_for(reader.read(1), timeout=seconds)
    except TimeoutError:
        return False
    return data == b""


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, args: argparse.Namespace
) -> None:
    global counter
    folder: Path = args.dir
    peer = writer.get_extra_info("peername")
    log = folder / "sessions.log"

    def note(text: str) -> None:
        with log.open("a") as handle:
            handle.write(f"{time.time():.3f} {peer[1]} {text}\n")

    hold = folder / "hold-next"
    if hold.exists():
        hold.unlink()
        (folder / "held.tmp").write_text(str(peer[1]))
        (folder / "held.tmp").rename(folder / "held")
        note("held before greeting")
        if await _held(reader, args.hold_seconds):
            note("client gone while held: nothing delivered")
            writer.close()
            return

    async def say(line: str) -> None:
        writer.write(line.encode() + b"\r\n")
        await writer.drain()

    sender, recipients = "", list[str]()
    try:
        await say("220 scaleout-sink ESMTP")
        while True:
            raw = await reader.readline()
            if not raw:
                note("client gone")
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in {"EHLO", "HELO"}:
                await say("250 scaleout-sink")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip(), []
                await say("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>").lower())
                await say("250 OK")
            elif verb == "DATA":
                await say("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    chunk = await reader.readline()
                    if not chunk:
                        note("client gone during DATA: nothing delivered")
                        return
                    if chunk in {b".\r\n", b".\n"}:
                        break
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                body = b"".join(lines)
                if args.delay:
                    await asyncio.sleep(args.delay)
                if (folder / "hold-250").exists():
                    # For a reproduction: the message is in, its acknowledgement waits.
                    note("message received, 250 held until hold-250 is removed")
                    while (folder / "hold-250").exists():
                        await asyncio.sleep(0.05)
                if reader.at_eof():
                    note("client gone before 250: nothing delivered")
                    return
                await say("250 OK queued")
                counter += 1
                message = email.message_from_bytes(body, policy=email.policy.default)
                stem = f"{time.time_ns()}-{counter}"
                (folder / f"{stem}.eml").write_bytes(body)
                record = {
                    "time": time.time(),
                    "from": sender,
                    "to": recipients,
                    "subject": str(message.get("Subject", "")),
                    "file": f"{stem}.eml",
                }
                with (folder / "messages.jsonl").open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
                note(f"delivered to {','.join(recipients)}")
            elif verb == "RSET":
                sender, recipients = "", []
                await say("250 OK")
            elif verb == "NOOP":
                await say("250 OK")
            elif verb == "QUIT":
                await say("221 Bye")
                return
            else:
                await say("502 Command not implemented")
    except (ConnectionError, asyncio.IncompleteReadError):
        note("connection broken")
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each 250")
    parser.add_argument("--hold-seconds", type=float, default=5.0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "messages.jsonl").touch()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args), host=args.host, port=args.port
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
