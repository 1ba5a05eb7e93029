#!/usr/bin/env bash
# Copy the ready-built front-end files from node_modules/ into web/static/vendor/ (served by
# Flask as /static/vendor/...). Run after `npm ci` (make assets does both).
#
# The list below is the whole contract: one "SOURCE -> DEST" per line.
#   SOURCE  a file or directory under node_modules/
#   DEST    a path under web/static/vendor/; ending in "/" means "into this directory"
# Keep each package's licence beside its files.
set -euo pipefail

ASSETS='
swagger-ui-dist/swagger-ui.css                      -> swagger-ui-dist/
swagger-ui-dist/swagger-ui-bundle.js                -> swagger-ui-dist/
swagger-ui-dist/swagger-ui-standalone-preset.js     -> swagger-ui-dist/
swagger-ui-dist/favicon-32x32.png                   -> swagger-ui-dist/
swagger-ui-dist/LICENSE                             -> swagger-ui-dist/
swagger-ui-dist/NOTICE                              -> swagger-ui-dist/
# bpmn-js: the modeler (designer page) and the navigated viewer (task and instance pages)
bpmn-js/dist/bpmn-modeler.production.min.js         -> bpmn-js/
bpmn-js/dist/bpmn-navigated-viewer.production.min.js -> bpmn-js/
bpmn-js/dist/assets/bpmn-js.css                     -> bpmn-js/assets/
bpmn-js/dist/assets/diagram-js.css                  -> bpmn-js/assets/
bpmn-js/dist/assets/bpmn-font                       -> bpmn-js/assets/
bpmn-js/LICENSE                                     -> bpmn-js/
# form-js: FormViewer (task page) and FormEditor (designer page), globals of the UMD bundles
@bpmn-io/form-js/dist/form-viewer.umd.js            -> form-js/
@bpmn-io/form-js/dist/form-editor.umd.js            -> form-js/
@bpmn-io/form-js/dist/assets/form-js.css            -> form-js/assets/
@bpmn-io/form-js/dist/assets/form-js-base.css       -> form-js/assets/
@bpmn-io/form-js/dist/assets/form-js-editor.css     -> form-js/assets/
@bpmn-io/form-js/dist/assets/form-js-editor-base.css -> form-js/assets/
@bpmn-io/form-js/dist/assets/draggle.css            -> form-js/assets/
@bpmn-io/form-js/dist/assets/properties-panel.css   -> form-js/assets/
@bpmn-io/form-js/dist/assets/flatpickr              -> form-js/assets/
@bpmn-io/form-js/LICENSE                            -> form-js/
# echarts: the leaders dashboard (charts)
echarts/dist/echarts.min.js                         -> echarts/
echarts/LICENSE                                     -> echarts/
echarts/NOTICE                                      -> echarts/
# properties panel (designer page): its CSS and licences; the script is built below
@bpmn-io/properties-panel/dist/assets/properties-panel.css -> bpmn-js-properties-panel/assets/
@bpmn-io/properties-panel/LICENSE                   -> bpmn-js-properties-panel/LICENSE.properties-panel
bpmn-js-properties-panel/LICENSE                    -> bpmn-js-properties-panel/
'

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/node_modules
DEST=$ROOT/web/static/vendor

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[[ -d $SRC ]] || die "no node_modules/: run npm ci first (make assets)"

# Build into a fresh directory and swap it in, so a failed run leaves no half-copied tree and
# files dropped from the list disappear.
mkdir -p "$ROOT/web/static"
tmp=$(mktemp -d "$ROOT/web/static/.vendor.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

count=0
while IFS= read -r line; do
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    [[ $line == *" -> "* ]] || die "bad line (want 'SOURCE -> DEST'): $line"
    src=$(echo "${line%% -> *}" | xargs)
    dst=$(echo "${line#* -> }" | xargs)
    [[ -e $SRC/$src ]] || die "missing node_modules/$src (package not installed or file moved?)"
    case $dst in
        */) target=$tmp/$dst$(basename "$src") ;;
        *) target=$tmp/$dst ;;
    esac
    mkdir -p "$(dirname "$target")"
    cp -R "$SRC/$src" "$target"
    count=$((count + 1))
done <<<"$ASSETS"

# The properties panel's UMD exports no entry components, so the designer's own provider could
# not share its preact: bundle the ESM builds with esbuild (a devDependency, offline).
"$SRC/.bin/esbuild" "$ROOT/scripts/properties_panel_entry.js" --bundle --minify --format=iife \
    --global-name=JGPropertiesPanel --log-level=warning \
    --outfile="$tmp/bpmn-js-properties-panel/jg-properties-panel.min.js"
count=$((count + 1))

chmod 755 "$tmp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
log "vendored $count front-end files into web/static/vendor/"
