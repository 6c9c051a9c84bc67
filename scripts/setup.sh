#!/usr/bin/env bash
# Set up prover on a fresh Debian machine: Rocq (Coq 8.16) and its tools from Debian, then the
# Python package in .venv. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(coq libcoq-coquelicot libcoq-hammer eprover coinor-csdp bubblewrap python3-venv
      libcoq-core-ocaml-dev ocaml-findlib tmux)
missing=()
for deb in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if ((${#missing[@]})); then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
# prover's Coq plugin (a memory for the axiom check), built into ~/.cache/prover; without it the
# backend uses Print Assumptions.
.venv/bin/prover setup rocq >/dev/null || echo "setup: the Coq plugin did not build; checks will be slower" >&2
echo "setup: ready ($(.venv/bin/prover --version), $(coqc --version | head -n 1))" >&2
