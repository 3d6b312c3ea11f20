package config

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// TestTextPosAt checks Text.PosAt against the file itself: for every
// character of every program in texts.good.yaml, the position PosAt gives
// must hold that same character.
func TestTextPosAt(t *testing.T) {
	path := casesDir + "/texts.good.yaml"
	ps, errs := LoadFile(path, goldenEnv)
	if errs != nil {
		t.Fatal(errs)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	styles := map[yaml.Style]bool{}
	for _, c := range ps[0].Transforms {
		var text Text
		switch c.Kind {
		case "jq":
			var o sampleJQ
			decodeOK(t, path, c.Node, &o)
			text = o.Program
		case "filter":
			var o sampleFilter
			decodeOK(t, path, c.Node, &o)
			text = o.Expression
		}
		styles[text.Style] = true
		for off, r := range text.Value {
			if r == '\n' {
				continue
			}
			p := text.PosAt(off)
			got := charAt(lines, p)
			if got == '\\' && text.Style == yaml.DoubleQuotedStyle {
				// An escaped character is found where its escape starts.
				got = charAt(lines, Position{Line: p.Line, Col: p.Col + 1})
			}
			if got != r {
				t.Errorf("%q (style %d) offset %d: PosAt = %d:%d holds %q, want %q",
					text.Value, text.Style, off, p.Line, p.Col, got, r)
			}
		}
	}
	for _, s := range []yaml.Style{0, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle, yaml.LiteralStyle} {
		if !styles[s] {
			t.Errorf("texts.good.yaml has no scalar of style %d", s)
		}
	}
}

// TestTextPosAtRunes checks that columns count characters, as yaml.v3's do.
func TestTextPosAtRunes(t *testing.T) {
	txt := Text{Value: "héllo wörld", Pos: Position{File: "f", Line: 3, Col: 5}}
	if got := txt.PosAt(len("héllo ")); got.Col != 5+6 {
		t.Errorf("col = %d, want %d", got.Col, 11)
	}
	if got := txt.PosAt(-1); got != txt.Pos {
		t.Errorf("negative offset: %v", got)
	}
	if got := txt.PosAt(1000); got.Col != 5+utf8.RuneCountInString(txt.Value) {
		t.Errorf("offset past the end: %v", got)
	}
}

func decodeOK(t *testing.T, file string, n *yaml.Node, out any) Positions {
	t.Helper()
	ps, errs := Decode(file, n, out)
	if errs != nil {
		t.Fatalf("Decode: %v", errs)
	}
	return ps
}

// charAt is the character at a 1-based line and character column.
func charAt(lines []string, p Position) rune {
	if p.Line < 1 || p.Line > len(lines) {
		return -1
	}
	col := 0
	for _, r := range lines[p.Line-1] {
		if col++; col == p.Col {
			return r
		}
	}
	return -1
}
