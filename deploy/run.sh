#!/usr/bin/env bash
# THE run command: build jobd and serve it. Without JOBD_DATABASE_URL it uses (and keeps)
# a private PostgreSQL cluster for this checkout, started with default durability.
# On first start it makes an admin API key in .jobd/admin.key (mode 0600), which jobctl
# finds by itself. Extra args go to `jobd serve` (e.g. --listen 127.0.0.1:50051).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

deploy/install-deps.sh
deploy/build.sh --target jobd jobctl

if [[ -n ${JOBD_DATABASE_URL:-} ]]; then
  URL=$JOBD_DATABASE_URL
else
  DIR=$REPO/.jobd/pg
  # As root the cluster runs as the postgres user, which cannot reach a checkout under
  # e.g. /root (mode 700): keep the cluster in a per-checkout directory elsewhere.
  if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$REPO"; then
    DIR=/var/lib/jobd/clusters/$(printf '%s' "$REPO" | sha1sum | cut -c1-12)
    echo "run: the postgres user cannot traverse $REPO; using cluster directory $DIR" >&2
    mkdir -p /var/lib/jobd/clusters
  fi
  # Reuses the cluster (and its port) when it already exists or runs.
  URL=$(tests/pg_cluster.sh start "$DIR")
  printf 'run: database %s\nrun: stop the database later with: tests/pg_cluster.sh stop %q\n' \
    "$URL" "$DIR" >&2
fi

build/server/jobd migrate --database_url "$URL"

# Closed by default: every call needs a key. The first start makes an admin key for this
# checkout; a key file that is not a live key of this database (another database's, or
# revoked: its REVOKED column is not "-") is replaced.
KEY_FILE=$REPO/.jobd/admin.key
if [[ -s $KEY_FILE ]]; then
  KEYS=$(build/server/jobd keys list --database_url "$URL") ||
    { echo "run: cannot list the API keys of $URL" >&2; exit 1; }
  PREFIX=$(head -c 12 "$KEY_FILE")
  if ! awk -v p="$PREFIX" '$NF == "-" { for (i = 1; i < NF; i++) if ($i == p) found = 1 }
      END { exit !found }' <<<"$KEYS"; then
    echo "run: $KEY_FILE is not a live key of this database; making a new one" >&2
    mv -f -- "$KEY_FILE" "$KEY_FILE.old"
  fi
fi
if [[ ! -s $KEY_FILE ]]; then
  mkdir -p "$REPO/.jobd"
  rm -f -- "$KEY_FILE"
  build/server/jobd keys create --database_url "$URL" --role admin --name local-admin \
    --key_file "$KEY_FILE"
  cat >&2 <<EOT
run: an admin API key is in $KEY_FILE (mode 0600); build/client/jobctl finds it there by
run: itself. Other clients send the metadata "authorization: Bearer <key>". More keys:
run:   build/server/jobd keys create --role member --workspace WS --name NAME --database_url '$URL'
EOT
fi
exec build/server/jobd serve --database_url "$URL" "$@"
