package woocommerce

import (
	"os/exec"
	"testing"
)

// TestPlugin runs the WordPress plugin's own checks (php -l on every file,
// then its PHPUnit suite, which also holds the plugin to the contract
// files the sidecar's tests use). .ci/run installs PHP and PHPUnit; on a
// machine without them the plugin cannot be tested and this says so.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("the PHP suite takes a few seconds")
	}
	for _, tool := range []string{"php", "phpunit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install php-cli php-xml php-mbstring phpunit)", tool)
		}
	}
	out, err := exec.Command("bash", "../../scripts/test-woocommerce-plugin.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("plugin tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
