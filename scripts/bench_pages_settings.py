"""Settings for scripts/bench_pages.sh only: production settings, plus one page that is not
ours (a bare Django view rendering a 20 KB template without the database, the bench's
yardstick for "what any Django page costs here"), and static files collected into the bench's
own directory, so a run never rewrites the working tree's staticfiles/ under anyone's feet.
Never used by a deployment."""

import os
from pathlib import Path

from wallet_support.settings import *  # noqa: F403
from wallet_support.settings import BASE_DIR, TEMPLATES

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])

ROOT_URLCONF = "scripts.bench_pages_urls"
# The bench writes the template into its own work directory (scripts/bench_pages.sh).
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates", Path(os.environ["BENCH_TEMPLATE_DIR"])]
