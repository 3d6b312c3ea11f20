package filter

import (
	"errors"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"

	"github.com/connectord/connectord/engine/config"
)

// positioned turns an expr compile error into a *config.Error at its place
// in the pipeline file: a syntax or type error at the character expr names,
// anything else (a non-boolean result type) at the expression's start.
func positioned(text config.Text, err error) *config.Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return config.Errorf(text.PosAt(byteOffset(text.Value, fe.From)), "filter: %s", fe.Message)
	}
	return config.Errorf(text.PosAt(0), "filter: %s", err.Error())
}

// byteOffset converts expr's location, counted in runes, to the byte offset
// config.Text.PosAt expects.
func byteOffset(s string, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}
