#!/usr/bin/env python3
"""Print the longest functions in src/ (issue 17: none over 120 lines).

A function spans from its `fn` line (attributes and doc comments excluded) to the line of
its closing brace, found by counting braces outside strings, chars and comments. Usage:
`python3 ci/longest_functions.py [--top N] [--max L]`; with --max it exits 1 when any
function is longer than L lines, naming them.
"""
import argparse
import pathlib
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")


def strip(line, state):
    """The line with strings, chars and comments blanked; `state` carries block comments
    and raw/normal strings across lines."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if state["block"]:
            if line.startswith("*/", i):
                state["block"] -= 1
                i += 2
            elif line.startswith("/*", i):
                state["block"] += 1
                i += 2
            else:
                i += 1
            continue
        if state["str"] is not None:
            end = state["str"]
            if end == '"' and c == "\\":
                i += 2
                continue
            if line.startswith(end, i):
                state["str"] = None
                i += len(end)
            else:
                i += 1
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = 1
            i += 2
            continue
        m = re.match(r'r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["str"] = '"' + m.group(1)
            i += len(m.group(0))
            continue
        if c == '"':
            state["str"] = '"'
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path):
    lines = path.read_text().splitlines()
    state = {"block": 0, "str": None}
    stack = []  # (name, start_line, depth_at_open)
    pending = None
    depth = 0
    for n, raw in enumerate(lines, 1):
        code = strip(raw, state)
        m = FN.match(code)
        if m:
            pending = (m.group(7), n)
        for c in code:
            if c == "{":
                depth += 1
                if pending:
                    stack.append((pending[0], pending[1], depth))
                    pending = None
            elif c == "}":
                if stack and stack[-1][2] == depth:
                    name, start, _ = stack.pop()
                    yield name, start, n - start + 1
                depth -= 1
            elif c == ";" and pending:
                pending = None  # a declaration without a body
    return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--max", type=int)
    ap.add_argument("root", nargs="?", default="src")
    args = ap.parse_args()
    found = []
    for p in sorted(pathlib.Path(args.root).rglob("*.rs")):
        for name, start, length in functions(p):
            found.append((length, f"{p}:{start}", name))
    found.sort(key=lambda t: (-t[0], t[1]))
    for length, where, name in found[: args.top]:
        print(f"{length:5d}  {where}  {name}")
    if args.max is not None:
        over = [f for f in found if f[0] > args.max]
        if over:
            print(f"{len(over)} function(s) over {args.max} lines", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
