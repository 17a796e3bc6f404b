#!/bin/bash
# The README's and the docs' `$ p2v ...` examples, run against the sample PC
# that scripts/demo builds, print what the documents show (signatures, GUIDs
# and times masked). A changed output fails here until the document is updated.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
MKPC_SEED=2026  # the files scripts/demo makes, so sizes match the README
source "$P2V_SRC/tests/lib/mkpc.sh"
need python3
mkpc_setup
python3 "$P2V_SRC/tests/lib/docexamples.py" "$P2V_SRC" "$P2V" "$WORK" || fail "documented examples differ from what p2v prints"
sha256sum -c --quiet sources.sum || fail "an example wrote a source disk"
pass "every runnable documented example prints what its document shows"
