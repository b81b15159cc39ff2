#!/usr/bin/env bash
# The production set-up, scaled out on loopback, and what it must survive.
#
# Starts PostgreSQL (private data dir, port 25433), Redis (26379), an SMTP sink (22525), two
# gunicorn servers (18001, 18002) with production settings, nginx in front (18080) and two
# e-mail workers, then checks:
#   1. /healthz and /readyz on both servers, directly and through nginx
#   2. an article edit is seen on both servers within 3 s (per-worker page cache)
#   3. rate limits are shared by all workers and counted per client behind nginx
#   4. 20 concurrent takes of one waiting chat, on both servers: exactly one winner
#   5. 40 e-mails, a worker killed with -9 mid-send: every e-mail delivered exactly once
#   6. a PostgreSQL restart under load: pages and e-mail come back
#   7. Redis stopped, then frozen: the pages still answer 200, quickly
#   8. an e-mail the mail server took just before the database went away: sent once
#      (SCALEOUT_MAIL_DB_OUTAGE=0 skips it)
# Prints PASS/FAIL with figures, exits 1 if anything failed, and stops every process and
# removes every temporary file it made on exit. Run as root (Debian 12); installs PostgreSQL,
# Redis and nginx if missing. KEEP=1 keeps the temporary directory (logs) for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
CHECK=(scripts/scaleout/check.py)
export DEBIAN_FRONTEND=noninteractive

# Below the ephemeral range (32768-60999), so no client connection can be holding a port.
PG_PORT=25433
REDIS_PORT=26379
SMTP_PORT=22525
APP_PORTS=(18001 18002)
NGINX_PORT=18080
ARTICLE=how-to-top-up
PAGES=/en/,/en/articles/$ARTICLE/,/en/tickets/new/,/en/tickets/chat/
started_at=$(date +%s.%N)

say() { printf '%s\n' "$*"; }
elapsed() { awk -v s="$started_at" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }

# --- what the machine needs -----------------------------------------------------------------
[[ $(id -u) == 0 ]] || { say "scaleout: run as root (PostgreSQL runs as the postgres user)"; exit 2; }
[[ -x $PY ]] || { say "scaleout: no virtualenv at $ROOT/.venv (make install)"; exit 2; }
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || missing+=(nginx)
command -v ss >/dev/null || missing+=(iproute2)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  say "scaleout: apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pg_bin=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -n 1)

for port in "$PG_PORT" "$REDIS_PORT" "$SMTP_PORT" "${APP_PORTS[@]}" "$NGINX_PORT"; do
  if ss -Htln "( sport = :$port )" | grep -q .; then
    say "scaleout: port $port is in use (a previous run still going?)"
    exit 2
  fi
done

# --- processes we start, and their end ------------------------------------------------------
work=$(mktemp -d /tmp/scaleout.XXXXXX)
chmod 755 "$work" # the postgres user and nginx's workers look inside
mkdir -p "$work/pids" "$work/logs" "$work/mail" "$work/nginx/tmp" "$work/redis"
fails=0

remember() { echo "$2" >"$work/pids/$1.pid"; } # name pid
forget() { rm -f "$work/pids/$1.pid"; }
pid_of() { cat "$work/pids/$1.pid"; }

