#!/usr/bin/env bash
# Checks report.html in a real browser (issue 19): headless Chromium loads the page offline,
# and this script fails when
#   * the page logs anything to the console or raises an error (script errors, resources
#     that fail to load, images that do not decode);
#   * a table is wider than the column it sits in, or the page scrolls sideways at a
#     1280-pixel window;
#   * the page fetches anything that is not a data: URI (it must be self-contained).
# It writes a full-page PNG screenshot (and a PDF print, to check that printing works).
#
# How: a copy of the page gets a small probe script as the first thing in <head>. The probe
# records errors (window 'error' events, capture phase, so failed resources count too;
# console.error/warn) and, on 'load', measures every table against its parent's width, the
# page's scroll width, images' natural sizes and the resources fetched; it writes what it
# found into data-probe-* attributes of <html>. Chromium prints the DOM after load with
# --dump-dom, and this script reads the attributes back. Chromium's own log
# (--enable-logging=stderr --v=0) is scanned too: any CONSOLE line from the page fails. The
# report itself has no script; the probe is only in the checked copy.
#
# Usage: ci/check_report.sh [REPORT.html] [--png OUT.png] [--pdf OUT.pdf] [--height PX]
#   Without REPORT.html it checks the synthetic page of tests/report_html.rs (built with
#   cargo). --height limits the screenshot's height (default: the whole page).
#   Needs `chromium` (Debian: apt-get install -y chromium) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

report=""
png="target/report-check/report.png"
pdf="target/report-check/report.pdf"
height=""
while [ $# -gt 0 ]; do
  case "$1" in
    --png) png="$2"; shift 2 ;;
    --pdf) pdf="$2"; shift 2 ;;
    --height) height="$2"; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) report="$1"; shift ;;
  esac
done

chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$chrome" ]; then
  echo "check_report: chromium is not installed (apt-get install -y chromium); not checked" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$png")" "$(dirname "$pdf")"

if [ -z "$report" ]; then
  report="$work/report.html"
  echo "check_report: rendering the synthetic page of tests/report_html.rs"
  SARXAI_REPORT_HTML_OUT="$report" cargo test --release --quiet --test report_html \
    every_table_has_its_rows_and_no_markdown_leaks >"$work/cargo.log" 2>&1 \
    || { cat "$work/cargo.log"; exit 1; }
fi
[ -s "$report" ] || { echo "check_report: $report is missing or empty" >&2; exit 1; }

probe='<script>(function(){var E=[];function add(m){E.push(String(m).slice(0,300));}
window.addEventListener("error",function(e){var t=e.target;add(t&&t!==window&&(t.src||t.href)?"failed to load "+(t.src||t.href).slice(0,60):"error: "+e.message);},true);
["error","warn"].forEach(function(k){var f=console[k];console[k]=function(){add("console."+k+": "+Array.prototype.join.call(arguments," "));return f.apply(console,arguments);};});
window.addEventListener("load",function(){var O=[],X=[],d=document.documentElement;
document.querySelectorAll("table").forEach(function(t){var p=t.parentElement,tw=t.getBoundingClientRect().width,pw=p.getBoundingClientRect().width;
if(tw>pw+0.5||t.scrollWidth>t.clientWidth+1)O.push((t.id||t.className||"table")+": "+Math.round(tw)+"px in a "+Math.round(pw)+"px column");});
document.querySelectorAll("svg,figure,img").forEach(function(e){var p=e.parentElement;if(e.getBoundingClientRect().right>p.getBoundingClientRect().right+0.5)O.push(e.tagName.toLowerCase()+(e.id?"#"+e.id:"")+" overflows its column");});
if(d.scrollWidth>window.innerWidth+1)O.push("the page is "+d.scrollWidth+"px wide in a "+window.innerWidth+"px window");
Array.prototype.forEach.call(document.images,function(i){if(!i.complete||i.naturalWidth===0)add("image does not decode: "+(i.alt||i.src.slice(0,40)));});
performance.getEntriesByType("resource").forEach(function(r){if(!/^data:/.test(r.name))X.push(r.name);});
d.setAttribute("data-probe-done","1");d.setAttribute("data-probe-errors",JSON.stringify(E));d.setAttribute("data-probe-overflow",JSON.stringify(O));
d.setAttribute("data-probe-external",JSON.stringify(X));d.setAttribute("data-probe-height",String(Math.ceil(d.scrollHeight)));
d.setAttribute("data-probe-tables",String(document.querySelectorAll("table").length));});})();</script>'
python3 - "$report" "$work/probed.html" "$probe" <<'EOF'
import sys
src, dst, probe = sys.argv[1], sys.argv[2], sys.argv[3]
html = open(src, encoding="utf-8").read()
i = html.find("<head>")
if i < 0:
    sys.exit("check_report: no <head> in the page")
