package jq

import (
	"errors"
	"path/filepath"

	"github.com/itchyny/gojq"

	"github.com/connectord/connectord/engine/config"
)

// metaVar is the variable the event's metadata is bound to.
const metaVar = "$meta"

// compile parses and compiles program, whose modules are looked up in dir.
// Errors are *config.Error pointing into the program's file.
func compile(program config.Text, dir string) (*gojq.Code, error) {
	q, err := gojq.Parse(program.Value)
	if err != nil {
		return nil, positioned(program, err)
	}
	opts := append([]gojq.CompilerOption{
		gojq.WithModuleLoader(moduleLoader{dir: dir}),
		gojq.WithVariables([]string{metaVar}),
	}, nativeFunctions...)
	code, err := gojq.Compile(q, opts...)
	if err != nil {
		return nil, positioned(program, err)
	}
	return code, nil
}

// positioned turns a gojq error into a *config.Error: a syntax error at the
// offending token (in program, or in the module file it came from), any
// other compile error (an undefined function, a missing module) at the start
// of the program, since gojq does not say where.
func positioned(program config.Text, err error) *config.Error {
	text := program
	var me *moduleError
	if errors.As(err, &me) {
		text = me.text
	}
	var pe *gojq.ParseError
	if errors.As(err, &pe) {
		// Offset is just past the offending token.
		return config.Errorf(text.PosAt(pe.Offset-len(pe.Token)), "jq: %s", pe.Error())
	}
	return config.Errorf(text.PosAt(0), "jq: %s", err.Error())
}

// baseDir is the directory relative paths in a pipeline file resolve
// against.
func baseDir(pipelineFile string) string {
	if pipelineFile == "" {
		return "."
	}
	return filepath.Dir(pipelineFile)
}
