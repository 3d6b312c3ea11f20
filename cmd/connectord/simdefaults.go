package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/connectord/connectord/engine/config"
)

// A simulator default is a ${VAR:-default} that took its default, where the
// default is what the shipped pipelines use to run against `connectord
// demo`: an address on this machine (the simulator, the demo's receiver) or
// a credential written in the file (demo-token). Pointed at a real
// workspace with such a variable forgotten, a pipeline would validate and
// run, polling nothing or signing with a published key. Other defaults
// (POLL_INTERVAL, INTERCOM_START) are ordinary settings.
type simDefault struct {
	Pipelines []string // those using it: an anchored value serves several
	config.Default
	Why string
}

var credentialName = regexp.MustCompile(`(?i)(TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL)`)

// simulatorDefaults finds them, one per place written, in file order.
func simulatorDefaults(specs []config.Pipeline) []simDefault {
	var out []simDefault
	at := map[string]int{} // position and variable → index in out
	for _, p := range specs {
		for _, d := range p.Defaults {
			var why string
			switch {
			case pointsHere(d.Value):
				why = fmt.Sprintf("its default points at %s on this machine (the simulator or the demo's receiver)", hostOf(d.Value))
			case credentialName.MatchString(d.Var):
				why = "its default is a credential written in the file (a demo's, not shown)"
			default:
				continue
			}
			key := d.Pos.String() + " " + d.Var
			if i, ok := at[key]; ok {
				out[i].Pipelines = append(out[i].Pipelines, p.Name)
				continue
			}
			at[key] = len(out)
			out = append(out, simDefault{[]string{p.Name}, d, why})
		}
	}
	return out
}

func (s simDefault) String() string {
	return fmt.Sprintf("%s: %s is not set; %s [%s]", s.Pos, s.Var, s.Why, strings.Join(s.Pipelines, ", "))
}

// hostOf is the host[:port] of a URL, leaving out any userinfo, path or
// query, which may hold a token.
func hostOf(v string) string {
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		return u.Host
	}
	return v
}

// pointsHere says whether v is a URL or host[:port] on a loopback address.
func pointsHere(v string) bool {
	host := v
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(v); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func printSimDefaults(w io.Writer, found []simDefault) {
	for _, s := range found {
		fmt.Fprintln(w, s.String())
	}
}
