"""`manage.py mail_worker` with a shorter lease, for scripts/scaleout_check.sh.

The production lease (tickets/management/commands/mail_worker.py: LEASE) is 10 minutes; the
check cannot wait that long for a killed worker's e-mail to be given back, so it sets
SCALEOUT_MAIL_LEASE_SECONDS (default 5) before running the real command unchanged.

    python scripts/scaleout/mail_worker.py [--worker-id NAME]
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wallet_support.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tickets.management.commands import mail_worker  # noqa: E402

mail_worker.LEASE = timedelta(seconds=float(os.environ.get("SCALEOUT_MAIL_LEASE_SECONDS", "5")))

if __name__ == "__main__":
    call_command("mail_worker", *sys.argv[1:])
