#!/usr/bin/env bash
# Copy front-end libraries installed by npm (package-lock.json) into the static folder.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/milepost/web/static/vendor
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
