package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to a control API. Every call takes a context; a call without a deadline
// gets the client's Timeout.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:6382
	Token   string
	HTTP    *http.Client
	Timeout time.Duration
	// Lease, when set, is sent as LeaseHeader: the holder of the target's lease (a
	// certification run) may change it while others may not.
	Lease string
}

// NewClient returns a client for baseURL (scheme://host:port, without the /control/v1 prefix).
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{}, Timeout: 30 * time.Second}
}

// APIError is an answer with a 4xx or 5xx status.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("control API: %d: %s", e.Status, e.Message) }

// StatusOf returns the HTTP status of an APIError, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.sendJSON(ctx, method, APIPrefix+path, query, in, out)
}

// sendJSON sends in (if not nil) as JSON to BaseURL+path and decodes the answer into out.
func (c *Client) sendJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	return c.send(ctx, method, path, query, body, contentType, out)
}

// send makes one request to BaseURL+path and decodes a JSON answer into out.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	if _, ok := ctx.Deadline(); !ok && c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Lease != "" {
		req.Header.Set(LeaseHeader, c.Lease)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control API %s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// AcquireLease takes (or renews) the simulator's lease for holder for ttl; a lease held by
// another holder gives an APIError with status 409 ("target busy: …").
func (c *Client) AcquireLease(ctx context.Context, holder string, ttl time.Duration) (Lease, error) {
	var out Lease
	err := c.do(ctx, http.MethodPost, "/lease", nil, Lease{Holder: holder, TTL: ttl.String()}, &out)
	return out, err
}

// ReleaseLease gives the lease back (nothing when holder does not hold it).
func (c *Client) ReleaseLease(ctx context.Context, holder string) error {
	return c.do(ctx, http.MethodDelete, "/lease/"+url.PathEscape(holder), nil, nil, nil)
}

// Health returns the simulator's state.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, "/health", nil, nil, &h)
	return h, err
}

// Reset returns the simulator to its initial registrations with empty journal, queues and /out folders.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/reset", nil, nil, nil)
}

// Registrations lists the registered certificates.
func (c *Client) Registrations(ctx context.Context) ([]Registration, error) {
	var out []Registration
	err := c.do(ctx, http.MethodGet, "/registrations", nil, nil, &out)
	return out, err
}

// Register registers a certificate (PEM) with a password and roles, effective at once.
func (c *Client) Register(ctx context.Context, r Registration) (Registration, error) {
	var out Registration
	err := c.do(ctx, http.MethodPost, "/registrations", nil, r, &out)
	return out, err
}

// Unregister removes a registration, effective at once.
func (c *Client) Unregister(ctx context.Context, username string) error {
	return c.do(ctx, http.MethodDelete, "/registrations/"+url.PathEscape(username), nil, nil, nil)
}

// SetRoles changes a certificate's roles in the security system; the gateway sees them
// after the next replication.
func (c *Client) SetRoles(ctx context.Context, username string, roles []string) error {
	return c.do(ctx, http.MethodPut, "/security/roles/"+url.PathEscape(username), nil, Roles{Roles: roles}, nil)
}

// Replicate copies registrations and roles from the security system now.
func (c *Client) Replicate(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/security/replicate", nil, nil, nil)
}

// Security returns the security system's state.
func (c *Client) Security(ctx context.Context) (Security, error) {
	var s Security
	err := c.do(ctx, http.MethodGet, "/security", nil, nil, &s)
	return s, err
}

// SetSecurityReachable cuts or restores the link to the security system.
func (c *Client) SetSecurityReachable(ctx context.Context, reachable bool) error {
	return c.do(ctx, http.MethodPut, "/security", nil, Security{Reachable: &reachable}, nil)
}

// Backend returns the backend link's state and rules.
func (c *Client) Backend(ctx context.Context) (Backend, error) {
	var b Backend
	err := c.do(ctx, http.MethodGet, "/backend", nil, nil, &b)
	return b, err
}

// SetBackend changes the backend link and rules (absent fields stay as they are).
func (c *Client) SetBackend(ctx context.Context, b Backend) (Backend, error) {
	var out Backend
	err := c.do(ctx, http.MethodPut, "/backend", nil, b, &out)
	return out, err
}

// SetBackendUp cuts or restores the backend link.
func (c *Client) SetBackendUp(ctx context.Context, up bool) error {
	_, err := c.SetBackend(ctx, Backend{Up: &up})
	return err
}

// SetFaults arms one-shot faults (replacing those armed before).
func (c *Client) SetFaults(ctx context.Context, f Faults) error {
	return c.do(ctx, http.MethodPut, "/faults", nil, f, nil)
}

// Faults returns the faults still armed.
func (c *Client) Faults(ctx context.Context) (Faults, error) {
	var f Faults
	err := c.do(ctx, http.MethodGet, "/faults", nil, nil, &f)
	return f, err
}

// Clock returns the gateway's time.
func (c *Client) Clock(ctx context.Context) (Clock, error) {
	var out Clock
	err := c.do(ctx, http.MethodGet, "/clock", nil, nil, &out)
	return out, err
}

// Advance moves a virtual clock forward; everything that falls due runs before it returns.
func (c *Client) Advance(ctx context.Context, by time.Duration) (Clock, error) {
	var out Clock
	err := c.do(ctx, http.MethodPost, "/clock/advance", nil, Advance{By: by.String()}, &out)
	return out, err
}

// JournalQuery selects journal events; zero fields match everything.
type JournalQuery struct {
	Username string
	Session  string
	Since    int64
	Types    []EventType
}

// Journal returns journal events, oldest first.
func (c *Client) Journal(ctx context.Context, q JournalQuery) (Journal, error) {
	v := url.Values{}
	if q.Username != "" {
		v.Set("username", q.Username)
	}
	if q.Session != "" {
		v.Set("session", q.Session)
	}
	if q.Since > 0 {
		v.Set("since", strconv.FormatInt(q.Since, 10))
	}
	for _, t := range q.Types {
		v.Add("type", string(t))
	}
	var out Journal
	err := c.do(ctx, http.MethodGet, "/journal", v, nil, &out)
	return out, err
}

// SetObservation publishes a client observation's progress (the dashboard shows it).
func (c *Client) SetObservation(ctx context.Context, o Observation) error {
	return c.do(ctx, http.MethodPut, "/observation", nil, o, nil)
}

// Observation returns the last progress a client observation published.
func (c *Client) Observation(ctx context.Context) (Observation, error) {
	var out Observation
	err := c.do(ctx, http.MethodGet, "/observation", nil, nil, &out)
	return out, err
}

// Finish ends a client observation (certify-client --observe).
func (c *Client) Finish(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/finish", nil, nil, nil)
}

// Receipts returns the status and reply files made for a username ("" for all).
func (c *Client) Receipts(ctx context.Context, username string) ([]Receipt, error) {
	v := url.Values{}
	if username != "" {
		v.Set("username", username)
	}
	var out []Receipt
	err := c.do(ctx, http.MethodGet, "/receipts", v, nil, &out)
	return out, err
}

// Submissions returns the accepted uploads of a username ("" for all).
func (c *Client) Submissions(ctx context.Context, username string) ([]Submission, error) {
	v := url.Values{}
	if username != "" {
		v.Set("username", username)
	}
	var out []Submission
	err := c.do(ctx, http.MethodGet, "/submissions", v, nil, &out)
	return out, err
}
