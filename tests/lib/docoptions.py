#!/usr/bin/env python3
"""Every option p2v has is documented, and the documents name no option it lacks.

The options are read from `p2v --help` and each `p2v COMMAND --help`. Each
must appear (as `--name`, or `-x` for an option with no long form) in README.md
or docs/*.md. Each `--name` the documents write must be an option of p2v or be
listed in tests/lib/doc-options-other.txt with the tool it belongs to
(sfdisk, bench/pipeline, ...): a document naming an option p2v does not have
fails here.

usage: docoptions.py SRC_ROOT P2V        exit 0 when both hold, 1 otherwise
"""
import glob
import os
import re
import subprocess
import sys

COMMANDS = [[], ["disks"], ["convert"], ["tui"], ["boot-check"],
            ["img", "info"], ["img", "check"], ["img", "map"], ["img", "compare"],
            ["img", "convert"], ["fleet"], ["plan"]]
LONG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SHORT_ONLY = re.compile(r"^\s{2}(-[a-zA-Z])(?:[ ,]|$)(?!.*--)")


def help_options(p2v):
    longs, shorts = {}, {}
    for cmd in COMMANDS:
        r = subprocess.run([p2v] + cmd + ["--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        text = r.stdout.decode()
        if r.returncode != 0 or not text.strip():
            sys.exit(f"docoptions: 'p2v {' '.join(cmd)} --help' exited {r.returncode}")
        name = "p2v " + " ".join(cmd) if cmd else "p2v"
        for line in text.splitlines():
            for o in LONG.findall(line):
                longs.setdefault(o, name)
            m = SHORT_ONLY.match(line)
            if m:
                shorts.setdefault(m.group(1), name)
    return longs, shorts


def main():
    root, p2v = sys.argv[1:3]
    docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    text = {d: open(d, encoding="utf-8").read() for d in docs}
    alltext = "\n".join(text.values())
    other = {}
    with open(os.path.join(root, "tests", "lib", "doc-options-other.txt"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                opt, _, tool = line.partition(" ")
                if not tool.strip():
                    sys.exit(f"docoptions: doc-options-other.txt:{n}: '{opt}' names no tool")
                other[opt] = tool.strip()
    longs, shorts = help_options(p2v)
    bad = 0
    for opt, cmd in sorted(longs.items()):
        if not re.search(re.escape(opt) + r"(?![\w-])", alltext):
            print(f"FAIL: {opt} ({cmd} --help) is in no document (README.md, docs/*.md)")
            bad += 1
    for opt, cmd in sorted(shorts.items()):
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", alltext):
            print(f"FAIL: {opt} ({cmd} --help) is in no document")
            bad += 1
    for d, t in text.items():
        for n, line in enumerate(t.splitlines(), 1):
            for opt in LONG.findall(line):
                if opt not in longs and opt not in other:
                    print(f"FAIL: {os.path.relpath(d, root)}:{n}: names {opt}, which no p2v command has "
                          "(an option of another tool goes into tests/lib/doc-options-other.txt)")
                    bad += 1
    for opt, tool in sorted(other.items()):
        if opt in longs:
            print(f"FAIL: doc-options-other.txt lists {opt} as {tool}'s, but p2v has it ({longs[opt]})")
            bad += 1
    print(f"{len(longs)} long and {len(shorts)} short-only options of p2v checked against "
          f"{len(docs)} documents; {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
