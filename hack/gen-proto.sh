#!/usr/bin/env bash
# Regenerates the Python protobuf/gRPC stubs in eni/rpc from api/*.proto.
# api/ is mapped to the virtual path eni/rpc so that the generated modules import each other
# as `eni.rpc.<name>_pb2`, with no post-processing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
shopt -s nullglob
protos=(api/*.proto)
if [ ${#protos[@]} -eq 0 ]; then
    echo "no .proto files in api/" >&2
    exit 0
fi
virtual=()
for p in "${protos[@]}"; do virtual+=("eni/rpc/$(basename "$p")"); done
"$PY" -m grpc_tools.protoc --proto_path=eni/rpc=api \
    --python_out=. --pyi_out=. --grpc_python_out=. "${virtual[@]}"
