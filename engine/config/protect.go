package config

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"
)

// In a flow collection, braces are YAML syntax, so the CONTRACT's
// `http: {url: ${CALLBACK_URL}}` would not parse. Before parsing, the braces
// of every ${...} (and $${...}) on one line are swapped for two private-use
// characters, which YAML treats as ordinary text; after parsing they are
// swapped back in every scalar. One character for one keeps yaml.v3's
// line:column positions (which count characters) exact.
const (
	openMark  = "\uE000"
	closeMark = "\uE001"
)

var unprotect = strings.NewReplacer(openMark, "{", closeMark, "}")

// protectReferences returns src with the braces of variable references
// replaced, and whether it changed anything. A file that already holds the
// marker characters is left alone.
func protectReferences(src []byte) ([]byte, bool) {
	if !bytes.Contains(src, []byte("${")) ||
		bytes.Contains(src, []byte(openMark)) || bytes.Contains(src, []byte(closeMark)) {
		return src, false
	}
	var out bytes.Buffer
	out.Grow(len(src) + 16)
	rest := src
	for {
		i := bytes.Index(rest, []byte("${"))
		if i < 0 {
			out.Write(rest)
			break
		}
		body := rest[i+2:]
		end := bytes.IndexAny(body, "{}\n")
		if end < 0 || body[end] != '}' {
			// Unterminated or nested: leave it for the interpolator to report.
			out.Write(rest[:i+2])
			rest = body
			continue
		}
		out.Write(rest[:i+1])
		out.WriteString(openMark)
		out.Write(body[:end])
		out.WriteString(closeMark)
		rest = body[end+1:]
	}
	return out.Bytes(), true
}

// restoreReferences puts the braces back in every scalar under n.
func restoreReferences(n *yaml.Node) {
	walkScalars(n, func(s *yaml.Node) {
		if strings.Contains(s.Value, openMark) || strings.Contains(s.Value, closeMark) {
			s.Value = unprotect.Replace(s.Value)
		}
	})
}
