#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR -- cmake --install into a temporary
# prefix; the installed executable, run from another folder, finds its rule
# sets and schemas without flags and gives the build's results; a ten-line C
# program compiles against the installed header and pkg-config file (shared
# and static) and runs, and so does the complete example of docs/api.md; the
# shared library exports the public header's functions and nothing else.
set -euo pipefail
# (no "command | grep -q" under pipefail: grep -q exits at its first match and
# the command, still writing, may die of SIGPIPE; grep reads a here-string)
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name spinerules.pc)")/..
for f in bin/spinerules include/spinerules.h share/man/man1/spinerules.1 \
         share/spinerules/schemas/case.schema.yaml share/spinerules/rules/spine-metastasis-lung/1.0.0/manifest.yaml; do
  test -e "$prefix/$f" || { echo "not installed: $f"; exit 1; }
done
test -e "$libdir/libspinerules.a" || { echo "not installed: libspinerules.a"; exit 1; }
ls "$libdir"/libspinerules.so.* >/dev/null || { echo "not installed: libspinerules.so"; exit 1; }
cd /
"$prefix/bin/spinerules" eval --jobs 1 "$src/docs/examples/cases.yaml" > "$prefix/installed.jsonl"
"$build/spinerules" eval --jobs 1 "$src/docs/examples/cases.yaml" > "$prefix/built.jsonl"
cmp "$prefix/installed.jsonl" "$prefix/built.jsonl"
"$prefix/bin/spinerules" verify > /dev/null
grep -q "spine-metastasis-lung 1.0.0" <<<"$("$prefix/bin/spinerules" rules)"
cat > "$prefix/ten.c" <<'C'
#include <spinerules.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    sr_engine_t *e = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    if (sr_engine_open(&e, argv[1], &d) != SR_OK) { sr_diag_print(&d, stderr); return 1; }
    printf("%s %s %s\n", SR_VERSION, sr_engine_ruleset_name(e), sr_engine_ruleset_version(e));
    sr_engine_close(e);
    return 0;
}
C
export PKG_CONFIG_PATH="$libdir/pkgconfig"
rules="$prefix/share/spinerules/rules/spine-metastasis-lung/1.0.0"
cc -std=c11 -Wall -Werror "$prefix/ten.c" -o "$prefix/ten" $(pkg-config --cflags --libs spinerules)
grep -qx "0.1.0 spine-metastasis-lung 1.0.0" <<<"$(LD_LIBRARY_PATH="$libdir" "$prefix/ten" "$rules")"
cc -std=c11 -Wall -Werror "$prefix/ten.c" -o "$prefix/ten-static" -static-libgcc \
   $(pkg-config --cflags spinerules) "$libdir/libspinerules.a" $(pkg-config --static --libs-only-l spinerules | sed 's/-lspinerules//')
grep -qx "0.1.0 spine-metastasis-lung 1.0.0" <<<"$("$prefix/ten-static" "$rules")"
grep -q "libspinerules.so" <<<"$(ldd "$prefix/ten")" || { echo "ten is not linked to the shared library"; exit 1; }
# --version names the installed default rule set
grep -qx "folder:   $(realpath "$prefix")/share/spinerules/rules/spine-metastasis-lung/1.0.0" <<<"$("$prefix/bin/spinerules" --version)" \
  || { echo "--version does not name the installed rule set"; "$prefix/bin/spinerules" --version; exit 1; }
# the installed shared library exports the installed header's functions, no more
"$src/tests/api/exports.sh" "$(ls "$libdir"/libspinerules.so.*.*.*)" "$prefix/include/spinerules.h" >/dev/null
# the complete example of docs/api.md, built against the installed header and
# pkg-config file (shared library), prints what the page shows
cmake -DIN="$src/docs/api.md" -DMARK=api_example.c -DOUT="$prefix/api_example.c" -P "$src/cmake/doc_block.cmake"
cc -std=c11 -Wall -Wextra -Werror "$prefix/api_example.c" -o "$prefix/api_example" $(pkg-config --cflags --libs spinerules)
LD_LIBRARY_PATH="$libdir" cmake -DEXE="$prefix/api_example" -DARGS="$rules" -DDOC="$src/docs/api.md" \
  -DMARK=api_example.out -P "$src/tests/api/run_example.cmake" >/dev/null
echo "ok: installed, run from /, ten-line program built (shared and static) and run, docs/api.md's example built and run"
