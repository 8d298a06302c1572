#!/usr/bin/env bash
# Builds dist/cartback-for-woocommerce.zip, the WooCommerce plugin as
# WordPress installs it (Plugins → Add New → Upload Plugin): one folder,
# cartback-for-woocommerce/, without tests or stubs.
#
# Uses zip when installed, else Python's zipfile module. Lists the archive
# and fails if it holds anything outside the plugin folder, misses the
# plugin's main file, or holds tests.
set -euo pipefail

cd "$(dirname "$0")/.."
name=cartback-for-woocommerce
src=adapters/woocommerce/plugin
out=dist/$name.zip

[[ -f $src/$name/$name.php ]] || { echo "build-woocommerce-plugin: $src/$name/$name.php not found" >&2; exit 1; }
version=$(sed -n 's/^ \* Version: *//p' "$src/$name/$name.php" | head -n 1)

mkdir -p dist
rm -f "$out"
if command -v zip >/dev/null; then
	(cd "$src" && zip -q -r -X "../../../$out" "$name" -x '*/.*' '*~')
else
	python3 - "$src" "$name" "$out" <<'PY'
import os, sys, zipfile
src, name, out = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(os.path.join(src, name)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f.startswith(".") or f.endswith("~"):
                continue
            path = os.path.join(root, f)
            z.write(path, os.path.relpath(path, src))
PY
fi

# Verify the content list.
list=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$out")
echo "$list"
bad=$(printf '%s\n' "$list" | grep -v "^$name/" || true)
if [[ -n $bad ]]; then
	echo "build-woocommerce-plugin: files outside $name/: $bad" >&2
	exit 1
fi
if printf '%s\n' "$list" | grep -Eiq '(^|/)(tests?|stubs)/|phpunit'; then
	echo "build-woocommerce-plugin: tests in the archive" >&2
	exit 1
fi
for required in "$name/$name.php" "$name/uninstall.php" "$name/includes/class-cartback-plugin.php"; do
	printf '%s\n' "$list" | grep -qx "$required" || { echo "build-woocommerce-plugin: $required missing" >&2; exit 1; }
done
echo "built $out (version ${version:-unknown}, $(printf '%s\n' "$list" | grep -vc '/$') files, $(wc -c <"$out") bytes)"
