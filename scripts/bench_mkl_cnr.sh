#!/usr/bin/env bash
# What MKL's conditional numerical reproducibility costs (src/mkl.rs, issue 32 item 0):
# the same `sarxai score` command timed with MKL_CBWR=AUTO (sarxai's default) and with MKL's
# default (SARXAI_MKL=default: CNR off), alternating, in one run; prints each time, the
# medians and their ratio (compare ratios: this machine is shared and noisy).
#
#   scripts/bench_mkl_cnr.sh RUN/vh [ROUNDS] [-- extra score arguments]
# e.g. scripts/bench_mkl_cnr.sh runs/quick/vh 3 -- --methods saliency,grad-cam,integrated-gradients
set -euo pipefail
run="${1:?usage: scripts/bench_mkl_cnr.sh RUN/POL [ROUNDS] [-- score arguments]}"
rounds="${2:-3}"
shift $(( $# >= 2 ? 2 : 1 ))
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
[[ ${#extra[@]} -gt 0 ]] || extra=(--methods saliency,grad-cam,integrated-gradients)
bin="$(cd "$(dirname "$0")/.." && pwd)/target/release/sarxai"
[[ -x "$bin" ]] || { echo "build first: cargo build --release" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A times
for r in $(seq 1 "$rounds"); do
  for mode in cnr default; do
    env_mode=()
    [[ $mode == default ]] && env_mode=(SARXAI_MKL=default)
    start=$(date +%s.%N)
    env "${env_mode[@]}" "$bin" score --run "$run" --per-class 1 --device cpu "${extra[@]}" \
      --out "$tmp/$mode-$r" >/dev/null 2>&1
    t=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')
    times[$mode]+="$t "
    printf 'round %d  %-7s %8.2f s\n' "$r" "$mode" "$t"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cnr=$(echo "${times[cnr]}" | median)
def=$(echo "${times[default]}" | median)
printf 'median: MKL_CBWR=AUTO %.2f s, MKL default (CNR off) %.2f s, ratio %.3f\n' "$cnr" "$def" "$(awk -v a="$cnr" -v b="$def" 'BEGIN { print a / b }')"
