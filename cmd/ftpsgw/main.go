// Command ftpsgw is a reference simulator and conformance harness for the Danish Tax Agency's
// FTPS gateway. This file only dispatches subcommands; the work lives in the packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ftpsgw/ftpsgw/steps/refclient"
)

// Exit codes shared by every subcommand.
const (
	exitOK           = 0
	exitFailure      = 1 // the command ran and failed (a certification verdict FAIL, or a target that is not what its profile says)
	exitUsage        = 2 // bad flags, arguments, tag expression or profile: nothing ran
	exitNotCertified = 3 // certification: nothing failed, but a MUST in scope is not PASS (BLOCKED, PARTIAL, UNSUPPORTED)
	exitInterrupted  = 4 // certification: stopped by SIGINT/SIGTERM or --deadline; reports show what ran
	exitTargetLost   = 5 // certification: the target stopped answering after its preflight; reports show what ran
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"pki", "create a test PKI (OCES-shaped certificates) or show a certificate's gateway username", runPKI},
		{"serve", "run the reference gateway simulator", runServe},
		{"backend", "run the backend systems as a process of their own (serve --backend-url)", func(a []string, o, e io.Writer) int { return runService("backend", a, o, e) }},
		{"security", "run the central security system as a process of their own (serve --security-url)", func(a []string, o, e io.Writer) int { return runService("security", a, o, e) }},
		{"certify", "certify a gateway (default: the embedded simulator) and write reports", runCertify},
		{"certify-client", "certify client software (run through an adapter) against the simulator", runCertifyClient},
		{"keys", "make a key pair for signing bundles (keys init --out DIR)", runKeys},
		{"verify", "check a bundle's digests and signature and print the verdict it certifies", runVerify},
		{"diff", "what changed between two runs (results.json or report folders); exit 1 when worse", runDiff},
		{"load", "drive load against a gateway (default: the simulator) and report throughput and latency", runLoad},
		{"client", "the reference client adapter (upload FILE FOLDER | receipts DIR)", refclient.Run},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) int { fmt.Fprintln(stdout, version); return exitOK }},
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "ftpsgw: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ftpsgw: simulator and conformance harness for SKAT's FTPS gateway (TEST use only)")
	fmt.Fprintln(w, "\nUsage: ftpsgw <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ftpsgw <command> --help' for a command's flags.")
}

// parseFlags parses a subcommand's flags; it returns (exit code, true) when the caller must stop.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	return 0, false
}

// parseInterspersed is parseFlags for commands whose arguments and flags may come in any
// order (`ftpsgw verify BUNDLE --key PUB`): the positional arguments are left in fs.Args
// order via the returned list.
func parseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	var positional []string
	for {
		if code, stop := parseFlags(fs, args, stderr); stop {
			return nil, code, true
		}
		if fs.NArg() == 0 {
			return positional, 0, false
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func fail(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "ftpsgw: "+format+"\n", a...)
	return exitFailure
}
