package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Position is a place in a pipeline file. Line and Col are 1-based.
type Position struct {
	File string
	Line int
	Col  int
}

// String formats the position as FILE:LINE:COL, or FILE alone when there is
// no line (an error reading the file or directory itself).
func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// NodePos is the position of n in file.
func NodePos(file string, n *yaml.Node) Position {
	if n == nil {
		return Position{File: file, Line: 1, Col: 1}
	}
	return Position{File: file, Line: n.Line, Col: n.Column}
}
