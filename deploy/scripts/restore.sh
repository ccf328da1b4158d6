#!/usr/bin/env bash
# Restore one backup written by backup.sh. Destructive: stop web, worker and beat first.
#
#   restore.sh postgres FILE     FILE: postgres-<time>.dump
#   restore.sh redis FILE        FILE: redis-<time>.rdb.gz (replaces the whole Redis instance)
#
# Steps: verify FILE against FILE.sha256; take a safety backup of the current data into
# $BACKUP_DIR/pre-restore/ (never uploaded); restore; validate (PostgreSQL: the row count of every
# table equals the dump's; Redis: the key count of every database equals the snapshot's, and a
# sample of keys has identical values and expiry). Exits non-zero, saying why, at the first failure.
#
# Environment: DATABASE_URL or REDIS_URL as for backup.sh; BACKUP_DIR (default /backups);
# RESTORE_SAMPLE_KEYS (Redis keys compared per database, default 50).
set -euo pipefail
umask 077

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BACKUP_DIR=${BACKUP_DIR:-/backups}
SAMPLE_KEYS=${RESTORE_SAMPLE_KEYS:-50}

log() { printf 'restore: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

(($# == 2)) || die "usage: restore.sh postgres|redis FILE"
target=$1
file=$2
[[ $target == postgres || $target == redis ]] || die "unknown target '$target' (postgres|redis)"
[[ -f $file ]] || die "$file does not exist"
[[ -f $file.sha256 ]] || die "$file.sha256 does not exist; refusing to restore an unverified file"

verify_checksum() {
  local expected actual
  expected=$(cut -d' ' -f1 <"$file.sha256")
  actual=$(sha256sum <"$file" | cut -d' ' -f1)
  [[ -n $expected && $expected == "$actual" ]] \
    || die "checksum mismatch for $file (expected ${expected:-nothing}, got $actual); nothing was changed"
  log "checksum verified ($actual)"
}

safety_backup() {
  local saved
  saved=$(BACKUP_DIR="$BACKUP_DIR/pre-restore" BACKUP_S3_BUCKET='' "$here/backup.sh" "$target")
  log "safety backup of the current $target data: $saved"
}

# --- PostgreSQL ----------------------------------------------------------------------------------

# "<table> <rows>" for every table with data in the dump: a COPY block has one line per row.
dump_row_counts() {
  pg_restore --data-only --file=- "$file" | awk '
    /^COPY / { table = $2; rows = 0; copying = 1; next }
    copying && /^\\\.$/ { print table, rows; copying = 0; next }
    copying { rows++ }'
}

restore_postgres() {
  [[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set"
  pg_restore --list "$file" >/dev/null || die "$file is not a pg_dump custom-format archive"
  local expected
  expected=$(dump_row_counts)
  safety_backup
  # One transaction: either the whole dump replaces the current objects or nothing changes.
  pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
    --exit-on-error --dbname="$DATABASE_URL" "$file"
  log "restored $file"

  [[ -n $expected ]] || { log "the dump holds no rows; nothing to count"; return 0; }
  local query="" table
  while read -r table _; do
    query+="${query:+ UNION ALL }SELECT '$table', count(*) FROM $table"
  done <<<"$expected"
  local actual
  actual=$(psql --no-psqlrc --quiet --tuples-only --no-align --field-separator=' ' \
    --dbname="$DATABASE_URL" --command="$query")
  if [[ $(sort <<<"$expected") != $(sort <<<"$actual") ]]; then
    diff <(sort <<<"$expected") <(sort <<<"$actual") >&2 || true
    die "row counts after the restore differ from the dump (above: dump < > database)"
  fi
  log "validated: $(wc -l <<<"$expected") tables, $(awk '{ s += $2 } END { print s }' <<<"$expected") rows as in the dump"
}

# --- Redis ---------------------------------------------------------------------------------------

# The snapshot is loaded into a private redis-server on a unix socket, which then MIGRATEs every
# key to the target: binary-safe, keeps expiry, and needs no access to the target's disk.
restore_redis() {
  [[ -n ${REDIS_URL:-} ]] || die "REDIS_URL is not set"
  [[ $REDIS_URL == redis://* ]] || die "restore needs a redis:// URL (MIGRATE cannot use TLS here)"
  local rest=${REDIS_URL#redis://} auth="" user="" password="" hostport host port
  rest=${rest%%\?*}
  if [[ $rest == *@* ]]; then auth=${rest%@*}; rest=${rest##*@}; fi
  if [[ $auth == *:* ]]; then user=${auth%%:*}; password=${auth#*:}; else password=$auth; fi
  hostport=${rest%%/*}
  if [[ $hostport == *:* ]]; then host=${hostport%:*}; port=${hostport##*:}; else host=$hostport; port=6379; fi
  local migrate_auth=()
  if [[ -n $user && -n $password ]]; then migrate_auth=(AUTH2 "$user" "$password")
  elif [[ -n $password ]]; then migrate_auth=(AUTH "$password"); fi

  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # expand $work now: it is local to this function
  trap "redis-cli -s '$work/redis.sock' shutdown nosave >/dev/null 2>&1 || true; rm -rf '$work'" EXIT
  gzip -dc "$file" >"$work/dump.rdb" || die "$file is not a gzip file"
  redis-server --port 0 --unixsocket "$work/redis.sock" --unixsocketperm 700 \
    --dir "$work" --dbfilename dump.rdb --save '' --appendonly no --daemonize yes \
    --logfile "$work/redis.log" --pidfile "$work/redis.pid"
  local src=(redis-cli -s "$work/redis.sock")
  local tries=0
  until [[ $("${src[@]}" ping 2>/dev/null) == PONG ]]; do
    ((++tries < 600)) || die "the snapshot did not load: $(tail -n 3 "$work/redis.log")"
    sleep 0.1
  done

  local dst=(redis-cli -u "$REDIS_URL" --no-auth-warning)
  "${dst[@]}" ping >/dev/null || die "cannot reach Redis at $host:$port"
  safety_backup

  local dbs
  dbs=$("${src[@]}" info keyspace | sed -n 's/^db\([0-9][0-9]*\):keys=.*/\1/p')
  "${dst[@]}" flushall >/dev/null
  local db key batch moved
  for db in $dbs; do
    batch=()
    moved=0
    while IFS= read -r key; do
      batch+=("$key")
      if ((${#batch[@]} == 200)); then
        migrate_batch "$db"
        moved=$((moved + 200))
        batch=()
      fi
    done < <("${src[@]}" -n "$db" --scan)
    moved=$((moved + ${#batch[@]}))
    ((${#batch[@]})) && migrate_batch "$db"
    log "db$db: restored $moved keys"
  done
  validate_redis "$dbs"
}

migrate_batch() {
  local db=$1 reply
  reply=$("${src[@]}" -n "$db" migrate "$host" "$port" "" "$db" 10000 COPY REPLACE \
    "${migrate_auth[@]}" KEYS "${batch[@]}")
  [[ $reply == OK ]] || die "MIGRATE to $host:$port failed: $reply"
}

validate_redis() {
  local dbs=$1 db expected actual key want got i checked=0
  for db in $dbs; do
    expected=$("${src[@]}" -n "$db" dbsize)
    actual=$("${dst[@]}" -n "$db" dbsize)
    [[ $expected == "$actual" ]] || die "db$db holds $actual keys after the restore, the snapshot $expected"
    for ((i = 0; i < SAMPLE_KEYS && i < expected; i++)); do
      key=$("${src[@]}" -n "$db" randomkey)
      want=$("${src[@]}" -n "$db" --no-raw dump "$key")
      got=$("${dst[@]}" -n "$db" --no-raw dump "$key")
      [[ $want == "$got" ]] || die "db$db key '$key' differs from the snapshot after the restore"
      want=$(ttl_kind "${src[@]}" -n "$db" pttl "$key")
      got=$(ttl_kind "${dst[@]}" -n "$db" pttl "$key")
      [[ $want == "$got" ]] || die "db$db key '$key' lost or gained an expiry in the restore"
      checked=$((checked + 1))
    done
  done
  log "validated: key counts of every database match; $checked sampled keys identical"
}

# "persistent" or "expiring": a millisecond TTL moves on between the two reads, its kind does not.
ttl_kind() {
  local ttl
  ttl=$("$@")
  if ((ttl == -1)); then echo persistent; else echo expiring; fi
}

verify_checksum
"restore_$target"
