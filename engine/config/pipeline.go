package config

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// pipelineKeys are the keys of a pipeline mapping, in the order written.
var pipelineKeys = []string{"name", "description", "source", "transforms", "sink", "max_queue_events", "max_queue_bytes", "when_full", "delivery"}

// MaxNameLen bounds a pipeline name; names key durable state.
const MaxNameLen = 100

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// fileParser turns a resolved document into pipelines.
type fileParser struct {
	file string
	errs *Errors
}

func (fp *fileParser) add(n *yaml.Node, format string, args ...any) {
	fp.errs.Add(NodePos(fp.file, n), format, args...)
}

// document reads a file's root: one pipeline, or a pipelines: list.
func (fp *fileParser) document(root *yaml.Node) []Pipeline {
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		fp.add(root, "expected a pipeline (a mapping with name, source, transforms and sink) or pipelines: [...], got %s", describe(root))
		return nil
	}
	list := mappingValue(root, "pipelines")
	if list == nil {
		return []Pipeline{fp.pipeline(root, true)}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value != "pipelines" {
			fp.add(k, "unexpected key %q beside pipelines: a file holds one pipeline or a pipelines: list", k.Value)
		}
	}
	if isNull(list) {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		fp.add(list, "pipelines: expected a list of pipelines, got %s", describe(list))
		return nil
	}
	var out []Pipeline
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			fp.add(item, "expected a pipeline (a mapping with name, source, transforms and sink), got %s", describe(item))
			continue
		}
		out = append(out, fp.pipeline(item, false))
	}
	return out
}

// pipeline reads one pipeline mapping. At a file's root, a misspelt
// "pipelines" is among the suggestions.
func (fp *fileParser) pipeline(n *yaml.Node, atRoot bool) Pipeline {
	p := Pipeline{Pos: NodePos(fp.file, n), File: fp.file,
		Queue:    QueueLimits{MaxEvents: DefaultMaxQueueEvents, MaxBytes: DefaultMaxQueueBytes, WhenFull: "reject"},
		Delivery: Delivery{Partitions: DefaultPartitions}}
	var hasSource, hasSink bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			fp.add(k, "keys must be strings, got %s", describe(k))
			continue
		}
		switch k.Value {
		case "name":
			p.Name, p.NamePos = fp.name(v), NodePos(fp.file, v)
		case "description":
			p.Description = fp.description(v)
		case "source":
			p.Source, hasSource = fp.component("source", v)
		case "sink":
			p.Sink, hasSink = fp.component("sink", v)
		case "transforms":
			p.Transforms = fp.transforms(v)
		case "max_queue_events", "max_queue_bytes", "when_full":
			fp.queueKey(&p.Queue, k.Value, v)
		case "delivery":
			fp.delivery(&p.Delivery, v)
		default:
			valid := pipelineKeys
			if atRoot {
				valid = append(valid[:len(valid):len(valid)], "pipelines")
			}
			fp.add(k, "%s", unknownKey("key", k.Value, "", "pipeline", valid))
		}
	}
	label := "pipeline"
	if p.Name != "" {
		label = fmt.Sprintf("pipeline %q", p.Name)
	}
	if mappingValue(n, "name") == nil {
		fp.add(n, "%s has no name", label)
	}
	if mappingValue(n, "source") == nil {
		fp.add(n, "%s has no source", label)
	}
	if mappingValue(n, "sink") == nil {
		fp.add(n, "%s has no sink", label)
	}
	if hasSource && hasSink {
		p.Hash = pipelineHash(&p)
	}
	p.Defaults = fp.defaults(n)
	return p
}

// defaults lists the values under n that took a ${VAR:-default} default.
// An anchor's value appears in each pipeline that uses it: the resolved
// copies keep their notes and positions.
func (fp *fileParser) defaults(n *yaml.Node) []Default {
	var out []Default
	walkScalars(n, func(s *yaml.Node) {
		names := noteOf(s).defaulted
		if names == "" {
			return
		}
		for name := range strings.SplitSeq(names, ",") {
			out = append(out, Default{Var: name, Value: s.Value, Pos: NodePos(fp.file, s)})
		}
	})
	return out
}

// name checks a pipeline name; it returns "" for an invalid one.
func (fp *fileParser) name(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		fp.add(v, "pipeline name: expected a string, got %s", describe(v))
		return ""
	}
	name := v.Value
	shown := fmt.Sprintf("%q", name)
	if FromEnv(v) {
		shown = "(from the environment)"
	}
	switch {
	case isNull(v) || name == "":
		fp.add(v, "pipeline name is empty")
	case len(name) > MaxNameLen:
		fp.add(v, "pipeline name is longer than %d characters", MaxNameLen)
	case !validName.MatchString(name):
		fp.add(v, `pipeline name %s is invalid: use only letters, digits, ".", "_" and "-"`, shown)
	default:
		return name
	}
	return ""
}

func (fp *fileParser) description(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		fp.add(v, "description: expected a string, got %s", describe(v))
		return ""
	}
	if isNull(v) {
		return ""
	}
	return v.Value
}

// component reads `kind: options`, a mapping with exactly one key.
func (fp *fileParser) component(role string, v *yaml.Node) (Component, bool) {
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		got := describe(v)
		if v.Kind == yaml.MappingNode {
			got = "an empty mapping"
		}
		fp.add(v, "%s: expected one component written as kind: options (e.g. %s), got %s", role, example(role), got)
		return Component{}, false
	}
	if len(v.Content) > 2 {
		kinds := make([]string, 0, len(v.Content)/2)
		for i := 0; i < len(v.Content); i += 2 {
			kinds = append(kinds, fmt.Sprintf("%q", v.Content[i].Value))
		}
		fp.add(v.Content[2], "%s: expected exactly one component, got %d (%s)", role, len(kinds), strings.Join(kinds, ", "))
		return Component{}, false
	}
	k := v.Content[0]
	if k.Kind != yaml.ScalarNode || isNull(k) || k.Value == "" {
		fp.add(k, "%s: the component kind must be a name, got %s", role, describe(k))
		return Component{}, false
	}
	return Component{Kind: k.Value, Pos: NodePos(fp.file, k), Node: v.Content[1]}, true
}

func (fp *fileParser) transforms(v *yaml.Node) []Component {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		fp.add(v, "transforms: expected a list, got %s", describe(v))
		return nil
	}
	out := make([]Component, 0, len(v.Content))
	for _, item := range v.Content {
		if c, ok := fp.component("transform", item); ok {
			out = append(out, c)
		}
	}
	return out
}

func example(role string) string {
	switch role {
	case "source":
		return "intercom_webhook: {path: /webhooks/intercom}"
	case "sink":
		return "http: {url: ...}"
	}
	return "jq: '.'"
}

// mappingValue is the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
