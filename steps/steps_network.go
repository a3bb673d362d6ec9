package steps

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/ftpsgw/ftpsgw/steps/target"
)

// networkSteps: passive data connections and refused commands (features/network.feature).
type networkSteps struct {
	*World
	// the last raw command and the passive ports seen
	cmdCode int
	cmdMsg  string
	ports   []int
}

func (x *networkSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" asks for a passive data connection (\d+) times$`, x.asksForPassive)
	sc.Step(`^every port offered is in the published passive range$`, x.portsInRange)
	sc.Step(`^"([^"]*)" sends "([^"]*)"$`, x.sends)
	sc.Step(`^the command is refused$`, x.commandRefused)
}

// asksForPassive asks n times with PASV (RFC 959, which every client can use) and with EPSV
// (RFC 2428) when the gateway offers it. Every PASV reply must announce the address the
// client connected to: a gateway behind NAT that announces another sends clients nowhere.
func (x *networkSteps) asksForPassive(who string, n int) error {
	want, err := x.controlIPs()
	if err != nil {
		return err
	}
	epsv := true
	for range n {
		code, msg, err := x.raw.Cmd("PASV")
		if err != nil {
			return err
		}
		if code != 227 {
			return expected("227 to PASV", "%d %s", code, msg)
		}
		ip, port, ok := parsePASV(msg)
		if !ok {
			return expected("h1,h2,h3,h4,p1,p2 in the PASV reply", "%q", msg)
		}
		if !slices.ContainsFunc(want, func(w net.IP) bool { return w.Equal(ip) }) {
			return expected(fmt.Sprintf("PASV to announce the address the client connected to (%v)", want), "%s in %q", ip, msg)
		}
		x.ports = append(x.ports, port)
		if !epsv {
			continue
		}
		code, msg, err = x.raw.Cmd("EPSV")
		if err != nil {
			return err
		}
		if code != 229 {
			x.note("EPSV answered %d %s: not offered, PASV only", code, msg)
			epsv = false
			continue
		}
		i := strings.Index(msg, "(|||")
		if i < 0 {
			return expected("a port in the EPSV reply", "%q", msg)
		}
		p, _ := strconv.Atoi(strings.TrimSuffix(msg[i+4:], "|)"))
		if p == 0 {
			return expected("a port in the EPSV reply", "%q", msg)
		}
		x.ports = append(x.ports, p)
	}
	x.note("passive ports offered (PASV, EPSV): %v", x.ports)
	return nil
}

// controlIPs are the addresses of the profile's host.
func (x *networkSteps) controlIPs() ([]net.IP, error) {
	host, _, err := net.SplitHostPort(x.suite.profile.Address)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(x.ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	var out []net.IP
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	return out, nil
}

var pasvRe = regexp.MustCompile(`(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})`)

// parsePASV reads the address and port of "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)"
// (RFC 959 does not require the parentheses).
func parsePASV(msg string) (net.IP, int, bool) {
	m := pasvRe.FindStringSubmatch(msg)
	if m == nil {
		return nil, 0, false
	}
	var n [6]int
	for k := range n {
		v, _ := strconv.Atoi(m[k+1])
		if v > 255 {
			return nil, 0, false
		}
		n[k] = v
	}
	return net.IPv4(byte(n[0]), byte(n[1]), byte(n[2]), byte(n[3])), n[4]*256 + n[5], true
}

func (x *networkSteps) portsInRange() error {
	lo, hi, _ := target.ParseRange(x.suite.profile.PassivePorts)
	for _, p := range x.ports {
		if p < lo || p > hi {
			return expected(fmt.Sprintf("ports in %d-%d", lo, hi), "%v", x.ports)
		}
	}
	return nil
}

func (x *networkSteps) sends(who, cmd string) error {
	code, msg, err := x.raw.Cmd("%s", cmd)
	x.cmdCode, x.cmdMsg = code, msg
	x.note("%s -> %d %s", cmd, code, msg)
	return err
}

func (x *networkSteps) commandRefused() error {
	if !isRefused(x.cmdCode) {
		return expected("a 4xx or 5xx reply", "%d %s", x.cmdCode, x.cmdMsg)
	}
	return nil
}
