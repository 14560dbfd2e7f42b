#!/usr/bin/env bash
# html_report.sh BINARY SOURCE_DIR -- the HTML report of the example cases,
# rendered by a real browser (Debian's headless Chromium): the rendered DOM
# must hold the expected text of case P-0001 (the SPEC example), and a
# screenshot is taken (kept in $SR_REPORT_DIR when set, to look at).
# Exit 77 (skipped) only when chromium is not installed; tools/bootstrap
# installs it, so CI runs this test.
set -euo pipefail
bin=$1
src=$2
if ! command -v chromium >/dev/null; then
  echo "SKIP: chromium is not installed (tools/bootstrap installs it: apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${SR_REPORT_DIR:-$work}
"$bin" eval --format html --lang fr "$src/docs/examples/cases.yaml" > "$work/report.html"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$work/profile")
timeout 120 chromium "${flags[@]}" --dump-dom "file://$work/report.html" > "$work/dom.html" 2> "$work/chromium.log"
timeout 120 chromium "${flags[@]}" --window-size=1000,2400 --screenshot="$out/report.png" \
  "file://$work/report.html" >> "$work/chromium.log" 2>&1
/usr/bin/python3 - "$work/dom.html" "$out/report.png" <<'PY'
import html.parser, re, struct, sys
dom, png = sys.argv[1], sys.argv[2]

class Text(html.parser.HTMLParser):
    """The text of every article, by id, as the browser's DOM holds it."""
    def __init__(self):
        super().__init__()
        self.articles, self.cur, self.depth = {}, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            self.cur, self.depth = a.get("id"), 0
            self.articles[self.cur] = []
        if self.cur and tag in ("tr", "p", "h2", "h3", "li", "br"):
            self.articles[self.cur].append("\n")
        if self.cur and tag == "td":
            self.articles[self.cur].append(" | ")
    def handle_endtag(self, tag):
        if tag == "article":
            self.cur = None
    def handle_data(self, data):
        if self.cur:
            self.articles[self.cur].append(data)

p = Text()
p.feed(open(dom, encoding="utf-8").read())
assert len(p.articles) == 12, f"expected 12 cards, found {len(p.articles)}"
lines = [re.sub(r"\s+", " ", l).strip(" |") for l in "".join(p.articles["case-P-0001"]).split("\n")]
lines = [l for l in lines if l]
expected = [
    "Cas P-0001",
    "Recommandation : Bénéfice d'une chirurgie très peu probable",
    "Motif : Lecture chirurgicale du score de Tokuhashi (limites : tokuhashi.lua) (section 4.4, Tableau 11)",
    "D2 | Déambulation mais avec des signes neurologiques : avec canne | incomplete",
    "Score SINS (Spinal Instability Neoplastic Score) — T12 (Tableau 10)",
    "Localisation | Charnières (C0-C2, C7-T2, T11-L1, L5-S1) | 3",
    "Total | 11",
    "potentiellement instable | 7-12",
    "Total | 4",
    "survie de moins de 6 mois | <= 8",
    "Tumeur disséminée avec des métastases viscérales (hépatiques, pulmonaires) ou cérébrales (section 5) | relative | présente",
    "Données non renseignées : aucune",
    "Scanner avec au moins une reconstruction osseuse sagittale (section 2) | manquant",
]
pos = 0
for want in expected:
    try:
        pos = lines.index(want, pos) + 1
    except ValueError:
        print("rendered text of P-0001:\n" + "\n".join(lines), file=sys.stderr)
        sys.exit(f"not found in order: {want!r}")
# the matched rows are highlighted: the DOM keeps their class
assert dom and '<tr class="match"><td>Normal</td>' in open(dom, encoding="utf-8").read()
head = open(png, "rb").read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
w, h = struct.unpack(">II", head[16:24])
assert (w, h) == (1000, 2400), (w, h)
print(f"ok: 12 cards, {len(expected)} lines of P-0001 in order, screenshot {w}x{h}")
PY
