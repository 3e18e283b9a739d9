#!/usr/bin/env python3
"""The "Reliability" table of REPRODUCE.md, generated from the tests' names.

Every test in the files below that exercises bad input (corrupt, truncated or mistyped
files, impossible allocations, read-only or busy directories, interrupted runs) becomes
one row: the test's name as a sentence (it states the bad input and what sarxai does),
the first paragraph of its doc comment when it has one, and where it lives.

    python3 scripts/reliability_table.py            # print the table
    python3 scripts/reliability_table.py --write    # replace the table in REPRODUCE.md
    python3 scripts/reliability_table.py --check    # exit 1 when REPRODUCE.md is stale
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [
    "tests/cli_bad_input.rs",
    "tests/bad_bytes_props.rs",
    "tests/data_bad_input.rs",
    "tests/data_decode_props.rs",
    "tests/train_cli.rs",
    "tests/claims_quick.rs",
    "tests/run_locks.rs",
    "tests/crash_campaign.rs",
    "tests/interrupt.rs",
    "tests/write_faults.rs",
    "tests/alloc_faults.rs",
    "src/npy.rs",
    "src/io.rs",
    "src/cli/guard.rs",
]
# Tests in those files that check good behaviour rather than bad input.
SKIP = {"utc_timestamps_follow_the_calendar", "the_corpus_decodes", "valid_images_round_trip", "sha256_of_abc_is_the_fips_vector"}
BEGIN = "<!-- reliability-table:begin (scripts/reliability_table.py --write) -->"
END = "<!-- reliability-table:end -->"

TEST = re.compile(
    r"((?:[ \t]*///[^\n]*\n)*)"  # doc comment
    r"((?:[ \t]*#\[cfg_attr\((?:[^()]|\([^()]*\))*\)\]\n|[ \t]*#\[[^\n]*\n)*)"  # attributes
    r"[ \t]*fn ([a-z0-9_]+)\s*\(",
)


def tests(path):
    text = (ROOT / path).read_text()
    for m in TEST.finditer(text):
        doc, attrs, name = m.group(1), m.group(2), m.group(3)
        # proptest! bodies: `#[test] fn name(arg in strategy)`.
        if "#[test]" not in attrs:
            continue
        if name in SKIP:
            continue
        # The first paragraph of the doc comment.
        para = []
        for line in doc.splitlines():
            line = line.strip().removeprefix("///").strip()
            if not line:
                if para:
                    break
                continue
            para.append(line)
        yield name, " ".join(para)


def table():
    rows = ["| Bad input, and what sarxai does (test name) | Detail | Test |", "|---|---|---|"]
    for src in SOURCES:
        for name, doc in tests(src):
            sentence = name.replace("_", " ")
            sentence = sentence[0].upper() + sentence[1:]
            doc = doc.replace("|", "\\|")
            rows.append(f"| {sentence} | {doc} | `{src}::{name}` |")
    return "\n".join(rows) + "\n"


def main():
    md = ROOT / "REPRODUCE.md"
    t = table()
    if len(sys.argv) == 1:
        sys.stdout.write(t)
        return 0
    text = md.read_text()
    if BEGIN not in text or END not in text:
        print(f"{md}: markers {BEGIN!r} ... {END!r} not found", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + t + END + tail
    if sys.argv[1] == "--check":
        if new != text:
            print("REPRODUCE.md's reliability table is stale: run scripts/reliability_table.py --write", file=sys.stderr)
            return 1
        return 0
    if sys.argv[1] == "--write":
        md.write_text(new)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
