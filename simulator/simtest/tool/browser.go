package tool

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser starts headless Chromium (driven over the DevTools protocol by chromedp) and
// returns a context for it, bounded by limit.
func Browser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path := ""
	for _, b := range []string{"chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			path = p
		}
	}
	if path == "" {
		path = Need(t, "chromium", "chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first call starts the browser and must not carry a deadline (it would end the
	// browser); it is bounded by a timer that cancels it instead.
	stop := time.AfterFunc(60*time.Second, cancelBrowser)
	err := chromedp.Do(bctx)
	stop.Stop()
	if err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	tctx, cancelTimeout := context.WithTimeout(bctx, limit)
	t.Cleanup(cancelTimeout)
	return tctx
}

// WaitJS polls a JavaScript condition in the page until it is true or the deadline passes,
// and returns how long it took.
func WaitJS(t *testing.T, bctx context.Context, what, cond string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](cond))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`"updates " + document.body.getAttribute("data-updates") + ", last seq " + document.body.getAttribute("data-last-seq") + "\n" + document.body.innerText.slice(0, 3000)`))
			t.Fatalf("the page did not show %s within %s; it shows:\n%s", what, within, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
