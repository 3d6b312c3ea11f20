package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/connectord/connectord/cmd/connectord/internal/admin"
)

// chromium finds the browser. CI installs it, so a missing browser fails
// the test rather than skipping it.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed (looked for /usr/bin/chromium and chromium on PATH); install the chromium package")
	return ""
}

// browser returns a chromedp context for a headless Chromium with a
// throwaway profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// TestStatusPageInBrowser loads the status page in headless Chromium after
// forcing a dead letter, and checks what a person would see.
func TestStatusPageInBrowser(t *testing.T) {
	bad := newReceiver(t, http.StatusBadRequest)
	td := startDaemon(t, map[string]string{"orders.yaml": generatorPipeline("orders-sync", bad.URL, 2, 10*time.Millisecond, 3)}, "")
	td.waitMetric(`connectord_events_dead_lettered_total{pipeline="orders-sync"}`, 2)

	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+td.AdminAddr()+"/"),
		chromedp.WaitVisible(chromedp.CSS("tr.pipeline")),
	); err != nil {
		t.Fatalf("loading the page in Chromium: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil || !v.Exists {
			t.Fatalf("reading %s[%s]: %v (exists %v)", sel, name, err, v.Exists)
		}
		return v.Value
	}
	name := text("tr.pipeline .name")
	state := text("tr.pipeline .badge")
	dead := text("tr.pipeline td.dead")
	reload := text("#reload")
	refresh := attr(`meta[http-equiv="refresh"]`, "content")
	failedPoints := attr("tr.pipeline svg.spark polyline.failed", "points")
	polylines, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.pipeline svg.spark polyline').length`))
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if name != "orders-sync" {
		t.Errorf("pipeline name shown = %q", name)
	}
	if state != "running" {
		t.Errorf("state badge = %q, want running", state)
	}
	if dead != "2" {
		t.Errorf("dead letters shown = %q, want 2", dead)
	}
	if !strings.Contains(reload, "Last reload: ok") {
		t.Errorf("reload line = %q", reload)
	}
	if refresh != "5" {
		t.Errorf("refresh = %q", refresh)
	}
	if polylines != 2 {
		t.Errorf("sparkline has %d polylines, want delivered and failed", polylines)
	}
	// The failed line rises in the current minute (the last point).
	pts := strings.Fields(failedPoints)
	if len(pts) != 60 || strings.HasSuffix(pts[len(pts)-1], ",29.0") {
		t.Errorf("failed sparkline does not show this minute's failures: %q", failedPoints)
	}
	if strings.Contains(html, signingKey) {
		t.Error("the page shows the signing key")
	}

	// The page and the API agree.
	_, body := td.get("/api/pipelines/orders-sync")
	var p admin.Pipeline
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.DeadLetters != 2 || p.State != "running" {
		t.Errorf("API says dead letters %d, state %s", p.DeadLetters, p.State)
	}
}
