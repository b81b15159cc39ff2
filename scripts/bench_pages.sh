#!/usr/bin/env bash
# Requests per second of the public pages, as ratios to a static file served by WhiteNoise
# through the same gunicorn (2 sync workers), measured in one run with wrk.
#   scripts/bench_pages.sh            (RUNS, WRK_D, WRK_C as in ../shared/tools/bench/http.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
HTTP_SH=${HTTP_SH:-../shared/tools/bench/http.sh}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

work=$(mktemp -d /tmp/bench-pages.XXXXXX)
export DJANGO_DEBUG=0 DJANGO_SECRET_KEY="bench-only-$(head -c 24 /dev/urandom | base64)" \
  DJANGO_ALLOWED_HOSTS=127.0.0.1 DATABASE_URL="sqlite:///$work/bench.sqlite3" \
  DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0
PY=.venv/bin/python
$PY manage.py migrate -v0
$PY manage.py createcachetable
$PY manage.py collectstatic --noinput -v0
$PY manage.py load_help_content >/dev/null

port=8765
# The reference: a 20 KB file served by WhiteNoise through the same gunicorn (the project's own
# CSS is 18 KB). Written after collectstatic, gone at the end.
reference=staticfiles/bench-reference-20k.txt
head -c 20480 /dev/zero | tr '\0' 'x' >"$reference"
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -f "$reference"
  rm -rf "$work"
}
trap cleanup EXIT
start=".venv/bin/gunicorn -w 2 -k sync -b 127.0.0.1:$port wallet_support.wsgi"
base="http://127.0.0.1:$port/zh-hans"
article="$base/articles/withdrawal-arrival-time/"
declare -A urls=(
  [static]="http://127.0.0.1:$port/static/bench-reference-20k.txt"
  [article]="$article"
  [article-uncached]="$article"
  [home]="$base/"
  [category]="$base/categories/withdrawal/"
  [search]="$base/search/?q=%E6%8F%90%E7%8E%B0"
  [ticket-form]="$base/tickets/new/"
  [contact]="$base/contact/"
  [security]="$base/security/"
  [track]="$base/tickets/track/"
  [chat-start]="$base/tickets/chat/"
  [verify]="$base/verify/"
  [emergency]="$base/emergency/"
)
labels=(static article article-uncached home category search ticket-form contact security
  track chat-start verify emergency)
declare -A rps
rounds=${ROUNDS:-2}
for ((round = 0; round < rounds; round++)); do
  # Rotated: each round starts one page later, so no page always runs first or last (a
  # neighbour's load or the machine warming up shifts every ratio alike, not one).
  shift_by=$(( round * ${#labels[@]} / rounds ))
  order=("${labels[@]:shift_by}" "${labels[@]:0:shift_by}")
  for label in "${order[@]}"; do
    command=$start
    [[ $label == article-uncached ]] && command="env FAQ_PAGE_CACHE=0 $start"
    line=$(bash "$HTTP_SH" "$command" "${urls[$label]}" "$label")
    echo "round $((round + 1)): $line"
    rps[$label]="${rps[$label]:-} $(echo "$line" | awk '{print $2}')"
  done
done
best() { printf '%s\n' $1 | sort -g | tail -n 1; }
static=$(best "${rps[static]}")
echo "reference: $reference (20480 bytes) at $(printf '%.1f' "$static") req/s"
for label in "${labels[@]:1}"; do
  awk -v l="$label" -v a="$(best "${rps[$label]}")" -v s="$static" \
    'BEGIN { printf "%-17s %8.1f req/s  ratio to static %.3f\n", l, a, a / s }'
done

# Memory: every page of both languages once (all caches full), then each worker's RSS.
$start >"$work/rss-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/" && break; sleep 0.2; done
pages=$(curl -s "http://127.0.0.1:$port/sitemap.xml" | grep -o '<loc>[^<]*</loc>' | sed 's/<[^>]*>//g; s#^https\?://[^/]*##')
for _ in 1 2 3; do  # sync workers take turns: a few passes reach both
  for path in $pages; do curl -s -o /dev/null "http://127.0.0.1:$port$path"; done
  for label in "${labels[@]:1}"; do curl -s -o /dev/null "${urls[$label]}"; done
done
for pid in $(pgrep -P "$server_pid"); do
  awk -v p="$pid" '/^VmRSS/ { printf "worker %s RSS after warm-up: %.1f MB\n", p, $2 / 1024 }' "/proc/$pid/status"
done
