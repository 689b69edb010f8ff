#!/usr/bin/env bash
# THE run command: build jobd and serve it. Without JOBD_DATABASE_URL it uses (and keeps)
# a private PostgreSQL cluster for this checkout, started with default durability.
# Extra args go to `jobd serve` (e.g. --listen 127.0.0.1:50051).
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
exec build/server/jobd serve --database_url "$URL" "$@"
