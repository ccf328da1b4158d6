#!/usr/bin/env bash
# Back up PostgreSQL and/or Redis: compressed, with a SHA-256 file next to each backup, 7 days
# of retention, and an optional upload to S3-compatible storage.
#
#   backup.sh [postgres] [redis]          (no argument: both)
#
# Environment:
#   DATABASE_URL            postgres://user:pass@host:port/name (for postgres)
#   REDIS_URL               redis://[:pass@]host:port/db (for redis; the whole instance is saved)
#   BACKUP_DIR              where backups go (default /backups)
#   BACKUP_RETENTION_DAYS   older backups in BACKUP_DIR are deleted (default 7)
#   BACKUP_S3_BUCKET        when set, each backup and its checksum are copied there with `aws s3`
#   BACKUP_S3_PREFIX        key prefix in the bucket (default hscjit)
#   BACKUP_S3_ENDPOINT_URL  for S3-compatible storage that is not AWS (MinIO, R2, ...)
#
# Prints the path of every backup it wrote on stdout (one a line); progress goes to stderr.
set -euo pipefail
umask 077

BACKUP_DIR=${BACKUP_DIR:-/backups}
RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-7}

log() { printf 'backup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! [[ $RETENTION_DAYS =~ ^[0-9]+$ ]] || ((RETENTION_DAYS < 1)); then
  die "BACKUP_RETENTION_DAYS must be a whole number of days, got '$RETENTION_DAYS'"
fi

targets=("$@")
((${#targets[@]})) || targets=(postgres redis)
for target in "${targets[@]}"; do
  [[ $target == postgres || $target == redis ]] || die "unknown target '$target' (postgres|redis)"
done

mkdir -p "$BACKUP_DIR"

# A name that sorts by time and never overwrites an earlier backup taken in the same second.
backup_path() {
  local kind=$1 suffix=$2 stamp path
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  path="$BACKUP_DIR/$kind-$stamp.$suffix"
  [[ -e $path ]] && path="$BACKUP_DIR/$kind-$stamp-$$.$suffix"
  printf '%s' "$path"
}

# The checksum file holds "<sha256>  <basename>", so `sha256sum -c` works in the backup dir too.
write_checksum() {
  local path=$1
  (cd "$(dirname "$path")" && sha256sum "$(basename "$path")" >"$(basename "$path").sha256")
}

upload() {
  local path=$1
  [[ -n ${BACKUP_S3_BUCKET:-} ]] || return 0
  command -v aws >/dev/null || die "BACKUP_S3_BUCKET is set but the aws CLI is not installed"
  local endpoint=()
  [[ -n ${BACKUP_S3_ENDPOINT_URL:-} ]] && endpoint=(--endpoint-url "$BACKUP_S3_ENDPOINT_URL")
  local dest="s3://$BACKUP_S3_BUCKET/${BACKUP_S3_PREFIX:-hscjit}/"
  aws "${endpoint[@]}" s3 cp --only-show-errors "$path" "$dest"
  aws "${endpoint[@]}" s3 cp --only-show-errors "$path.sha256" "$dest"
  log "uploaded $(basename "$path") to $dest"
}

backup_postgres() {
  [[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set"
  local path partial
  path=$(backup_path postgres dump)
  partial="$path.partial"
  # Custom format is compressed and lets restore.sh count the rows it contains.
  pg_dump --format=custom --compress=6 --no-owner --no-privileges \
    --file="$partial" --dbname="$DATABASE_URL"
  mv "$partial" "$path"
  write_checksum "$path"
  log "postgres: $(basename "$path") ($(du -h "$path" | cut -f1))"
  upload "$path"
  printf '%s\n' "$path"
}

backup_redis() {
  [[ -n ${REDIS_URL:-} ]] || die "REDIS_URL is not set"
  local path partial rdb
  path=$(backup_path redis rdb.gz)
  partial="$path.partial"
  rdb="$BACKUP_DIR/.redis-$$.rdb"
  # --rdb asks the server for a fresh snapshot of the whole instance over the wire, so this works
  # without access to the server's disk (it needs SYNC, which some managed services disable).
  redis-cli -u "$REDIS_URL" --no-auth-warning --rdb "$rdb" >/dev/null
  gzip -6 -c "$rdb" >"$partial"
  rm -f "$rdb"
  mv "$partial" "$path"
  write_checksum "$path"
  log "redis: $(basename "$path") ($(du -h "$path" | cut -f1))"
  upload "$path"
  printf '%s\n' "$path"
}

prune() {
  local minutes=$((RETENTION_DAYS * 24 * 60))
  find "$BACKUP_DIR" -maxdepth 1 -type f \
    \( -name 'postgres-*' -o -name 'redis-*' \) -mmin +"$minutes" -print -delete \
    | while read -r old; do log "pruned $(basename "$old")"; done
}

for target in "${targets[@]}"; do
  "backup_$target"
done
prune
