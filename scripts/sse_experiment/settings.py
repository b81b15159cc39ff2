"""Settings for bench_chat.py's server-sent-events variant: the site plus one SSE endpoint.

Not part of the site: it exists so the benchmark compares polling with a real SSE stream
served by the same gunicorn configuration.
"""

from wallet_support.settings import *  # noqa: F403

ROOT_URLCONF = "sse_experiment.urls"
