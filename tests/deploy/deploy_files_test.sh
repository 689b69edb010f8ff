#!/usr/bin/env bash
# Every check of the deployment files (deploy/Dockerfile, deploy/compose.yaml, deploy/k8s,
# deploy/systemd, deploy/docker/*.sh) that runs without Docker, a cluster or a database
# (docs/DEPLOY.md, "What is tested"):
#   1. shellcheck on the image's scripts and these tests;
#   2. check_manifests.py with the built binaries: the Dockerfile, compose file, Kubernetes
#      manifests (built with `kubectl kustomize` when there is a kubectl) and systemd unit,
#      and every deployment's settings given to the real jobd;
#   3. check_manifests.py with its kustomize emulation too (when step 2 used kubectl), so
#      both ways agree;
#   4. check_manifests_selftest.py: the checker fails on 32 kinds of broken file;
#   5. container_scripts_test.sh: the image's entry point, health check and key script;
#   6. systemd_verify_test.sh: systemd-analyze verify and security on the unit.
# Runs them all, prints what each checked, exits 1 if any failed. Needs the Debian packages
# python3-yaml, shellcheck, systemd (for systemd-analyze) and curl; kubectl is optional.
#
#   tests/deploy/deploy_files_test.sh JOBD JOBCTL
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
JOBD=${1:?usage: deploy_files_test.sh JOBD JOBCTL}
JOBCTL=${2:?usage: deploy_files_test.sh JOBD JOBCTL}
# Debian's python3 (python3-yaml): the first python3 on PATH may be another one.
PY=/usr/bin/python3

declare -A rc=()
order=()
step() {
  local name=$1
  shift
  order+=("$name")
  printf '\n=== %s\n' "$name"
  rc[$name]=0
  "$@" || rc[$name]=$?
}

missing=()
"$PY" -c 'import yaml' 2>/dev/null || missing+=("python3-yaml")
command -v shellcheck >/dev/null || missing+=("shellcheck")
command -v systemd-analyze >/dev/null || missing+=("systemd")
command -v curl >/dev/null || missing+=("curl")
if ((${#missing[@]} > 0)); then
  echo "deploy_files_test: missing Debian packages: ${missing[*]} (deploy/install-deps.sh)"
  exit 1
fi

lint_shell() {
  (cd "$REPO" && shellcheck -x deploy/docker/*.sh tests/deploy/*.sh &&
    echo "ok: shellcheck clean: $(echo deploy/docker/*.sh tests/deploy/*.sh)")
}
step shellcheck lint_shell
step manifests "$PY" "$HERE/check_manifests.py" --jobd "$JOBD" --jobctl "$JOBCTL"
if command -v kubectl >/dev/null; then
  step manifests_emulated_kustomize "$PY" "$HERE/check_manifests.py" --kubectl none
else
  echo "note: no kubectl: the manifests were built by check_manifests.py's emulation only"
fi
step checker_selftest "$PY" "$HERE/check_manifests_selftest.py" --jobd "$JOBD" --jobctl "$JOBCTL"
step container_scripts "$HERE/container_scripts_test.sh"
step systemd "$HERE/systemd_verify_test.sh" "$JOBD"

printf '\n=== summary\n'
failed=0
for name in "${order[@]}"; do
  if ((rc[$name] == 0)); then
    echo "ok: $name"
  else
    echo "FAIL: $name (exit ${rc[$name]})"
    failed=$((failed + 1))
  fi
done
echo "$((${#order[@]} - failed)) passed, $failed failed"
((failed == 0))
