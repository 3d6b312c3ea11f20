package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseYAML parses every document in src. A syntax error becomes one *Error
// at the place it was found (see locateSyntaxError).
func parseYAML(file string, src []byte) ([]*yaml.Node, *Error) {
	src, protected := protectReferences(src)
	docs, err := decodeAll(src)
	if err == nil {
		if protected {
			for _, doc := range docs {
				restoreReferences(doc)
			}
		}
		return docs, nil
	}
	msg, hint := splitYAMLError(err)
	pos := locateSyntaxError(file, src, msg, hint)
	return nil, &Error{Pos: pos, Msg: "invalid YAML: " + unprotect.Replace(msg)}
}

// decodeAll parses src into document nodes. yaml.v3 has panicked on hostile
// input before; a panic is reported as a syntax error.
func decodeAll(src []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		switch err := dec.Decode(&doc); {
		case errors.Is(err, io.EOF):
			return docs, nil
		case err != nil:
			return nil, err
		}
		docs = append(docs, &doc)
	}
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// splitYAMLError takes "yaml: line 3: did not find expected key" apart into
// the message and yaml.v3's line (0 when it gave none).
func splitYAMLError(err error) (msg string, line int) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return msg, line
}

// locateBudget bounds the bytes re-parsed to locate one syntax error, so a
// large broken file is still reported in a fraction of a second.
const locateBudget = 512 << 10

// locateSyntaxError finds where a syntax error is. yaml.v3 gives no column,
// and its line is the line where the construct holding the mistake began
// (0-based for parser errors, and missing on the first line). So starting
// at that line, this finds the shortest prefix of src that fails with the
// same message: first the line, then the character within it.
func locateSyntaxError(file string, src []byte, msg string, hint int) Position {
	l := &locator{msg: msg, budget: locateBudget}
	lines := bytes.SplitAfter(src, []byte("\n"))
	start := 0 // offset of line i
	for i, line := range lines {
		end := start + len(line)
		if i+1 >= hint {
			if fails, ok := l.fails(src[:end]); !ok {
				break
			} else if fails {
				return Position{File: file, Line: i + 1, Col: l.column(src[:start], line)}
			}
		}
		start = end
	}
	return Position{File: file, Line: max(hint, 1), Col: 1}
}

type locator struct {
	msg    string
	budget int
}

// column is the column of the first character of line whose inclusion
// makes the prefix fail, or 1 when that cannot be told. Within one line,
// once a prefix fails the longer ones do too, so a binary search will do.
func (l *locator) column(before, line []byte) int {
	var ends []int // byte offset just past each character
	for j := 0; j < len(line); {
		_, size := utf8.DecodeRune(line[j:])
		j += size
		ends = append(ends, j)
	}
	lo, hi := 0, len(ends) // the answer is in ends[lo:hi], or none fails
	for lo < hi {
		mid := (lo + hi) / 2
		fails, ok := l.fails(append(before[:len(before):len(before)], line[:ends[mid]]...))
		if !ok {
			return 1
		}
		if fails {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(ends) {
		return 1
	}
	return lo + 1
}

// fails reports whether prefix fails to parse with the message sought; ok
// is false once the budget is spent.
func (l *locator) fails(prefix []byte) (fails, ok bool) {
	if l.budget -= len(prefix); l.budget < 0 {
		return false, false
	}
	_, err := decodeAll(prefix)
	if err == nil {
		return false, true
	}
	m, _ := splitYAMLError(err)
	return m == l.msg, true
}

// noteBlockIndents records, for every block scalar under n, the column where
// its content starts, which only the file text shows. For a literal scalar
// it is exact even with an indentation indicator: the first non-empty
// content line is the file line minus the indentation.
func noteBlockIndents(n *yaml.Node, lines []string) {
	walkScalars(n, func(s *yaml.Node) {
		if s.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			return
		}
		if indent := blockIndent(s, lines); indent > 0 {
			setNote(s, scalarNote{indent: indent})
		}
	})
}

func blockIndent(s *yaml.Node, lines []string) int {
	if s.Style&yaml.LiteralStyle != 0 {
		for i, vl := range strings.Split(s.Value, "\n") {
			at := s.Line + i // 0-based index of the file line holding content line i
			if vl == "" || at >= len(lines) {
				continue
			}
			raw := lines[at]
			if indent, ok := strings.CutSuffix(raw, vl); ok && strings.Trim(indent, " ") == "" {
				return len(indent) + 1
			}
			break
		}
	}
	for at := s.Line; at < len(lines); at++ {
		if t := strings.TrimLeft(lines[at], " "); t != "" {
			return len(lines[at]) - len(t) + 1
		}
	}
	return 0
}

// fileLines splits src into lines without their line breaks.
func fileLines(src []byte) []string {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
