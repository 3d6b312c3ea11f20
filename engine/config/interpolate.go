package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// interpolator replaces ${VAR} and ${VAR:-default} in the values of a parsed
// document. Working on scalar nodes rather than on the file text means an
// environment value can never change the YAML structure (a value with "#",
// ": " or a newline stays one string), and positions stay those of the file.
//
// ${VAR:-default} uses default when VAR is unset or empty, as in the shell.
// A default runs to the first "}" and may not contain "${". $${ is a literal
// ${. Keys are not interpolated. A value is substituted once: a "${" inside
// it stays as is.
type interpolator struct {
	file string
	env  Env
	errs *Errors
}

// walk interpolates every value scalar under n. Aliases are not followed:
// the node they point to is interpolated once, where its anchor is.
func (ip *interpolator) walk(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		ip.scalar(n)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			ip.walk(n.Content[i])
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			ip.walk(c)
		}
	}
}

func (ip *interpolator) scalar(n *yaml.Node) {
	s := n.Value
	if !strings.Contains(s, "${") {
		return
	}
	var b strings.Builder
	var defaulted []string
	fromEnv, failed := false, false
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		if j > 0 && s[j-1] == '$' {
			// $${ is an escaped ${: the first $ was already copied.
			b.WriteString(s[i:j] + "{")
			i = j + 2
			continue
		}
		b.WriteString(s[i:j])
		value, env, end, msg := ip.reference(s, j)
		if msg != "" {
			failed = true
			ip.errs.Add(ip.pos(n, j), "%s", msg)
		}
		if end < 0 {
			break // unterminated: nothing after it can be read reliably
		}
		b.WriteString(value)
		fromEnv = fromEnv || env
		if name, ok := defaultUsed(s[j:end], env); ok {
			defaulted = append(defaulted, name)
		}
		i = end
	}
	if failed {
		return
	}
	n.Value = b.String()
	if n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		// A plain scalar's type follows its new text: ${N:-15} is an int.
		n.Tag = ""
		n.Tag = n.ShortTag()
	}
	if fromEnv || len(defaulted) > 0 {
		note := noteOf(n)
		note.fromEnv = note.fromEnv || fromEnv
		note.defaulted = strings.Join(defaulted, ",")
		setNote(n, note)
	}
}

// defaultUsed reports the variable of ref, a "${NAME:-default}" just
// substituted, when the value came from its default rather than from the
// environment.
func defaultUsed(ref string, fromEnv bool) (string, bool) {
	if fromEnv || !strings.HasPrefix(ref, "${") {
		return "", false
	}
	name, _, hasDefault := strings.Cut(strings.TrimSuffix(ref[2:], "}"), ":-")
	if !hasDefault || isPollerPlaceholder(name) {
		return "", false
	}
	return name, true
}

// reference reads the ${...} starting at s[start]. It returns the value,
// whether it came from the environment (rather than a default), the index
// just past the "}" (-1 if there is none) and an error message.
func (ip *interpolator) reference(s string, start int) (value string, fromEnv bool, end int, msg string) {
	body := s[start+2:]
	close := strings.IndexByte(body, '}')
	if close < 0 {
		return "", false, -1, `unterminated "${" (missing "}")`
	}
	end = start + 2 + close + 1
	ref := body[:close]
	if isPollerPlaceholder(ref) {
		return s[start:end], false, end, "" // left for the poller to expand
	}
	name, def, hasDefault := strings.Cut(ref, ":-")
	switch {
	case !validVarName(name):
		return "", false, end, `malformed variable reference "${` + ref + `}" (use ${NAME} or ${NAME:-default}; a name is letters, digits and _)`
	case hasDefault && strings.Contains(def, "${"):
		return "", false, end, `nested "${" in the default of ${` + name + `} is not supported`
	}
	if v, ok := ip.env(name); ok && (v != "" || !hasDefault) {
		return v, true, end, ""
	}
	if hasDefault {
		return def, false, end, ""
	}
	return "", false, end, `environment variable "` + name + `" is not set (use ${` + name + `:-default} for a default)`
}

// pos is the file position of byte offset off in n's value.
func (ip *interpolator) pos(n *yaml.Node, off int) Position {
	t := Text{Value: n.Value, Pos: NodePos(ip.file, n), Style: n.Style, Indent: noteOf(n).indent}
	return t.PosAt(off)
}

// pollerPlaceholders are SAP Open Connectors' date placeholders in a
// poller's url ("${gmtDate:yyyy-MM-dd}", "${epoch:ms}", "${date}"). They are
// not environment variables: the loader leaves them for the poller, so the
// seed's URLs can be pasted as written. These names cannot be used as
// environment variables in pipeline files.
var pollerPlaceholders = map[string]bool{
	"gmtDate": true, "date": true, "dateTimeZone": true, "DateTimeZone": true, "epoch": true, "milliseconds": true,
}

func isPollerPlaceholder(ref string) bool {
	name, rest, hasColon := strings.Cut(ref, ":")
	if hasColon && strings.HasPrefix(rest, "-") {
		return false // ${date:-default} is an environment variable with a default
	}
	return pollerPlaceholders[name]
}

func validVarName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
