package control

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The gateway's two neighbours, when they run as processes of their own (`ftpsgw backend`,
// `ftpsgw security`), speak HTTP+JSON under these prefixes. The gateway is their only
// regular client; tests use the same typed clients to look at, or change, their state while
// the gateway is cut off from them.
const (
	BackendPrefix  = "/backend/v1"
	SecurityPrefix = "/security/v1"
)

// SecurityRecord is one registration as the central security system holds it.
type SecurityRecord struct {
	Username     string    `json:"username"`
	CVR          string    `json:"cvr"`
	Fingerprint  string    `json:"fingerprint"`
	PasswordHash string    `json:"password_hash"` // never a password
	Roles        []string  `json:"roles"`
	CreatedAt    time.Time `json:"created_at"`
}

// SecuritySnapshot is GET /security/v1/snapshot: every registration, and a version that
// grows with every change (the gateway replicates only when it changed).
type SecuritySnapshot struct {
	Version       int64            `json:"version"`
	Registrations []SecurityRecord `json:"registrations"`
}

// ServiceHealth is GET /health of the backend and security services.
type ServiceHealth struct {
	Status  string `json:"status"`
	Service string `json:"service"` // "backend" or "security"
	Version string `json:"version"`
	Count   int    `json:"count"` // deliveries received, or registrations held
}

// SecurityClient talks to `ftpsgw security`.
type SecurityClient struct{ c *Client }

// NewSecurityClient returns a client for the security service at baseURL.
func NewSecurityClient(baseURL string, timeout time.Duration) *SecurityClient {
	c := NewClient(baseURL, "")
	c.Timeout = timeout
	return &SecurityClient{c: c}
}

// URL is the service's base URL.
func (s *SecurityClient) URL() string { return s.c.BaseURL }

func (s *SecurityClient) call(ctx context.Context, method, path string, in, out any) error {
	return s.c.sendJSON(ctx, method, SecurityPrefix+path, nil, in, out)
}

// Health returns the service's state.
func (s *SecurityClient) Health(ctx context.Context) (ServiceHealth, error) {
	var h ServiceHealth
	return h, s.call(ctx, http.MethodGet, "/health", nil, &h)
}

// Snapshot returns every registration.
func (s *SecurityClient) Snapshot(ctx context.Context) (SecuritySnapshot, error) {
	var snap SecuritySnapshot
	return snap, s.call(ctx, http.MethodGet, "/snapshot", nil, &snap)
}

// Put registers (or re-registers) a certificate.
func (s *SecurityClient) Put(ctx context.Context, r SecurityRecord) error {
	return s.call(ctx, http.MethodPut, "/registrations/"+url.PathEscape(r.Username), r, nil)
}

// SetRoles changes a registration's roles.
func (s *SecurityClient) SetRoles(ctx context.Context, username string, roles []string) error {
	return s.call(ctx, http.MethodPut, "/registrations/"+url.PathEscape(username)+"/roles", Roles{Roles: roles}, nil)
}

// Delete removes a registration.
func (s *SecurityClient) Delete(ctx context.Context, username string) error {
	return s.call(ctx, http.MethodDelete, "/registrations/"+url.PathEscape(username), nil, nil)
}

// Reset removes every registration.
func (s *SecurityClient) Reset(ctx context.Context) error {
	return s.call(ctx, http.MethodPost, "/reset", nil, nil)
}

// ReceiptError is the error part of a rejection (the status file's error element).
type ReceiptError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Resolution string `json:"resolution"`
}

// BackendVerdict is how the backend answers one delivered file.
type BackendVerdict struct {
	Accepted    bool          `json:"accepted"`
	Error       *ReceiptError `json:"error,omitempty"`
	Reply       bool          `json:"reply,omitempty"`        // a reply file follows (receipt _3)
	Delay       string        `json:"delay"`                  // processing time before the answer (Go duration)
	ExposeDelay string        `json:"expose_delay,omitempty"` // time from acceptance to the reply file
}

// BackendDelivery is one file the backend received (idempotent by SKATTransactionId).
type BackendDelivery struct {
	SkatID     string         `json:"skat_id"`
	Username   string         `json:"username"`
	Service    string         `json:"service"`
	Name       string         `json:"name"`
	Size       int64          `json:"size"`
	SHA256     string         `json:"sha256"`
	ASCII      bool           `json:"ascii"`
	ReceivedAt time.Time      `json:"received_at"`
	Attempts   int            `json:"attempts"` // PUTs of this file (retries after a lost answer)
	Verdict    BackendVerdict `json:"verdict"`
}

// BackendRules are the rules the backend answers by (the same as the simulator's config).
type BackendRules struct {
	Default  *ServiceRule           `json:"default,omitempty"`
	Services map[string]ServiceRule `json:"services,omitempty"`
}

// BackendClient talks to `ftpsgw backend`.
type BackendClient struct{ c *Client }

// NewBackendClient returns a client for the backend service at baseURL.
func NewBackendClient(baseURL string, timeout time.Duration) *BackendClient {
	c := NewClient(baseURL, "")
	c.Timeout = timeout
	return &BackendClient{c: c}
}

// URL is the service's base URL.
func (b *BackendClient) URL() string { return b.c.BaseURL }

func (b *BackendClient) call(ctx context.Context, method, path string, in, out any) error {
	return b.c.sendJSON(ctx, method, BackendPrefix+path, nil, in, out)
}

// Health returns the service's state.
func (b *BackendClient) Health(ctx context.Context) (ServiceHealth, error) {
	var h ServiceHealth
	return h, b.call(ctx, http.MethodGet, "/health", nil, &h)
}

// Deliver hands a file to the backend. It is idempotent: delivering the same SkatID again
// returns the first verdict and stores nothing new.
func (b *BackendClient) Deliver(ctx context.Context, d BackendDelivery, content io.Reader) (BackendVerdict, error) {
	q := url.Values{"username": {d.Username}, "service": {d.Service}, "name": {d.Name},
		"sha256": {d.SHA256}, "ascii": {strconv.FormatBool(d.ASCII)}, "size": {strconv.FormatInt(d.Size, 10)}}
	var v BackendVerdict
	return v, b.c.send(ctx, http.MethodPut, BackendPrefix+"/deliveries/"+url.PathEscape(d.SkatID), q, content, "application/octet-stream", &v)
}

// Delivery returns what the backend holds for a SkatID (404 when it never received it).
func (b *BackendClient) Delivery(ctx context.Context, skatID string) (BackendDelivery, error) {
	var d BackendDelivery
	return d, b.call(ctx, http.MethodGet, "/deliveries/"+url.PathEscape(skatID), nil, &d)
}

// Deliveries lists every file received, oldest first.
func (b *BackendClient) Deliveries(ctx context.Context) ([]BackendDelivery, error) {
	var ds []BackendDelivery
	return ds, b.call(ctx, http.MethodGet, "/deliveries", nil, &ds)
}

// Rules returns the backend's rules.
func (b *BackendClient) Rules(ctx context.Context) (BackendRules, error) {
	var r BackendRules
	return r, b.call(ctx, http.MethodGet, "/rules", nil, &r)
}

// SetRules changes rules: a default given replaces the default, a service given replaces
// that service's rule.
func (b *BackendClient) SetRules(ctx context.Context, r BackendRules) (BackendRules, error) {
	var out BackendRules
	return out, b.call(ctx, http.MethodPut, "/rules", r, &out)
}

// Reset forgets every delivery and restores the configured rules.
func (b *BackendClient) Reset(ctx context.Context) error {
	return b.call(ctx, http.MethodPost, "/reset", nil, nil)
}
