#!/usr/bin/env bash
# Tests the WooCommerce plugin (adapters/woocommerce/plugin): lints every
# PHP file of the plugin with `php -l`, then runs the PHPUnit tests in
# adapters/woocommerce/plugin/tests against the small WordPress and
# WooCommerce fakes in tests/stubs.
#
# Installs php-cli, php-xml, php-mbstring and phpunit from the distribution
# with apt-get when php or phpunit is missing (needs root, as in CI).
#
# The tests also check the contract golden files in
# adapters/woocommerce/testdata/contract; UPDATE_GOLDEN=1 rewrites
# cart_updated.json and cart_updated.sig from what the plugin sends.
#
# Exits non-zero if a file does not lint or a test fails.
set -euo pipefail

cd "$(dirname "$0")/.."
plugin=adapters/woocommerce/plugin

if ! command -v php >/dev/null || ! command -v phpunit >/dev/null; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "test-woocommerce-plugin: php and phpunit are required (apt-get install php-cli php-xml php-mbstring phpunit)" >&2
		exit 2
	fi
	echo "test-woocommerce-plugin: installing php-cli php-xml php-mbstring phpunit" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq php-cli php-xml php-mbstring phpunit >/dev/null
fi

php --version | head -n 1
phpunit --version | head -n 1

echo "== php -l"
lint_failed=0
count=0
while IFS= read -r -d '' file; do
	count=$((count + 1))
	if ! out=$(php -l "$file" 2>&1); then
		echo "$out" >&2
		lint_failed=1
	fi
done < <(find "$plugin" -name '*.php' -print0 | sort -z)
if [[ $lint_failed -ne 0 ]]; then
	echo "test-woocommerce-plugin: php -l failed" >&2
	exit 1
fi
echo "$count files, no syntax errors"

echo "== phpunit"
set +e
output=$(phpunit --configuration "$plugin/tests/phpunit.xml" --do-not-cache-result 2>&1)
status=$?
set -e
echo "$output"
if [[ $status -ne 0 ]]; then
	echo "test-woocommerce-plugin: FAIL" >&2
	exit "$status"
fi
summary=$(printf '%s\n' "$output" | grep -E '^(OK|Tests:)' | tail -n 1)
echo "test-woocommerce-plugin: PASS: $summary"
