#!/bin/bash
# Every option in `p2v --help` and `p2v COMMAND --help` is documented in
# README.md or docs/, and the documents name no option p2v does not have.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
need python3
python3 "$P2V_SRC/tests/lib/docoptions.py" "$P2V_SRC" "$P2V" || fail "options and documents disagree"
pass "options and documents agree"
