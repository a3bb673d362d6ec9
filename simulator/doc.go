// Package simulator is the reference FTPS gateway: an FTPS front on ftpserverlib that follows
// the rules in docs/GATEWAY.md (TLS 1.2 only, certificate AND password, role folders, a private /out
// per certificate, unique file names), durable state in an embedded SQLite database, and a
// journal of everything each session did, which the conformance suites read as evidence.
//
// The gateway is a set of parts over one core (core.go: settings, rules, clock, store,
// journal, log, metrics), assembled by Gateway (gateway.go): the FTP front (front.go,
// session.go, dataconn.go, folders.go), the TLS guard (tlsconf.go), logins (login.go), uploads
// (upload.go, spool.go), the receipt pipeline with its backend link (pipeline.go, backend.go),
// the security replica (security.go), and the control API over the Gateway's operations
// (controlapi.go, operations.go). docs/ARCHITECTURE.md draws the graph.
package simulator
