#!/usr/bin/env python3
"""Run the `$ p2v ...` examples of README.md and docs/*.md and compare their output.

An example is a line `$ p2v ARGS` inside a fenced block (``` or an indented
block); the lines after it, up to the next `$ ` line or the end of the block,
are what it prints (stdout and stderr, in the order a terminal shows them).
Examples run in order, per document, in one work directory that holds the
sample PC of scripts/demo (disk1.img, disk2.img), so a later example may use an
earlier one's output (pc.qcow2). What changes by nature is masked on both
sides before the comparison: disk signatures, GUIDs, times, rates.

A block that cannot run against the sample PC is preceded by a comment
`<!-- example: not run: REASON -->` (a reason is required); it is listed, not run.

usage: docexamples.py SRC_ROOT P2V WORKDIR      exit 0 all equal, 1 otherwise
"""
import glob
import os
import re
import shlex
import subprocess
import sys

NOT_RUN = re.compile(r"<!--\s*example:\s*not run:\s*(.*?)\s*-->")
MASKS = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "GUID"),
    (re.compile(r"\b0x[0-9a-f]{8}\b", re.I), "0xSIGNATURE"),
    (re.compile(r"\b\d+(\.\d+)? s\b"), "T s"),
    (re.compile(r"\b\d+(\.\d+)? [KMG]iB/s\b"), "RATE"),
]


def mask(line):
    for pat, rep in MASKS:
        line = pat.sub(rep, line)
    return re.sub(r"\s+", " ", line).strip()


def blocks(text):
    """Yield (line number, lines of the block, reason it is not run or None)."""
    lines = text.splitlines()
    i, pending = 0, None
    while i < len(lines):
        line = lines[i]
        m = NOT_RUN.search(line)
        if m:
            pending = m.group(1)
            i += 1
            continue
        if line.lstrip().startswith("```"):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            yield start + 1, body, pending
            pending = None
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            yield start + 1, body, pending
            pending = None
            continue
        elif line.strip():
            pending = pending if line.lstrip().startswith("<!--") else None
        i += 1


def examples(body):
    """Split a block into (offset, command, expected lines) for its `$ p2v` lines."""
    out, cur = [], None
    for n, line in enumerate(body):
        s = line.strip()
        if s.startswith("$ "):
            cur = None
            if s.startswith("$ p2v ") or s == "$ p2v":
                cur = (n, s[2:], [])
                out.append(cur)
        elif cur is not None:
            cur[2].append(line)
    for n, cmd, exp in out:
        while exp and not exp[-1].strip():
            exp.pop()
    return out


def run(cmd, p2v, cwd):
    argv = shlex.split(cmd)
    argv[0] = p2v
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=300)
    return r.returncode, r.stdout.decode("utf-8", "replace").splitlines()


def main():
    root, p2v, work = sys.argv[1:4]
    docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    ran = bad = skipped = 0
    for doc in docs:
        rel = os.path.relpath(doc, root)
        for start, body, reason in blocks(open(doc, encoding="utf-8").read()):
            for off, cmd, expected in examples(body):
                where = f"{rel}:{start + off}"
                if reason is not None:
                    if not reason:
                        print(f"FAIL: {where}: 'example: not run' without a reason")
                        bad += 1
                    else:
                        print(f"not run: {where}: {cmd}  ({reason})")
                        skipped += 1
                    continue
                rc, got = run(cmd, p2v, work)
                ran += 1
                want_m = [mask(l) for l in expected if l.strip()]
                got_m = [mask(l) for l in got if l.strip()]
                if want_m != got_m:
                    bad += 1
                    print(f"FAIL: {where}: `{cmd}` (exit {rc}) prints other text than the doc shows:")
                    for l in expected:
                        print(f"  doc | {l}")
                    for l in got:
                        print(f"  now | {l}")
                else:
                    print(f"ok: {where}: {cmd}")
    print(f"{ran} examples run, {bad} differ or are malformed, {skipped} marked not run")
    return 1 if bad or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
