#!/usr/bin/env bash
# Build prover's Coq plugin as the findlib package coq-prover.plugin under OUT (an OCAMLPATH entry;
# Coq 8.16 loads plugins by findlib name). Needs Debian's libcoq-core-ocaml-dev and ocaml-findlib.
# Usually run through `prover setup rocq`, which picks OUT in the user's cache folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT_DIR}/coq-prover"
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
