#!/usr/bin/env bash
# Vendor Mermaid from its npm package into web/static/web/vendor/mermaid/, so the
# docs pages draw diagrams with a file this app serves (no CDN). The IIFE build
# dist/mermaid.min.js is one self-contained file: it loads no chunks at runtime.
# Usage: scripts/vendor_mermaid.sh [version]   (default: the version in README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
target=web/static/web/vendor/mermaid
version=${1:-$(sed -n 's/^Version: \([0-9.]*\)$/\1/p' "$target/README.md")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mermaid@$version" >/dev/null && tar xzf "mermaid-$version.tgz")
bundle="$work/package/dist/mermaid.min.js"
# The bundle must not fetch anything else: no dynamic import, no source map.
if grep -q -e 'import(' -e 'sourceMappingURL' "$bundle"; then
  echo "mermaid $version's mermaid.min.js loads other files; vendor them too" >&2
  exit 1
fi
mkdir -p "$target"
cp "$bundle" "$target/mermaid.min.js"
cp "$work/package/LICENSE" "$target/LICENSE.txt"
sed -i "s/^Version: .*/Version: $version/" "$target/README.md"
echo "Vendored mermaid $version into $target"
