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
css=$($PY -c "import json;print(json.load(open('staticfiles/staticfiles.json'))['paths']['css/site.css'])")
start=".venv/bin/gunicorn -w 2 -k sync -b 127.0.0.1:$port wallet_support.wsgi"
article="http://127.0.0.1:$port/zh-hans/articles/withdrawal-arrival-time/"
declare -A urls=(
  [static]="http://127.0.0.1:$port/static/$css"
  [article]="$article"
  [article-uncached]="$article"
  [home]="http://127.0.0.1:$port/zh-hans/"
  [category]="http://127.0.0.1:$port/zh-hans/categories/withdrawal/"
)
labels=(static article article-uncached home category)
declare -A rps
for round in 1 2; do
  for label in "${labels[@]}"; do
    command=$start
    [[ $label == article-uncached ]] && command="env FAQ_PAGE_CACHE=0 $start"
    line=$(bash "$HTTP_SH" "$command" "${urls[$label]}" "$label")
    echo "round $round: $line"
    rps[$label]="${rps[$label]:-} $(echo "$line" | awk '{print $2}')"
  done
done
best() { printf '%s\n' $1 | sort -g | tail -n 1; }
static=$(best "${rps[static]}")
for label in "${labels[@]:1}"; do
  awk -v l="$label" -v a="$(best "${rps[$label]}")" -v s="$static" \
    'BEGIN { printf "%-17s %8.1f req/s  ratio to static %.3f\n", l, a, a / s }'
done
rm -rf "$work"
