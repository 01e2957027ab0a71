#!/bin/sh
# Bakes npm modules for function nodes into DIR (contract.json functionModules): installs the given npm
# specs into DIR/node_modules and records them in DIR/package.json, whose dependencies are what function
# nodes may use (lib/function_modules.js). The Dockerfile runs it with image.functionModules; the local
# stack and the tests run it the same way. Nothing is ever installed at run time.
#   bake-function-modules.sh DIR [npm spec ...]
set -eu
dir=$1
shift
mkdir -p "$dir"
if [ ! -f "$dir/package.json" ]; then
    printf '{"name": "nodered-scale-function-modules", "version": "1.0.0", "private": true}\n' > "$dir/package.json"
fi
if [ "$#" -gt 0 ]; then
    # --install-links: a local folder is copied like a registry package, never linked.
    npm install --prefix "$dir" --no-audit --no-fund --omit=dev --save-exact --install-links "$@"
fi
