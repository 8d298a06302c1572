package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir receives the browser test's screenshots (git-ignored).
const screenshotDir = "testdata/screenshots"

// chromium returns the path of a Chromium or Chrome to drive, "" when
// none is installed. CARTBACK_CHROMIUM names one explicitly.
func chromium() string {
	if p := os.Getenv("CARTBACK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium for the test and returns a tab's
// context, bounded by timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("Chromium is not installed (apt-get install chromium): the admin browser test needs it; CI installs it")
	}
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser exits before its
	// profile directory is removed.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first action starts the browser, for as long as browserCtx lives.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, timeout)
	t.Cleanup(cancel)
	return ctx
}

// screenshot saves a full-page PNG screenshot under testdata/screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAdminBrowser drives the admin pages in a real browser against the
// real binary: sign in, edit the reminder email with a live preview, save
// it, and find the edited text in the message the next abandoned cart
// gets; then the outbox, and the dashboard with its chart.
func TestAdminBrowser(t *testing.T) {
	ctx := newBrowser(t, 45*time.Second)
	p := start(t, filepath.Join(t.TempDir(), "cartback.db"))
	p.setupShop(`{"abandon_after":"1s","steps":[{"channel":"email","after":"2s","template":"reminder"}]}`)
	marker := fmt.Sprintf("MARK%d", time.Now().UnixNano()%1e9)
	shop := p.url + "/admin/shops/" + e2eShop

	// Sign in: the admin sends a stranger to the sign-in page first.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/admin/"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatalf("open admin: %v", err)
	}
	if location, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(location, "/admin/login") {
		t.Fatalf("open admin: at %q (%v), want the sign-in page", location, err)
	}
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), testAdminToken),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("chart")), // the first shop's dashboard
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Edit the English reminder email; the preview follows the typing.
	err = chromedp.Do(ctx,
		chromedp.Navigate(shop+"/templates?kind=reminder&channel=email&locale=en"),
		chromedp.WaitVisible(chromedp.ID("subject")),
		chromedp.SendKeys(chromedp.ID("subject"), "Your cart "+marker+" at {{.ShopName}}"),
		chromedp.SendKeys(chromedp.ID("text"), "Hi {{.FirstName}}, "+marker+" is waiting: {{.RestoreURL}} (unsubscribe: {{.UnsubscribeURL}})"),
	)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`document.getElementById("preview-subject").textContent.includes(%q)`, marker),
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("live preview: %v", err)
	}
	if subject, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("preview-subject"))); err != nil || !strings.HasPrefix(subject, "Your cart "+marker+" at ") {
		t.Errorf("preview subject %q (%v)", subject, err)
	}
	screenshot(t, ctx, "admin-template-editor.png")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("button[name=action][value=save]")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice"))); err != nil || !strings.Contains(notice, "Saved") {
		t.Fatalf("save: %q %v", notice, err)
	}

	// The next abandoned cart's reminder is written with the saved template.
	if status, err := p.webhook(checkoutAt(t, 1, time.Now()), "browser-1"); status != http.StatusOK {
		t.Fatalf("webhook: %d %v", status, err)
	}
	var msgs []outboxMessage
	waitFor(t, 15*time.Second, "the reminder in the outbox", func() bool { msgs = p.outbox(); return len(msgs) > 0 })
	if !strings.Contains(msgs[0].Text, marker) || !strings.Contains(msgs[0].Text, "Hi Bob") {
		t.Errorf("the reminder does not use the saved template (does the sending renderer have Store: cbhttp.TemplateStore{Store: db}?):\n%s", msgs[0].Text)
	}

	// The outbox page shows it, marked as not sent.
	if err := chromedp.Do(ctx, chromedp.Navigate(shop+"/outbox"), chromedp.WaitVisible(chromedp.CSS(".outbox-message"))); err != nil {
		t.Fatalf("outbox page: %v", err)
	}
	if outbox, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".outbox-message"))); err != nil || !strings.Contains(outbox, marker) || !strings.Contains(outbox, "NOT SENT") {
		t.Errorf("outbox page: %q %v", outbox, err)
	}

	// The dashboard draws its chart, on a desktop and on a phone.
	if err := chromedp.Do(ctx, chromedp.Navigate(shop+"/dashboard?days=14"), chromedp.WaitVisible(chromedp.CSS("svg#chart"))); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg#chart rect").length`)); err != nil || bars != 14 {
		t.Errorf("dashboard chart: %d bars, %v", bars, err)
	}
	screenshot(t, ctx, "admin-dashboard.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("svg#chart"))); err != nil {
		t.Fatalf("phone viewport: %v", err)
	}
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || overflow {
		t.Errorf("the dashboard scrolls sideways on a phone (%v)", err)
	}
	screenshot(t, ctx, "admin-dashboard-phone.png")
}
