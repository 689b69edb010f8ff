#!/bin/sh
# jobd-ensure-key FILE --role ROLE [--workspace WS] --name NAME [--expire_in D]
# Leaves FILE holding a live API key of the database jobd reaches (JOBD_DATABASE_URL): a key
# file that is a live key of it (listed by `jobd keys list`, not revoked) is kept; any other
# is moved to FILE.old and a new key made with `jobd keys create ... --key_file FILE` (a new
# file, mode 0600; the database keeps only the key's hash). Safe to run on every start, as the
# compose file does; deploy/run.sh does the same for .jobd/admin.key.
set -eu

file=${1:?usage: jobd-ensure-key FILE --role ROLE [--workspace WS] --name NAME}
shift
jobd=${JOBD_BIN:-jobd}

if [ -s "$file" ]; then
  # Fails (and so does this script) when the database cannot be read: never replace a key then.
  keys=$("$jobd" keys list)
  prefix=$(head -c 12 "$file")
  if printf '%s\n' "$keys" | awk -v p="$prefix" '
      $NF == "-" { for (i = 1; i < NF; i++) if ($i == p) found = 1 }
      END { exit !found }'; then
    echo "jobd-ensure-key: $file is a live key; kept" >&2
    exit 0
  fi
  echo "jobd-ensure-key: $file is not a live key of this database; moved to $file.old" >&2
  mv -f -- "$file" "$file.old"
fi
rm -f -- "$file"
exec "$jobd" keys create "$@" --key_file "$file"
