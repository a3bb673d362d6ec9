package simulator

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series served at /metrics on the control listener. Each
// simulator has its own registry, so several can run in one process (tests).
type metrics struct {
	registry     *prometheus.Registry
	sessions     prometheus.Counter
	active       prometheus.Gauge
	logins       *prometheus.CounterVec
	uploads      *prometheus.CounterVec
	uploadBytes  prometheus.Counter
	receipts     *prometheus.CounterVec
	replications *prometheus.CounterVec
	linkErrors   *prometheus.CounterVec
	limits       *prometheus.CounterVec
}

func newMetrics(c *core, pipeline *receiptPipeline, replica *securityReplica) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.sessions = prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpsgw_sessions_total", Help: "Control connections accepted."})
	m.active = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ftpsgw_sessions_active", Help: "Control connections open now."})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_logins_total", Help: "Login attempts by result and reason."}, []string{"result", "reason"})
	m.uploads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_uploads_total", Help: "Uploads by result (accepted, reused, refused, aborted)."}, []string{"result"})
	m.uploadBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpsgw_upload_bytes_total", Help: "Bytes of accepted uploads."})
	m.receipts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_receipts_total", Help: "Files put in /out by receipt code (0-3) or 'reply'."}, []string{"code"})
	m.replications = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_replications_total", Help: "Security-system replications by result."}, []string{"result"})
	m.linkErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_remote_errors_total", Help: "Failed requests to the remote backend or security process (backend.url, security.url)."}, []string{"service"})
	m.limits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpsgw_limit_refusals_total", Help: "Requests refused by a limit (limits.*), by limit."}, []string{"limit"})
	boolGauge := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m.registry.MustRegister(m.sessions, m.active, m.logins, m.uploads, m.uploadBytes, m.receipts, m.replications, m.linkErrors, m.limits,
		queueCollector{c: c},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ftpsgw_replication_age_seconds", Help: "Time since the last successful replication, on the gateway clock."},
			func() float64 { return c.clock.Now().Sub(replica.lastReplication()).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ftpsgw_backend_up", Help: "1 while the backend link is up."},
			func() float64 { return boolGauge(pipeline.backendUp(c.clock.Now())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ftpsgw_security_reachable", Help: "1 while the security system is reachable."},
			func() float64 { return boolGauge(replica.securityReachable()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// loginReason turns a login error into a short label value.
func loginReason(err error) string {
	for _, r := range []struct {
		err   error
		label string
	}{
		{errNeedTLS, "need_tls"}, {errLockedOut, "locked_out"}, {errPersonal, "personal_certificate"},
		{errNoIdentity, "no_identity"}, {errUserMismatch, "username_mismatch"}, {errNotRegistered, "not_registered"},
		{errOtherCert, "other_certificate"}, {errWrongPassword, "wrong_password"}, {errBadUsername, "bad_username"},
		{errTLSNotVerified, "tls_not_verified"},
	} {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

// queueCollector reports the receipt queue's depth and oldest age from one query per scrape.
type queueCollector struct{ c *core }

var (
	queueDepthDesc = prometheus.NewDesc("ftpsgw_queue_depth", "Uploads whose receipts are not complete.", nil, nil)
	queueAgeDesc   = prometheus.NewDesc("ftpsgw_queue_oldest_age_seconds", "Age of the oldest unfinished upload, on the gateway clock.", nil, nil)
)

func (queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc; ch <- queueAgeDesc }

func (q queueCollector) Collect(ch chan<- prometheus.Metric) {
	n, oldest, err := q.c.store.QueueStats(context.Background())
	age := 0.0
	if err == nil && !oldest.IsZero() {
		age = q.c.clock.Now().Sub(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
}
