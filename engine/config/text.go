package config

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Text is a string that remembers where it was written, so errors found in
// it (a jq or expr syntax error at some offset) can point into the file.
type Text struct {
	Value string
	Pos   Position // position of the scalar node
	Style yaml.Style
	// Indent is the column (1-based) where a block scalar's content starts.
	Indent int
}

// PosAt maps a byte offset in Value to a file position. It is exact for
// literal block scalars (with Indent set, as Decode sets it for nodes from
// Load) and for single-line plain and quoted scalars, where an escaped
// character maps to the start of its escape; other escapes (\t, \u00e9),
// folded and multi-line flow scalars, and values changed by interpolation
// come out close. Columns count characters, as yaml.v3's do.
func (t Text) PosAt(offset int) Position {
	if offset < 0 {
		offset = 0
	}
	if offset > len(t.Value) {
		offset = len(t.Value)
	}
	before := t.Value[:offset]
	nl := strings.Count(before, "\n")
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	p := t.Pos
	switch {
	case t.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		indent := t.Indent
		if indent == 0 {
			indent = p.Col + 2
		}
		return Position{File: p.File, Line: p.Line + 1 + nl, Col: indent + col}
	case t.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if nl == 0 {
			return Position{File: p.File, Line: p.Line, Col: p.Col + 1 + col + escapes(t.Style, before)}
		}
		return Position{File: p.File, Line: p.Line + nl, Col: col + 1}
	default:
		if nl == 0 {
			return Position{File: p.File, Line: p.Line, Col: p.Col + col}
		}
		return Position{File: p.File, Line: p.Line + nl, Col: col + 1}
	}
}

// escapes counts the characters in before that a quoted scalar must have
// written as two: a single quote inside single quotes, a double quote or a
// backslash inside double quotes.
func escapes(style yaml.Style, before string) int {
	if style&yaml.SingleQuotedStyle != 0 {
		return strings.Count(before, "'")
	}
	return strings.Count(before, `"`) + strings.Count(before, `\`)
}
