#!/usr/bin/env bash
# Writes third_party/ from the Go module cache: upstream modules, each with
# its patch in third_party/patches (go-plugin and thrift import the testing
# package from a non-test file, and the quiver binary and the connector
# plugins must not link testing; jsonschema compiles five drafts' metaschemas
# at every process start). go.mod replaces the modules with these copies.
# See third_party/README.md.
#
#   scripts/third-party.sh          rewrite third_party/<module>/
#   scripts/third-party.sh --check  fail if third_party/ differs from what it would write
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
if [[ ${1:-} == --check ]]; then
	check=true
fi
out=third_party
if $check; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

# vendor MODULE@VERSION DEST DIR [EXTRA...]: copies the module's go.mod,
# go.sum and licence files, the non-test Go files under DIR outside
# examples/, test/ and docs/, and the files under each EXTRA folder
# (files a package embeds), then applies third_party/patches/DEST.patch
# inside DEST/DIR.
vendor() {
	local mod=$1 name=$2 dest=$out/$2 dir=$3 src
	shift 3
	src=$(go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ -z $src ]]; then
		echo "third-party: go mod download $mod gave no folder" >&2
		exit 1
	fi
	rm -rf "$dest"
	mkdir -p "$dest"
	dest=$(cd "$dest" && pwd)
	(cd "$src" && {
		find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name LICENSE -o -name NOTICE \) -print0
		find "$dir" -type f -name '*.go' ! -name '*_test.go' \
			! -path './examples/*' ! -path './test/*' ! -path './docs/*' -print0
		for extra in "$@"; do
			find "$extra" -type f -print0
		done
	}) |
		(cd "$src" && xargs -0 cp --parents -t "$dest")
	chmod -R u+w "$dest"
	patch --quiet --no-backup-if-mismatch -d "$dest/$dir" -p1 <"third_party/patches/$name.patch"
}

vendor github.com/hashicorp/go-plugin@v1.8.0 go-plugin .
vendor github.com/apache/thrift@v0.24.0 thrift lib/go/thrift
vendor github.com/santhosh-tekuri/jsonschema/v6@v6.0.3 jsonschema . metaschemas

if $check; then
	for m in go-plugin thrift jsonschema; do
		if ! diff -r "$out/$m" "third_party/$m" >/dev/null; then
			echo "third-party: third_party/$m differs from upstream plus third_party/patches/$m.patch; run scripts/third-party.sh" >&2
			exit 1
		fi
	done
fi