stop_pg() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -m "${1:-fast}" -w stop >/dev/null 2>&1 || true; }

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local pids=() file
  for file in "$work"/pids/*.pid; do
    [[ -e $file ]] && pids+=("$(cat "$file")")
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null
    kill -CONT "${pids[@]}" 2>/dev/null # a frozen Redis must see its TERM
  fi
  for _ in $(seq 50); do
    local alive=0 pid
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  [[ -d $work/pg ]] && stop_pg immediate
  if ((rc != 0)) || [[ ${KEEP:-} == 1 ]]; then
    say ""
    say "--- last lines of the logs ($work/logs) ---"
    for file in "$work"/logs/*.log "$work/pg/server.log" "$work/nginx/error.log"; do
      [[ -s $file ]] || continue
      say "== ${file#"$work"/}"
      tail -n 8 "$file" | cut -c1-300
    done
  fi
  if [[ ${KEEP:-} == 1 ]]; then say "scaleout: kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { say "  PASS  $*"; }
fail() { say "  FAIL  $*"; fails=$((fails + 1)); }
check() { "$PY" "${CHECK[@]}" "$@" || fails=$((fails + 1)); }
section() { say ""; say "== $* (at $(elapsed) s)"; }

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# --- the environment: production settings ---------------------------------------------------
export DJANGO_SETTINGS_MODULE=wallet_support.settings
export DJANGO_DEBUG=0
DJANGO_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export DJANGO_SECRET_KEY
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export DJANGO_SITE_URL=http://127.0.0.1:$NGINX_PORT
export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/wallet_support
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export DJANGO_TRUSTED_PROXIES=127.0.0.1
# EMAIL_FILE_PATH is not configurable (wallet_support/settings.py): SMTP to our own sink.
export DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
export DJANGO_EMAIL_HOST=127.0.0.1 DJANGO_EMAIL_PORT=$SMTP_PORT DJANGO_EMAIL_TIMEOUT=10
export DJANGO_PRIVATE_MEDIA_ROOT=$work/private-media
export SCALEOUT_MAIL_LEASE_SECONDS=5 # instead of 10 minutes (scripts/scaleout/mail_worker.py)

say "scaleout: working in $work"

# --- PostgreSQL, Redis, the SMTP sink -------------------------------------------------------
mkdir "$work/pg" "$work/pg-socket"
chown postgres: "$work/pg" "$work/pg-socket"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 >/dev/null
start_pg() {
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
    -o "-p $PG_PORT -k $work/pg-socket -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}
start_pg
runuser -u postgres -- "$pg_bin/createdb" -h 127.0.0.1 -p "$PG_PORT" wallet_support

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work/redis" >>"$work/logs/redis.log" 2>&1 &
  remember redis $!
  local deadline=$((SECONDS + 10))
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { say "scaleout: Redis did not start"; return 1; }
    sleep 0.1
  done
}
start_redis

"$PY" scripts/scaleout/smtp_sink.py --port "$SMTP_PORT" --dir "$work/mail" --delay 0.05 \
  --hold-seconds 5 >>"$work/logs/smtp-sink.log" 2>&1 &
remember smtp-sink $!

# --- the application ------------------------------------------------------------------------
say "scaleout: migrate, createcachetable, collectstatic, load_help_content"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py createcachetable
"$PY" manage.py collectstatic --noinput -v0
"$PY" manage.py load_help_content >"$work/logs/load_help_content.log"

for port in "${APP_PORTS[@]}"; do
  .venv/bin/gunicorn -w 2 -b "127.0.0.1:$port" --graceful-timeout 5 wallet_support.wsgi \
    >>"$work/logs/gunicorn-$port.log" 2>&1 &
  remember "gunicorn-$port" $!
done

cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 512; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  upstream wallet_support {
    server 127.0.0.1:${APP_PORTS[0]};
    server 127.0.0.1:${APP_PORTS[1]};
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    client_max_body_size 12m;
    location / {
      proxy_pass http://wallet_support;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      add_header X-Upstream \$upstream_addr always;
    }
  }
}
EOF
nginx -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>>"$work/logs/nginx.log"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >>"$work/logs/nginx.log" 2>&1 &
remember nginx $!

workers=()
start_worker() { # name
  "$PY" scripts/scaleout/mail_worker.py --worker-id "$1" >>"$work/logs/mail-$1.log" 2>&1 &
  remember "mail-$1" $!
  disown $! # one is killed with -9 on purpose: no "Killed" notice from bash
  workers+=("$1")
}
start_worker w1
start_worker w2

for port in "${APP_PORTS[@]}" "$NGINX_PORT"; do
  wait_http "http://127.0.0.1:$port/readyz" 60 || { say "scaleout: :$port not ready"; exit 1; }
done
say "scaleout: all started in $(elapsed) s"

# --- 1 --------------------------------------------------------------------------------------
section "1. health and readiness, directly and through nginx"
check health

# --- 2 --------------------------------------------------------------------------------------
section "2. an article edit is seen on both servers within 3 s"
check edit --slug "$ARTICLE" --within 3

# --- 3 --------------------------------------------------------------------------------------
section "3. rate limits shared by every worker, per client behind nginx"
check ratelimit --client-a 203.0.113.5 --client-b 198.51.100.7

# --- 4 --------------------------------------------------------------------------------------
section "4. the chat take race: 20 sessions of two agents on both servers"
password=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')
for agent in anna bruno; do
  printf '%s\n' "$password" | "$PY" manage.py createstaff "scaleout-$agent" \
    --email "$agent@example.test" --role agent --first-name "${agent^}" --password-stdin >/dev/null
done
check chat-race --agents scaleout-anna scaleout-bruno --password "$password" --sessions 20

# --- 5 --------------------------------------------------------------------------------------
section "5. every e-mail exactly once, with a worker killed mid-send"
check mail-create --prefix c5 --count 40
worker_pids=$(for w in "${workers[@]}"; do pid_of "mail-$w"; done | paste -sd,)
if "$PY" "${CHECK[@]}" mail-kill --sink "$work/mail" --prefix c5 --after 5 \
  --pids "$worker_pids" --victim-file "$work/victim"; then
  victim=$(cat "$work/victim")
  survivors=()
  for w in "${workers[@]}"; do
    if [[ $(pid_of "mail-$w") == "$victim" ]]; then
      forget "mail-$w"
      dead=$w
    else
      survivors+=("$w")
    fi
  done
  workers=("${survivors[@]}")
  for _ in $(seq 50); do kill -0 "$victim" 2>/dev/null || break; sleep 0.1; done
  pass "worker $dead (pid $victim) killed with -9 mid-send"
  sleep 2
  start_worker w3
  say "        replacement worker w3 started 2 s later (pid $(pid_of mail-w3))"
else
  fails=$((fails + 1))
fi
check mail-verify --sink "$work/mail" --prefix c5 --count 40 --timeout 45 \
  --what "for 40 new tickets"
gave_back=$(cat "$work"/logs/mail-*.log | grep -c "Gave back" || true)
if ((gave_back >= 1)); then
  pass "the killed worker's e-mail was given back after the lease (${gave_back}x 'Gave back' in the worker logs)"
else
  fail "no worker gave back the killed worker's task (no 'Gave back' in the logs)"
fi

# --- 6 --------------------------------------------------------------------------------------
section "6. PostgreSQL restarted under load"
"$PY" "${CHECK[@]}" load --paths "$PAGES" --out "$work/load.json" --stop "$work/load.stop" \
  --threads 4 &
remember load $!
sleep 2
down=$(date +%s.%N)
stop_pg fast
say "        PostgreSQL stopped; starting it again in 3 s"
sleep 3
start_pg
up=$(date +%s.%N)
recovered=$("$PY" "${CHECK[@]}" wait-pages --paths "$PAGES" --timeout 30)
if [[ $recovered == 0 ]]; then
  fail "pages did not answer 200 again within 30 s of the restart"
  recovered=$(date +%s.%N)
fi
sleep 2
touch "$work/load.stop"
wait "$(pid_of load)" || true
forget load
check load-report --out "$work/load.json" --down "$down" --up "$up" --recovered "$recovered"
alive=()
for w in "${workers[@]}"; do
  kill -0 "$(pid_of "mail-$w")" 2>/dev/null && alive+=("$w")
done
if ((${#alive[@]} == 2)); then
  pass "both e-mail workers (${alive[*]}) lived through the restart"
else
  fail "e-mail workers alive after the restart: ${alive[*]:-none}"
fi
check health
check ticket-form --email c6-0@example.test
check mail-verify --sink "$work/mail" --prefix c6 --count 1 --timeout 40 \
  --what "for a ticket sent after the restart"

# --- 7 --------------------------------------------------------------------------------------
section "7. Redis outage: stopped, then frozen"
readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$NGINX_PORT/readyz" || true; }
redis_pid=$(pid_of redis)
kill -TERM "$redis_pid"
{ wait "$redis_pid"; } 2>/dev/null || true
forget redis
say "        Redis stopped"
check pages --label "Redis stopped:" --paths "$PAGES" --rounds 4 --max-seconds 1
say "        /readyz through nginx while Redis is stopped: $(readyz)"
start_redis
say "        Redis started again"
# A frozen Redis (no answer at all) is the harder case: every cache call waits for its timeout.
redis_pid=$(pid_of redis)
kill -STOP "$redis_pid"
say "        Redis frozen (SIGSTOP)"
check pages --label "Redis frozen:" --paths "$PAGES" --rounds 4 --max-seconds 1
say "        /readyz through nginx while Redis is frozen: $(readyz)"
kill -CONT "$redis_pid"
say "        Redis thawed (SIGCONT)"
check health

# --- 8, opt-in ------------------------------------------------------------------------------
# Not part of the default run, because it fails today: it shows a gap in "sent exactly once".
# The database goes away after the mail server has accepted an e-mail and before the worker
# records it as sent (tickets/tasks.py, SentEmail.objects.get_or_create after message.send()):
# marking the task failed fails too, the task stays RUNNING, is given back after the lease and
# the customer gets the e-mail a second time.
if [[ ${SCALEOUT_MAIL_DB_OUTAGE:-1} == 1 ]]; then
  section "8. (opt-in) PostgreSQL stops while a worker waits for the mail server's 250"
  touch "$work/mail/hold-250"
  check mail-create --prefix c8 --count 1
  for _ in $(seq 100); do
    grep -q "250 held" "$work/mail/sessions.log" 2>/dev/null && break
    sleep 0.1
  done
  stop_pg fast
  rm -f "$work/mail/hold-250"
  say "        PostgreSQL stopped while the 250 was held; 250 sent; PostgreSQL back in 2 s"
  sleep 2
  start_pg
  check mail-verify --sink "$work/mail" --prefix c8 --count 1 --timeout 40 \
    --what "accepted by the mail server just before the database went away"
fi

# --- the end --------------------------------------------------------------------------------
say ""
if ((fails)); then
  say "scaleout: $fails check(s) FAILED in $(elapsed) s"
  exit 1
fi
say "scaleout: all checks passed in $(elapsed) s"
