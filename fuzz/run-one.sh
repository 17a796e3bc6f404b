#!/bin/bash
# Run one libFuzzer harness briefly: replay the committed seed corpus, then
# explore for a few seconds in a scratch copy so the tree is never modified.
# usage: run-one.sh HARNESS CORPUS_DIR WORK_DIR SECONDS
set -euo pipefail
harness=$1 corpus=$2 work=$3 secs=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$corpus" ]; then
    cp -r "$corpus/." "$work/corpus/"
fi
cd "$work"
# leaks inside libraries' own error paths that p2v cannot free (see the file)
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(dirname "$(readlink -f "$0")")/lsan.supp"
exec "$harness" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus"
