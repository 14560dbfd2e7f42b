#!/bin/sh
# exports.sh LIBRARY HEADER -- the shared library exports exactly the
# functions the public header declares: none missing (declared but not
# defined, or left out of engine/spinerules.map), none private.
set -eu
lib=$1
header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a declaration starts a line: "<type> sr_name(" (continuations are indented)
grep -E '^[a-z].*\bsr_[a-z0-9_]*\(' "$header" | sed -E 's/.*\b(sr_[a-z0-9_]*)\(.*/\1/' | sort -u > "$tmp/declared"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sed 's/@.*//' | sort -u > "$tmp/exported"
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
  echo "$lib exports what $header does not declare (+) or misses a declared function (-):"
  diff "$tmp/declared" "$tmp/exported" | sed -n 's/^> /+ /p; s/^< /- /p'
  exit 1
fi
echo "ok: $(wc -l < "$tmp/exported") functions exported, those of $(basename "$header")"
