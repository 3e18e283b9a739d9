#!/usr/bin/env bash
# The README's cluster recipe on a real scheduler (issue 31, item 3).
#
# What it checks: `sarxai score --shard I/N` run as the N tasks of a Slurm array job, then
# `sarxai merge` as a job that depends on the array (--dependency=afterok), gives exactly
# what one `sarxai score` process gives: every output file byte-identical (cmp), except
# timings.csv (wall-clock seconds), whose (image, method) rows must be the same. It also
# checks that Slurm ran N array tasks and the merge job, all COMPLETED with exit code 0:0.
#
# How: a private single-node Slurm on this machine (Debian's slurmctld, slurmd,
# slurm-client and munge, installed with apt-get when missing): munged, slurmctld and slurmd
# run as children of this script with their sockets, state, spool, pid and log files in the
# work directory, and are stopped on exit, success or not. The system's /etc/slurm and
# /etc/munge are read (the munge key is copied), never written. The model is a tiny
# ResNet-18 trained for one epoch on 32-pixel synthetic data; the score is all eight methods
# and all metrics on one test image per class (10 images) on CPU with one thread.
#
# Run (as root, on Debian or Ubuntu; no GPU, no network once the packages are installed):
#   bash ci/slurm_shards.sh                       # binary target/release/sarxai, 4 shards
#   SARXAI=/path/to/sarxai SHARDS=3 bash ci/slurm_shards.sh
#   bash ci/slurm_shards.sh --bin /path/to/sarxai --shards 3 --work /tmp/slurm-check
# Needs: a built sarxai (this script builds nothing) and the libtorch it links (the .venv of
# ci/bootstrap.sh is put on LD_LIBRARY_PATH when present); root; apt-get (or slurmctld,
# slurmd, sbatch and munged already installed); ports 6817-6818 free (no other Slurm here).
# Takes about two minutes on 2 cores. Prints one line per array task and ends with
# "slurm shards: PASS ..." (exit 0) or "slurm shards: FAIL: <what failed>" (exit 1).
# The work directory (default: a new /tmp/sarxai-slurm.XXXXXX) is kept for inspection.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

SARXAI=${SARXAI:-target/release/sarxai}
SHARDS=${SHARDS:-4}
WORK=${WORK:-}
TIMEOUT_S=${TIMEOUT_S:-1800} # the most seconds the jobs may take once submitted
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) SARXAI=$2; shift 2 ;;
    --shards) SHARDS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "slurm shards: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

t0=$SECONDS
stage="checking the prerequisites"
pids=()   # daemons this script started (slurmd, slurmctld), stopped on exit
munged_started=""
jobs_submitted=()
failed_msg=""

say() { echo "slurm shards: $*"; }
fail() {
  failed_msg="$*"
  exit 1
}

