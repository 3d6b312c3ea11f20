package soc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/connectord/connectord/engine/config"
	"github.com/connectord/connectord/engine/runner"
)

// Check runs the real loader and builder over the plan's file, as
// `connectord validate` and hot reload would, with the plan's secrets and
// then env for its variables. The first error becomes a *BadRequestError
// whose Key names the request key the offending YAML came from
// ("configuration.event.poller.configuration.contacts.datesConfiguration.updatedDateFormat"),
// so the API and the console point at the field. A plan without a file
// passes.
func Check(plan *Plan, env config.Env) error {
	if plan.YAML == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "connectord-check-*")
	if err != nil {
		return fmt.Errorf("checking %s: %w", plan.File, err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, plan.File)
	if err := os.WriteFile(path, plan.YAML, 0o600); err != nil {
		return fmt.Errorf("checking %s: %w", plan.File, err)
	}
	lookup := func(name string) (string, bool) {
		for _, e := range plan.Env {
			if e.Name == name && e.Value != "" && e.Value != redactedValue {
				return e.Value.Reveal(), true
			}
		}
		if env != nil {
			if v, ok := env(name); ok {
				return v, true
			}
		}
		for _, e := range plan.Env {
			if e.Name == name {
				return "placeholder-" + name, true // not known yet: the value is not what is checked
			}
		}
		return "", false
	}
	specs, errs := config.LoadFile(path, lookup)
	if len(errs) == 0 {
		var built []*runner.Built
		built, errs = runner.Build(specs, runner.BuildOptions{})
		for _, b := range built {
			for _, c := range []any{b.Source, b.Sink} {
				if cl, ok := c.(io.Closer); ok {
					_ = cl.Close()
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	errs.Sort()
	e := errs[0]
	return &BadRequestError{Key: requestKey(plan, e.Pos.Line), Msg: e.Msg}
}

// redactedValue is a secret as the API shows it: a PATCH that sends it
// back keeps the stored secret.
const redactedValue = "********"

// requestKey maps a line of the plan's YAML back to the request key it was
// written from.
func requestKey(plan *Plan, line int) string {
	var root yaml.Node
	if yaml.Unmarshal(plan.YAML, &root) != nil || len(root.Content) == 0 {
		return "configuration"
	}
	path := pathAt(root.Content[0], line, nil)
	// path: pipelines, <i>, source|sink, <kind>, <keys...>
	if len(path) < 4 || path[0] != "pipelines" {
		return "configuration"
	}
	var i int
	fmt.Sscan(path[1], &i)
	rest := path[4:]
	switch path[2] {
	case "sink":
		if len(rest) > 0 && rest[0] == "signature" {
			return "configuration.event.notification.signature.key"
		}
		return "configuration.event.notification.callback.url"
	case "source":
		if path[3] != "intercom_poller" || i >= len(plan.Polling) {
			return "configuration"
		}
		resource := strings.TrimPrefix(plan.Polling[i], plan.Base+"-")
		key := "configuration.event.poller.configuration." + resource
		switch {
		case len(rest) == 0:
			return key
		case rest[0] == "refresh_interval":
			return "configuration.event.poller.refresh_interval"
		case rest[0] == "url" || rest[0] == "mode" || rest[0] == "resource":
			return key + ".url"
		}
		return key + "." + strings.Join(rest, ".")
	}
	return "configuration"
}

// pathAt is the path of keys (and list indexes) to the deepest node on line.
func pathAt(n *yaml.Node, line int, prefix []string) []string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Line == line && v.Kind == yaml.ScalarNode {
				return append(prefix, k.Value)
			}
			if p := pathAt(v, line, append(prefix, k.Value)); p != nil {
				return p
			}
			if k.Line == line {
				return append(prefix, k.Value)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathAt(c, line, append(prefix, fmt.Sprint(i))); p != nil {
				return p
			}
		}
	case yaml.ScalarNode:
		if n.Line == line {
			return prefix
		}
	}
	return nil
}
