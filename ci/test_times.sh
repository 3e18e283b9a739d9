#!/usr/bin/env bash
# Seconds per test binary (issue 31, item 5) from a `cargo test` log: cargo prints
# "Running tests/x.rs (...)" before each binary and "test result: ... finished in S s" after
# it. Prints one line per binary, longest first, and the total, so that the gate's budget
# (60 minutes on the 2-core CI machine) can be kept binary by binary.
# Run: bash ci/test_times.sh target/ci-test.log
set -euo pipefail
log=${1:?usage: ci/test_times.sh CARGO_TEST_LOG}
awk '
  /^ *Running / { name = $2; if (name == "unittests") name = $3 }
  /^ *Doc-tests / { name = "doc-tests " $2 }
  /^test result: / {
    for (i = 1; i <= NF; i++) if ($i == "in") { s = $(i + 1); sub(/s$/, "", s) }
    printf "%10.1f s  %s\n", s, name
  }
' "$log" | sort -rn | awk '{ print; total += $1 } END { printf "%10.1f s  all test binaries\n", total }'

