"""Audit the customer's pages as production serves them: axe, Lighthouse, screenshots.

    .venv/bin/python scripts/audit_customer.py [OUTDIR]      # default audit-results/

Serves the production build (gunicorn, DEBUG off, collected static files) from a throwaway
SQLite database with the shipped help content, then for every page and form state in both
languages:
- axe (WCAG 2.2 AA rules, through Playwright in Debian's Chromium): any violation fails;
- Lighthouse, when installed (npm `lighthouse`, /work/shared/tools/browser/lighthouse.sh):
  below 95 in a category fails, accessibility must be 100, the search page's SEO is exempt
  (it is noindex on purpose); without Lighthouse this part is skipped and says so;
- screenshots of home, an article, the ticket form (empty and with errors) and contact at
  phone (390×844) and desktop (1280×900) size, for a reviewer to look at.

Exit status 1 when anything failed. Not run by .ci/run (yet): it takes a few minutes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LIGHTHOUSE_SH = Path("/work/shared/tools/browser/lighthouse.sh")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": f"sqlite:///{workdir / 'audit.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SITE_URL": f"http://127.0.0.1:{port}",
        # Plain HTTP on the loopback: no redirect to HTTPS, cookies without Secure.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_PRIVATE_MEDIA_ROOT": str(workdir / "private"),
        "DJANGO_LOG_LEVEL": "ERROR",
        "DJANGO_ACCESS_LOG_LEVEL": "WARNING",
        # Chat open all day, so the chat form is audited in its open state.
        "SUPPORT_HOURS": "00:00–24:00",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "wallet_support.wsgi"], cwd=ROOT, env=env
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def pages(base: str) -> dict[str, str]:
    """name -> address, both languages; the article and category are the first shipped ones."""
    from faq.models import Article, Category  # after django.setup()

    article = Article.objects.published().filter(language="zh-hans").order_by("pk").first()
    category = Category.objects.order_by("pk").first()
    assert article is not None and category is not None
    found: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        for name, path in {
            "home": "/",
            "category": f"/categories/{category.slug}/",
            "article": f"/articles/{article.slug}/",
            "search-hits": "/search/?q=%E6%8F%90%E7%8E%B0",
            "search-none": "/search/?q=zzqqxx",
            "ticket-form": "/tickets/new/",
            "tracking": "/tickets/track/",
            "contact": "/contact/",
            "security": "/security/",
            "chat-start": "/tickets/chat/",
        }.items():
            found[f"{language}-{name}"] = f"{base}/{language}{path}"
    return found


def run_axe(page: object, axe_source: str) -> list[str]:
    page.evaluate(axe_source)  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def browser_audit(addresses: dict[str, str], outdir: Path) -> list[str]:
    import axe_playwright_python
    from playwright.sync_api import sync_playwright

    axe_source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    failures: list[str] = []
    shots = {"home", "article", "ticket-form", "contact"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=OFFLINE)
        for size_name, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            for name, url in addresses.items():
                page.goto(url)
                states: list[tuple[str, str | None]] = [("", None)]
                if name.endswith(("ticket-form", "tracking", "chat-start")):
                    states.append(("-errors", "form[method=post] button[type=submit]"))
                for suffix, submit in states:
                    if submit:
                        page.locator(submit).first.click()
                        page.wait_for_load_state()
                    label = f"{name}{suffix}@{size_name}"
                    failures += [f"axe {label}: {v}" for v in run_axe(page, axe_source)]
                    if name.endswith(tuple(shots)):
                        page.screenshot(path=str(outdir / f"{label}.png"), full_page=True)
            context.close()
        browser.close()
    return failures


def lighthouse_audit(addresses: dict[str, str], outdir: Path) -> list[str]:
    if not LIGHTHOUSE_SH.exists() or not (
        shutil.which("lighthouse") or (ROOT / ".tools/npm/node_modules/.bin/lighthouse").exists()
    ):
        print("Lighthouse not installed (npm install lighthouse): skipped")
        return []
    failures = []
    for name, url in addresses.items():
        env = {**os.environ, "LH_MIN_PERF": "95", "LH_MIN_A11Y": "100", "LH_MIN_BP": "95"}
        env["NPM_DIR"] = str(ROOT / ".tools/npm")
        env["LH_MIN_SEO"] = "0" if "search" in name else "95"  # noindex on purpose
        result = subprocess.run(
            ["bash", str(LIGHTHOUSE_SH), url, str(outdir / "lighthouse")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        print(f"lighthouse {name}: {result.stdout.strip()}")
        if result.returncode:
            failures.append(f"lighthouse {name}: {result.stdout.strip()} {result.stderr[-300:]}")
    return failures


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "audit-results").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = production_env(Path(tmp), port)
        manage(env, "migrate", "--noinput")
        manage(env, "createcachetable")
        manage(env, "collectstatic", "--noinput")
        manage(env, "load_help_content")
        os.environ.update(
            {k: env[k] for k in ("DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG")}
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wallet_support.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        server = start_server(env, port)
        try:
            addresses = pages(f"http://127.0.0.1:{port}")
            failures = browser_audit(addresses, outdir)
            failures += lighthouse_audit(addresses, outdir)
        finally:
            server.terminate()
            server.wait(timeout=10)
    (outdir / "failures.json").write_text(json.dumps(failures, ensure_ascii=False, indent=1))
    for failure in failures:
        print(failure)
    print(f"{len(failures)} failures; screenshots in {outdir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
