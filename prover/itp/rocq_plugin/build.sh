#!/usr/bin/env bash
# Build prover's Coq plugin as the findlib package coq-prover.plugin in _build/ (Coq 8.16 loads
# plugins by findlib name). Needs Debian's libcoq-core-ocaml-dev and ocaml-findlib; without the
# plugin the Rocq backend falls back to Print Assumptions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/_build/coq-prover"
mkdir -p "$out"
cd "$out"
cp "$here/prover_plugin.mlg" .
coqpp prover_plugin.mlg
ocamlfind ocamlopt -rectypes -thread -w -a -shared -o prover_plugin.cmxs \
    -package coq-core.vernac,coq-core.plugins.ltac prover_plugin.ml
cat > META <<'META'
package "plugin" (
  directory = "."
  requires = "coq-core.vernac coq-core.plugins.ltac"
  plugin(native) = "prover_plugin.cmxs"
)
META
echo "built $out/prover_plugin.cmxs"
