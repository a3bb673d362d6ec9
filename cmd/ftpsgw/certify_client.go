package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/certs"
	"github.com/ftpsgw/ftpsgw/features"
	"github.com/ftpsgw/ftpsgw/simulator/simtest"
	"github.com/ftpsgw/ftpsgw/steps"
	"github.com/ftpsgw/ftpsgw/steps/certify"
	"github.com/ftpsgw/ftpsgw/steps/target"
)

func runCertifyClient(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpsgw certify-client", flag.ContinueOnError)
	execCmd := fs.String("exec", "", "the client adapter command (run with sh -c; see the README's adapter contract)")
	tags := fs.String("tags", "", "godog tag expression, e.g. @CL-NAME-01")
	gate := bindGateFlags(fs)
	bundle := bindBundleFlags(fs)
	reportDir := fs.String("report", "ftpsgw-client-report", "folder for junit.xml, cucumber.json, report.html and results.json")
	strict := fs.Bool("strict", false, "treat assumed requirements (session resumption, …) as MUST")
	timeout := fs.Duration("timeout", 60*time.Second, "how long one client action may take (its process group is killed then)")
	deadline := fs.Duration("deadline", 30*time.Minute, "bound the whole run; past it the run ends INTERRUPTED (exit 4)")
	observeMode := fs.Bool("observe", false, "certify a product without an adapter: write a connection kit, let the product work, play cases, judge its traffic")
	kit := fs.String("kit", "ftpsgw-kit", "--observe: folder for the connection kit (connection.json, ca.pem, a .p12 per identity)")
	duration := fs.Duration("duration", 30*time.Minute, "--observe: how long to watch the product at most (Ctrl-C or POST /control/v1/finish end it sooner)")
	settle := fs.Duration("settle", 2*time.Minute, "--observe: how long a case waits for the product's reaction before the next")
	clockMode := fs.String("clock", "real", "--observe: the simulator's clock, real or virtual (virtual: time moves only by the control API or the dashboard)")
	key := fs.String("key", string(defaultClientKey), "key type of the test PKI the client is given: rsa-pss (RSA 3072, as OCES3), rsa (RSA 2048, as OCES II) or ecdsa (P-256)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ftpsgw certify-client --exec 'CMD' [--report DIR] [--tags EXPR] [--strict]\n       ftpsgw certify-client --observe [--kit DIR] [--duration D] [--report DIR]\n\nRuns your client against the embedded simulator (virtual clock, fresh PKI) and certifies\nit against features/client/*.feature. Exit 0 only when every MUST requirement passes.\nWith --observe there is no adapter: the product does its own work with the connection kit,\nthe gateway plays the cases, and a requirement its traffic did not exercise is NOT EXERCISED.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	msg := usageProblem(fs, map[string]time.Duration{"timeout": *timeout, "deadline": *deadline, "duration": *duration, "settle": *settle})
	switch {
	case msg != "":
	case *observeMode && *execCmd != "":
		msg = "--observe and --exec are two ways to certify a client: give one"
	case *observeMode && *tags != "":
		msg = "--tags selects scenarios of the adapter-driven certification; --observe judges every client requirement from the product's traffic"
	case *observeMode && *clockMode != "real" && *clockMode != "virtual":
		msg = fmt.Sprintf("--clock %q: real or virtual", *clockMode)
	case !*observeMode && *execCmd == "":
		msg = "--exec is required: the command that runs your client (see the README's adapter contract); or --observe to certify a product you cannot script"
	}
	if msg != "" {
		fmt.Fprintf(stderr, "ftpsgw certify-client: %s\n\n", msg)
		fs.Usage()
		return exitUsage
	}
	alg, err := certs.ParseKeyAlgorithm(*key)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw certify-client: --key: %v\n", err)
		return exitUsage
	}
	if *observeMode {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		out, code, ok := prepareOutputs("certify-client", *reportDir, bundle, gate, stderr)
		if !ok {
			return code
		}
		return runObserve(ctx, observeFlags{kit: *kit, duration: *duration, settle: *settle, clock: *clockMode, strict: *strict}, alg, out, stdout, stderr)
	}
	if err := target.CheckAdapter(*execCmd); err != nil {
		fmt.Fprintf(stderr, "ftpsgw certify-client: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, code, ok := prepareOutputs("certify-client", *reportDir, bundle, gate, stderr)
	if !ok {
		return code
	}
	fmt.Fprintf(stderr, "issuing a test PKI (%s) and starting the embedded simulator…\n", alg.Describe())
	emb, err := startEmbeddedClientMode(ctx, alg)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "ftpsgw certify-client: interrupted while the embedded simulator started; nothing ran")
		return exitInterrupted
	}
	if err != nil {
		return fail(stderr, "starting the embedded simulator: %v", err)
	}
	defer emb.close()
	fmt.Fprintf(stderr, "certifying the client %q against the embedded simulator at %s\n", *execCmd, emb.sim.FTPS)
	adapter := target.Adapter{Command: *execCmd, Timeout: *timeout}
	run, err := certify.Run(ctx, certify.RunOptions{
		Profile: emb.profile, Features: features.ClientFS, Steps: certify.Bind(steps.Client(adapter)), Kind: "client",
		Tags: *tags, Strict: *strict, Progress: stderr,
		CucumberJSON: filepath.Join(*reportDir, "cucumber.json"), Version: version,
		Description: "client " + *execCmd + " against the embedded simulator (observes TLS version, certificate, data protection and resumption); client certificate " + alg.Describe(),
		Deadline:    *deadline,
		Ephemeral:   true,
	})
	if err != nil {
		return runError(stderr, err)
	}
	run.Target.Name = *execCmd
	out.profile = emb.profile
	return finishRun(run, out, stdout, stderr)
}

// startEmbeddedClientMode is the simulator as client certification wants it: observing, not
// requiring, what the client requirements judge (simulator.Observe), so each misbehaviour is
// seen in the journal and judged by exactly its own requirement.
func startEmbeddedClientMode(ctx context.Context, alg certs.KeyAlgorithm) (*embedded, error) {
	return startSimulator(ctx, simtest.Options{Observe: true, Key: alg})
}

// defaultClientKey is RSA as real OCES certificates are; RSA-PSS 3072 as OCES3, which MitID
// Erhverv issues since OCES II was phased out.
const defaultClientKey = certs.KeyRSAPSS
