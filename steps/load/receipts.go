package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/steps/target"
)

// receiptCounter reads how many receipts of one code a gateway has made, from its control
// API's Prometheus metrics (ftpsgw_receipts_total{code="1"}): the simulator's, or any
// gateway's that publishes the same counter.
type receiptCounter struct {
	url, token string
	client     *http.Client
}

func newReceiptCounter(p *target.Profile) (*receiptCounter, error) {
	if p.Control == nil || p.Control.URL == "" {
		return nil, fmt.Errorf("--receipt-lag needs the target's control API (profile control.url) for its receipt counter")
	}
	return &receiptCounter{url: strings.TrimSuffix(p.Control.URL, "/") + "/metrics", token: p.Control.Token,
		client: &http.Client{Timeout: 5 * time.Second}}, nil
}

// status1 returns ftpsgw_receipts_total{code="1"}.
func (c *receiptCounter) status1(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", c.url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), `ftpsgw_receipts_total{code="1"} `); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, nil // none made yet: the counter appears with the first
}

// ReceiptLag is how the receipts kept up with a run's uploads: how many status 1 files were
// still missing when the last upload's 226 came, and how long after that the last one came.
type ReceiptLag struct {
	Uploads     int           // uploads the run completed
	BehindAtEnd int           // status 1 receipts missing when the run ended
	Last        time.Duration // from the run's end to the last status 1 (0: none was missing)
	Complete    bool          // every status 1 arrived within the wait
}

// waitForStatus1 polls the counter until it has risen by want since base, for at most wait.
func (c *receiptCounter) waitForStatus1(ctx context.Context, base int64, want int, end time.Time, wait time.Duration) (ReceiptLag, error) {
	lag := ReceiptLag{Uploads: want}
	first := true
	deadline := end.Add(wait)
	for {
		n, err := c.status1(ctx)
		if err != nil {
			return lag, err
		}
		got := int(n - base)
		if first {
			lag.BehindAtEnd, first = max(want-got, 0), false
		}
		if got >= want {
			if lag.BehindAtEnd > 0 {
				lag.Last = time.Since(end)
			}
			lag.Complete = true
			return lag, nil
		}
		if time.Now().After(deadline) {
			lag.Last = time.Since(end)
			return lag, nil
		}
		select {
		case <-ctx.Done():
			return lag, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
