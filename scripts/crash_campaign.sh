#!/usr/bin/env bash
# The crash campaign (issue 32, item 1) at N kills: tests/crash_campaign.rs with
# SARXAI_CRASH_KILLS=N (default 100) and SARXAI_CRASH_SEED=S (default 0). Each kill is a
# SIGKILL of `sarxai reproduce --profile transfer --smoke` (a small copy of MSTAR SOC from
# ../shared/data) at a seeded instant of the uninterrupted run's duration, then a resume;
# the table lists kills, resumes and byte mismatches per stage.
#
# Usage: scripts/crash_campaign.sh [N] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100}"
seed="${2:-0}"
SARXAI_REQUIRE_SHARED=1 SARXAI_CRASH_KILLS="$n" SARXAI_CRASH_SEED="$seed" \
  cargo test --release --test crash_campaign -- --nocapture 2>&1 |
  tee target/crash-campaign.log | sed -n '/^crash campaign:/,/^test /p'
