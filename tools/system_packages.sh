#!/usr/bin/env bash
# The Debian packages the tests need beyond Python's, installed only when missing (run as root):
#   chromium      the real browser of tests/browser (Playwright cannot download its own here)
#   wordnet-base  WordNet 3.0's noun hierarchy (/usr/share/wordnet), notebook 06's coherence measure
#   bubblewrap    the grading sandbox (tools/grading/sandbox.py): kernels without source/, gradebook or network
# Usage: sudo tools/system_packages.sh        (CI: .ci/run calls it)
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/share/wordnet/data.noun ] || missing+=(wordnet-base)
command -v bwrap >/dev/null || missing+=(bubblewrap)
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
