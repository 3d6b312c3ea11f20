package config

import "gopkg.in/yaml.v3"

// maxNodes bounds the size of a document after aliases are expanded. A
// pipeline file has hundreds of nodes; a billion-laughs file would have
// billions. The bound is on expansion, so memory stays small either way.
const maxNodes = 100_000

// resolver copies a node tree with aliases replaced by copies of their
// anchors and merge keys (<<) applied, so every later step sees plain
// mappings. Copies keep their source positions: an error in a merged key
// points where that key was written. Duplicate keys are reported and dropped.
type resolver struct {
	file   string
	errs   *Errors
	budget int
	over   bool                // budget exhausted: stop copying
	active map[*yaml.Node]bool // nodes being copied; reaching one again is a cycle
}

func newResolver(file string, errs *Errors) *resolver {
	return &resolver{file: file, errs: errs, budget: maxNodes, active: map[*yaml.Node]bool{}}
}

// resolve returns a resolved copy of n (nil for nil).
func (r *resolver) resolve(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if r.over {
		return nullAt(n)
	}
	if r.budget--; r.budget < 0 {
		r.over = true
		r.errs.Add(NodePos(r.file, n), "document expands to more than %d nodes through aliases", maxNodes)
		return nullAt(n)
	}
	if r.active[n] {
		r.errs.Add(NodePos(r.file, n), "alias *%s refers to a node that contains it", n.Anchor)
		return nullAt(n)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nullAt(n)
		}
		return r.resolve(n.Alias)
	case yaml.ScalarNode:
		c := *n
		c.Anchor = ""
		setNote(&c, noteOf(n))
		return &c
	case yaml.MappingNode:
		r.active[n] = true
		defer delete(r.active, n)
		return r.mapping(n)
	default: // documents and sequences
		r.active[n] = true
		defer delete(r.active, n)
		c := *n
		c.Anchor = ""
		c.Content = make([]*yaml.Node, 0, len(n.Content))
		for _, item := range n.Content {
			c.Content = append(c.Content, r.resolve(item))
		}
		return &c
	}
}

// mapping copies a mapping: its own keys in order, with the keys merged in
// by << inserted where the first << stood. Own keys override merged ones;
// among several merged mappings the first one listed wins, as in YAML 1.1.
func (r *resolver) mapping(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	seen := map[string]*yaml.Node{}
	var merged []*yaml.Node
	mergeAt := -1
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			if mergeAt < 0 {
				mergeAt = len(c.Content)
			}
			merged = append(merged, r.mergeSources(v)...)
			continue
		}
		if k.Kind == yaml.ScalarNode {
			if first, dup := seen[k.Value]; dup {
				r.errs.Add(NodePos(r.file, k), "duplicate key %q (first defined at %s)", k.Value, NodePos(r.file, first))
				continue
			}
			seen[k.Value] = k
		}
		c.Content = append(c.Content, r.resolve(k), r.resolve(v))
	}
	if mergeAt < 0 {
		return &c
	}
	var extra []*yaml.Node
	for _, m := range merged {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind == yaml.ScalarNode {
				if _, dup := seen[k.Value]; dup {
					continue
				}
				seen[k.Value] = k
			}
			extra = append(extra, k, m.Content[i+1])
		}
	}
	c.Content = append(c.Content[:mergeAt], append(extra, c.Content[mergeAt:]...)...)
	return &c
}

// mergeSources resolves the value of a << key: a mapping or a list of them.
func (r *resolver) mergeSources(v *yaml.Node) []*yaml.Node {
	before := len(*r.errs)
	rv := r.resolve(v)
	switch {
	case len(*r.errs) > before:
		return nil // already reported (a cycle, too many nodes)
	case rv.Kind == yaml.MappingNode:
		return []*yaml.Node{rv}
	case rv.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, item := range rv.Content {
			if item.Kind != yaml.MappingNode {
				r.errs.Add(NodePos(r.file, item), "merge key << takes mappings, got %s", describe(item))
				continue
			}
			out = append(out, item)
		}
		return out
	default:
		r.errs.Add(NodePos(r.file, v), "merge key << takes a mapping or a list of mappings, got %s", describe(rv))
		return nil
	}
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

func nullAt(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

// describe names a node's kind for messages, without its value.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	}
	return "a string"
}
