package steps

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
)

// networkSteps: passive data connections and refused commands (features/network.feature).
type networkSteps struct{ *World }

func (x networkSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" asks for a passive data connection (\d+) times$`, x.asksForPassive)
	sc.Step(`^every port offered is in the published passive range$`, x.portsInRange)
	sc.Step(`^"([^"]*)" sends "([^"]*)"$`, x.sends)
	sc.Step(`^the command is refused$`, x.commandRefused)
}

func (x networkSteps) asksForPassive(who string, n int) error {
	for range n {
		code, msg, err := x.raw.Cmd("EPSV")
		if err != nil {
			return err
		}
		if code != 229 {
			return expected("229 to EPSV", "%d %s", code, msg)
		}
		i := strings.Index(msg, "(|||")
		port, _ := strconv.Atoi(strings.TrimSuffix(msg[i+4:], "|)"))
		if i < 0 || port == 0 {
			return expected("a port in the EPSV reply", "%q", msg)
		}
		x.ports = append(x.ports, port)
	}
	x.note("passive ports offered: %v", x.ports)
	return nil
}

func (x networkSteps) portsInRange() error {
	lo, hi, _ := parseRange(x.suite.profile.PassivePorts)
	for _, p := range x.ports {
		if p < lo || p > hi {
			return expected(fmt.Sprintf("ports in %d-%d", lo, hi), "%v", x.ports)
		}
	}
	return nil
}

func (x networkSteps) sends(who, cmd string) error {
	code, msg, err := x.raw.Cmd("%s", cmd)
	x.cmdCode, x.cmdMsg = code, msg
	x.note("%s -> %d %s", cmd, code, msg)
	return err
}

func (x networkSteps) commandRefused() error {
	if !isRefused(x.cmdCode) {
		return expected("a 4xx or 5xx reply", "%d %s", x.cmdCode, x.cmdMsg)
	}
	return nil
}