stop_daemons() {
  if [[ ${#jobs_submitted[@]} -gt 0 ]] && command -v scancel >/dev/null; then
    scancel "${jobs_submitted[@]}" 2>/dev/null || true
  fi
  # slurmd first (it ends its job steps), then slurmctld, then munged.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.2; done
    kill -9 "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [[ -n $munged_started ]]; then
    runuser -u munge -- "$(command -v munged)" --stop --socket="$munged_started" >/dev/null 2>&1 || true
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT
  stop_daemons
  if [[ $rc -ne 0 ]]; then
    [[ -z $failed_msg ]] && failed_msg="$stage failed (exit status $rc)"
    if [[ -n ${W:-} && -d $W/slurm/log ]]; then
      for f in "$W"/slurm/log/*.log; do
        [[ -f $f ]] && { echo "---- last lines of $f"; tail -n 12 "$f"; }
      done
      for f in "$W"/logs/*.out; do
        [[ -f $f ]] && { echo "---- last lines of $f"; tail -n 3 "$f"; }
      done
    fi
    say "FAIL: $failed_msg (after $((SECONDS - t0)) s; work directory ${W:-none})"
    exit 1
  fi
}
trap on_exit EXIT
trap 'failed_msg="interrupted by a signal during: $stage"; exit 130' INT TERM HUP

# ---- prerequisites --------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || fail "must run as root (it starts munged, slurmctld and slurmd)"
[[ $SHARDS =~ ^[1-9][0-9]*$ ]] || fail "SHARDS must be a positive integer, not '$SHARDS'"
[[ -x $SARXAI ]] || fail "no sarxai binary at $SARXAI (build it first, or pass --bin PATH / SARXAI=PATH)"
if [[ -d .venv/lib/python3.11/site-packages/torch/lib ]]; then
  export LD_LIBRARY_PATH="$repo/.venv/lib/python3.11/site-packages/torch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

need=(slurmctld slurmd sbatch scontrol sinfo munged munge)
missing=()
for c in "${need[@]}"; do command -v "$c" >/dev/null || missing+=("$c"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  stage="installing slurmctld, slurmd, slurm-client and munge with apt-get (missing: ${missing[*]})"
  say "$stage"
  command -v apt-get >/dev/null || fail "apt-get not found: install Slurm (slurmctld, slurmd, slurm-client) and munge yourself"
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(slurmctld slurmd slurm-client munge)
  apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null; } ||
    fail "apt-get install ${pkgs[*]} failed"
fi
for d in slurmctld slurmd; do
  if pgrep -x "$d" >/dev/null; then
    fail "a $d is already running here (pid $(pgrep -x "$d" | tr '\n' ' ')): this script needs its own Slurm"
  fi
done
[[ -r /etc/munge/munge.key ]] || fail "no /etc/munge/munge.key (the munge package's postinst creates it)"

if [[ -z $WORK ]]; then
  W=$(mktemp -d /tmp/sarxai-slurm.XXXXXX)
else
  W=$(realpath -m "$WORK")
  [[ ! -e $W || -z $(ls -A "$W") ]] || fail "work directory $W is not empty"
  mkdir -p "$W"
fi
chmod 755 "$W"
mkdir -p "$W/bin" "$W/logs" "$W/scores/vh" "$W/slurm/state" "$W/slurm/spool" "$W/slurm/log"
# A private copy: a rebuild of the tree's binary during the run cannot mix two builds.
cp "$SARXAI" "$W/bin/sarxai"
B=$W/bin/sarxai
"$B" --version >/dev/null 2>&1 || fail "$SARXAI does not run (libtorch not found? run ci/bootstrap.sh, or set LD_LIBRARY_PATH)"
say "$("$B" --version), $SHARDS shards, work directory $W"

# ---- a small trained run and the one-process reference ---------------------------------
# Absolute paths: the run's config.yaml records the data directory as given.
stage="making the synthetic data and training the small run"
"$B" data synth --out "$W/data" --seed 1 --per-class 8 --size 32 >"$W/logs/synth.out" 2>&1
"$B" train --data "$W/data" --pol vh --size 32 --epochs 1 --batch-size 8 --seed 4 \
  --device cpu --threads 1 --quiet --out "$W/runs/vh" >"$W/logs/train.out" 2>&1
say "trained $W/runs/vh ($(grep -o 'model hash: .*' "$W/logs/train.out"))"

# The options every scoring process uses (one process and each shard: same device, threads).
score_opts="--run $W/runs/vh --per-class 1 --device cpu --threads 1 --quiet"
stage="scoring in one process"
ts=$SECONDS
# shellcheck disable=SC2086
"$B" score $score_opts --out "$W/scores/vh/one-process" >"$W/logs/one-process.out" 2>&1
say "one process: $W/scores/vh/one-process in $((SECONDS - ts)) s"

# ---- a single-node Slurm ---------------------------------------------------------------
stage="starting munged"
mkdir -m 755 "$W/munge"
cp /etc/munge/munge.key "$W/munge/munge.key"
chown -R munge:munge "$W/munge"
chmod 600 "$W/munge/munge.key"
sock=$W/munge/munge.socket
runuser -u munge -- "$(command -v munged)" --socket="$sock" --key-file="$W/munge/munge.key" \
  --log-file="$W/munge/munged.log" --pid-file="$W/munge/munged.pid" \
  --seed-file="$W/munge/munged.seed" || fail "munged did not start ($W/munge/munged.log)"
munged_started=$sock
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null || fail "munge credentials do not round-trip"

stage="writing slurm.conf"
node_line=$(slurmd -C | head -n 1) # NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..
node=${node_line#NodeName=}
node=${node%% *}
export SLURM_CONF=$W/slurm/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Single-node Slurm of ci/slurm_shards.sh: no cgroups, no accounting database.
ClusterName=sarxai-ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$W/slurm/state
SlurmdSpoolDir=$W/slurm/spool
SlurmctldPidFile=$W/slurm/slurmctld.pid
SlurmdPidFile=$W/slurm/slurmd.pid
SlurmctldLogFile=$W/slurm/log/slurmctld.log
SlurmdLogFile=$W/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# A merge whose array failed is cancelled instead of pending forever.
DependencyParameters=kill_invalid_depend
# Finished jobs stay visible to scontrol (no accounting database for sacct).
MinJobAge=3600
ReturnToService=2
KillWait=5
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

stage="starting slurmctld and slurmd"
slurmctld -D >"$W/slurm/log/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -N "$node" >"$W/slurm/log/slurmd.stdout" 2>&1 &
pids+=($!)
stage="waiting for node $node to be idle"
state=""
for _ in $(seq 120); do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a Slurm daemon (pid $p) exited during start-up"; done
  state=$(sinfo -h -N -n "$node" -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 0.5
done
[[ $state == idle ]] || fail "node $node is '${state:-unreachable}', not idle, after 60 s"
say "Slurm $(sinfo -V | cut -d' ' -f2) up: $(sinfo -h -o '%P %D node(s) %c CPUs %t')"

# ---- the README's array job and the dependent merge -------------------------------------
stage="submitting the jobs"
cat >"$W/score-array.sh" <<EOF
#!/bin/bash
#SBATCH --job-name=sarxai-score
#SBATCH --array=0-$((SHARDS - 1))
#SBATCH --cpus-per-task=1
#SBATCH --output=$W/logs/score-%A_%a.out
set -euo pipefail
'$B' score $score_opts \\
  --shard \$SLURM_ARRAY_TASK_ID/$SHARDS --out '$W/scores/vh/shard-'\$SLURM_ARRAY_TASK_ID
EOF
cd "$W"
array=$(sbatch --parsable "$W/score-array.sh") || fail "sbatch of the array job refused"
array=${array%%;*}
jobs_submitted+=("$array")
merge=$(sbatch --parsable --job-name=sarxai-merge --dependency=afterok:"$array" \
  --output="$W/logs/merge-%j.out" \
  --wrap "'$B' merge '$W/scores/vh/all' '$W'/scores/vh/shard-*") ||
  fail "sbatch of the merge job refused"
merge=${merge%%;*}
jobs_submitted+=("$merge")
cd "$repo"
say "submitted array job $array (tasks 0-$((SHARDS - 1))) and merge job $merge (afterok:$array)"

stage="waiting for the jobs"
ts=$SECONDS
mstate=""
while :; do
  mstate=$(scontrol show job -o "$merge" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 || true)
  [[ -n $mstate ]] || fail "scontrol does not know the merge job $merge"
  # kill_invalid_depend cancels such a merge within seconds; do not wait for it.
  if scontrol show job -o "$merge" | grep -q 'Reason=DependencyNeverSatisfied'; then
    mstate=DEPENDENCY_NEVER_SATISFIED
    break
  fi
  case $mstate in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;;
  esac
  ((SECONDS - ts < TIMEOUT_S)) || fail "the merge job is still $mstate after $TIMEOUT_S s"
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a Slurm daemon (pid $p) died while the jobs ran"; done
  sleep 2
done
say "jobs done in $((SECONDS - ts)) s"

# ---- what Slurm ran --------------------------------------------------------------------
stage="reading the job records"
field() { { grep -o "\b$1=[^ ]*" <<<"$2" || true; } | head -n 1 | cut -d= -f2-; }
ok_tasks=0
seen=0
while IFS= read -r rec; do
  [[ -n $rec ]] || continue
  seen=$((seen + 1))
  id=$(field ArrayTaskId "$rec")
  st=$(field JobState "$rec")
  ec=$(field ExitCode "$rec")
  log=$W/logs/score-${array}_$id.out
  shard_line=$(grep -m1 -o "shard $id/$SHARDS:.*" "$log" 2>/dev/null || echo "(no 'shard $id/$SHARDS:' line in $log)")
  echo "  array task $id: job ${array}_$id (JobId=$(field JobId "$rec")) $st exit $ec node $(field NodeList "$rec") start $(field StartTime "$rec") run $(field RunTime "$rec") | $shard_line"
  [[ $st == COMPLETED && $ec == 0:0 ]] && ok_tasks=$((ok_tasks + 1))
done < <(scontrol show job -o "$array" | sed -n 's/.*\bArrayTaskId=\([^ ]*\).*/\1\t&/p' | sort -n | cut -f2-)
mrec=$(scontrol show job -o "$merge")
mec=$(field ExitCode "$mrec")
echo "  merge: job $merge $mstate exit $mec dependency afterok:$array start $(field StartTime "$mrec") run $(field RunTime "$mrec") | $(grep -m1 -o 'merged .*' "$W/logs/merge-$merge.out" 2>/dev/null || echo "(no 'merged' line in $W/logs/merge-$merge.out)")"
[[ $seen -eq $SHARDS ]] || fail "Slurm shows $seen array task(s), expected $SHARDS"
[[ $ok_tasks -eq $SHARDS ]] || fail "$((SHARDS - ok_tasks)) of $SHARDS array task(s) did not complete with exit 0:0"
[[ $mstate == COMPLETED && $mec == 0:0 ]] || fail "the merge job ended $mstate (exit $mec), see $W/logs/merge-$merge.out"

# ---- merged == one process -------------------------------------------------------------
stage="comparing the merged output with the one-process output"
one=$W/scores/vh/one-process
all=$W/scores/vh/all
one_files=$(cd "$one" && ls -A)
all_files=$(cd "$all" && ls -A)
[[ $one_files == "$all_files" ]] ||
  fail "different files: one process has [$(tr '\n' ' ' <<<"$one_files")], merged has [$(tr '\n' ' ' <<<"$all_files")]"
same=0
for f in $one_files; do
  if [[ $f == timings.csv ]]; then
    # Wall-clock seconds differ; the (image, method) rows must not.
    if cmp -s <(cut -d, -f1,2 "$one/$f") <(cut -d, -f1,2 "$all/$f"); then
      echo "  same rows   $f ((image, method) keys; seconds differ by design)"
    else
      fail "timings.csv rows differ between $one and $all"
    fi
  elif cmp "$one/$f" "$all/$f"; then
    echo "  identical   $f ($(wc -c <"$one/$f") bytes, sha256 $(sha256sum "$one/$f" | cut -c1-16))"
    same=$((same + 1))
  else
    fail "$f differs between $one and $all"
  fi
done
stage="stopping the daemons"
say "PASS: $SHARDS array tasks COMPLETED, merge job COMPLETED, $same files byte-identical to one process (+ timings.csv rows), $((SECONDS - t0)) s in all"
