#!/usr/bin/env bash
# Generates the Python modules of proto/jobd/v1 (messages and gRPC stubs) with Debian's protoc
# and grpc_python_plugin (packages protobuf-compiler, protobuf-compiler-grpc).
#
#   client/python/generate.sh [OUTDIR]
#
# The modules land in OUTDIR/jobd/v1/ (default: this directory, i.e. next to the package; that
# copy is git-ignored). With another OUTDIR, put both OUTDIR and client/python on PYTHONPATH:
# the package extends its path to every jobd/ directory found there, so `jobd.v1` resolves.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$here}

protoc_bin=$(command -v protoc) || { echo "protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
plugin=$(command -v grpc_python_plugin) ||
  { echo "grpc_python_plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }

mkdir -p "$out"
# /usr/include holds google/protobuf/*.proto (Debian's libprotobuf-dev); the generated code
# imports those from the protobuf runtime, so only our own files are generated.
"$protoc_bin" -I "$repo/proto" -I /usr/include \
  --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  "$repo"/proto/jobd/v1/*.proto
