#!/usr/bin/env bash
# Requests per second of the public pages, as ratios to a 20 KB static file served by
# WhiteNoise through the same gunicorn (2 sync workers), measured in one run with wrk, in
# rotated rounds; then each worker's RSS with every page cached. The servers run with
# scripts/bench_pages_settings.py: production settings, plus the bare-view row's own URL and
# a private STATIC_ROOT (the working tree's staticfiles/ is never touched).
#   scripts/bench_pages.sh            (ROUNDS=2; RUNS, WRK_D, WRK_C as in
#                                      ../shared/tools/bench/http.sh)
#   e.g. ROUNDS=3 RUNS=1 WRK_D=5s WARMUP=2s scripts/bench_pages.sh   (~8 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
HTTP_SH=${HTTP_SH:-../shared/tools/bench/http.sh}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

work=$(mktemp -d /tmp/bench-pages.XXXXXX)
export DJANGO_DEBUG=0 DJANGO_SECRET_KEY="bench-only-$(head -c 24 /dev/urandom | base64)" \
  DJANGO_ALLOWED_HOSTS=127.0.0.1 DATABASE_URL="sqlite:///$work/bench.sqlite3" \
  DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 \
  DJANGO_SETTINGS_MODULE=scripts.bench_pages_settings BENCH_STATIC_ROOT="$work/static" \
  BENCH_TEMPLATE_DIR="$work/templates"
PY=.venv/bin/python
$PY manage.py migrate -v0
$PY manage.py createcachetable
$PY manage.py collectstatic --noinput -v0
$PY manage.py load_help_content >/dev/null

port=8765
# The bare-view row: a 20 KB template rendered by a view of the bench's own URLconf
# (scripts/bench_pages_settings.py: production settings but for that page and STATIC_ROOT),
# through the same middleware, with no query.
mkdir -p "$BENCH_TEMPLATE_DIR/bench"
{
  echo '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head><body>'
  echo '<ul>{% for item in items %}<li><a href="/items/{{ item.slug }}/">{{ item.title }}</a></li>{% endfor %}</ul>'
  for i in $(seq 1 208); do
    echo "<p>Paragraph $i of the bench page: plain text of a help article, about a hundred bytes.</p>"
  done
  echo '</body></html>'
} >"$BENCH_TEMPLATE_DIR/bench/bare_20k.html"
# The reference: a 20 KB file served by WhiteNoise through the same gunicorn (the project's own
# CSS is not 20 KB). Written after collectstatic, into the bench's own static directory.
reference=$work/static/bench-reference-20k.txt
head -c 20480 /dev/zero | tr '\0' 'x' >"$reference"
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
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
  [bare-view]="http://127.0.0.1:$port/bench/bare/"
)
labels=(static article article-uncached home category search ticket-form contact security
  track chat-start verify emergency bare-view)
# The issue's bars (issue 19); the other pages have none.
declare -A bars=([article]=0.6 [article-uncached]=0.15 [home]=0.5 [category]=0.5 [search]=0.15
  [ticket-form]=0.3)
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
worst() { printf '%s\n' $1 | sort -g | head -n 1; }
static=$(best "${rps[static]}")
echo "reference: /static/bench-reference-20k.txt (20480 bytes) at $(printf '%.1f' "$static") req/s (best of $rounds rounds, $(printf '%.0f' "$(worst "${rps[static]}")") at worst)"
# Two ratios per page: its best round over the reference's best round, and the median of its
# per-round ratios (each over the reference measured in the same round, minutes apart at
# most). On a shared machine a neighbour's load moves whole rounds: the per-round median is
# the steadier figure, and "rounds" shows how far apart a page's own rounds were.
printf '%-17s %9s %6s %7s %5s  %s\n' page "req/s" best median bar "rounds (req/s)"
for label in "${labels[@]:1}"; do
  awk -v l="$label" -v s="$static" -v b="${bars[$label]:-}" -v r="${rps[$label]}" \
    -v rs="${rps[static]}" 'BEGIN {
      n = split(r, page, " "); split(rs, ref, " "); best = 0
      for (i = 1; i <= n; i++) { ratio[i] = page[i] / ref[i]; if (page[i] > best) best = page[i] }
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ratio[j] < ratio[i]) {
        t = ratio[i]; ratio[i] = ratio[j]; ratio[j] = t }
      median = n % 2 ? ratio[(n + 1) / 2] : (ratio[n / 2] + ratio[n / 2 + 1]) / 2
      mark = b == "" ? "" : (median >= b ? " ok" : " MISS")
      printf "%-17s %9.1f %6.3f %7.3f %5s%-5s %s\n", l, best, best / s, median, b, mark, r }'
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