i += len("<head>")
open(dst, "w", encoding="utf-8").write(html[:i] + probe + html[i:])
EOF

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-extensions --hide-scrollbars --mute-audio --no-default-browser-check)

run_chrome() { # profile-dir log-file args...
  local prof="$1" log="$2"; shift 2
  timeout 120 "$chrome" "${flags[@]}" --user-data-dir="$prof" \
    --enable-logging=stderr --v=0 "$@" 2>"$log"
}

url="file://$work/probed.html"
run_chrome "$work/p1" "$work/dom.log" --window-size=1280,900 --virtual-time-budget=5000 \
  --dump-dom "$url" >"$work/dom.html" || { cat "$work/dom.log" >&2; echo "check_report: chromium failed" >&2; exit 1; }

status=0
python3 - "$work/dom.html" "$work/dom.log" "$work/result.txt" <<'EOF' || status=1
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
log = open(sys.argv[2], encoding="utf-8", errors="replace").read()
m = re.search(r"<html[^>]*>", dom)
tag = m.group(0) if m else ""
def attr(name):
    a = re.search(name + r'="([^"]*)"', tag)
    return html.unescape(a.group(1)) if a else None
problems = []
if attr("data-probe-done") != "1":
    problems.append("the probe did not run (page did not load?)")
errors = json.loads(attr("data-probe-errors") or "[]")
overflow = json.loads(attr("data-probe-overflow") or "[]")
external = json.loads(attr("data-probe-external") or "[]")
problems += ["console/page error: " + e for e in errors]
problems += ["overflow: " + o for o in overflow]
problems += ["fetched a non-data resource: " + x for x in external]
console = [l for l in log.splitlines() if ":CONSOLE" in l]
problems += ["chromium console: " + l.strip()[:300] for l in console]
height = int(attr("data-probe-height") or "0")
tables = int(attr("data-probe-tables") or "0")
with open(sys.argv[3], "w") as f:
    f.write(f"{height}\n")
print(f"check_report: {tables} tables, page height {height}px at 1280px, "
      f"{len(errors)} errors, {len(overflow)} overflows, {len(external)} external fetches, "
      f"{len(console)} console lines")
for p in problems:
    print("  FAIL " + p)
sys.exit(1 if problems else 0)
EOF

full="$(head -1 "$work/result.txt")"
h="${height:-$full}"
if [ "$h" -gt 16000 ]; then h=16000; fi
if [ "$h" -lt 400 ]; then h=400; fi
# Screenshot of the page as served (without the probe).
cp "$report" "$work/page.html"
run_chrome "$work/p2" "$work/shot.log" --window-size=1280,"$h" --virtual-time-budget=5000 \
  --screenshot="$work/shot.png" "file://$work/page.html" >/dev/null || true
if [ -s "$work/shot.png" ]; then
  cp "$work/shot.png" "$png"
  echo "check_report: screenshot $png (1280 x $h, $(wc -c <"$png") bytes)"
else
  echo "check_report: FAIL no screenshot" >&2; cat "$work/shot.log" >&2; status=1
fi
run_chrome "$work/p3" "$work/pdf.log" --no-pdf-header-footer --print-to-pdf="$work/page.pdf" \
  "file://$work/page.html" >/dev/null || true
if [ -s "$work/page.pdf" ]; then
  cp "$work/page.pdf" "$pdf"
  pages="$(grep -ao '/Count [0-9]*' "$work/page.pdf" | head -1 | cut -d' ' -f2 || true)"
  echo "check_report: print $pdf (${pages:-?} pages)"
else
  echo "check_report: FAIL printing to PDF produced nothing" >&2; cat "$work/pdf.log" >&2; status=1
fi
if [ "$status" -eq 0 ]; then
  echo "check_report: OK"
fi
exit "$status"
