#!/usr/bin/env bash
# Builds the pinned Pulumi CLI, the Python language host and the two helper scripts into $1 (.tools/bin).
# The versions come from go.mod/go.sum beside this script; the Go module and build caches make rebuilds cheap.
set -euo pipefail
out=${1:?usage: build.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
mkdir -p "$out"

version=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
sdk_dir=$(go mod download -json github.com/pulumi/pulumi/sdk/v3 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${version}"

echo "building the Pulumi CLI ${version} and its Python language host into ${out} (with empty Go caches: ~6 min on 2 cores)"
go build -trimpath -ldflags "$ldflags" -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
go build -trimpath -ldflags "$ldflags" -o "$out/pulumi-language-python" ./cmd/pulumi-language-python

# The scripts the CLI distribution ships beside its binaries.
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$out/pulumi-resource-pulumi-python"
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
"$out/pulumi" version
