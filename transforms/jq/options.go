package jq

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

// DefaultTimeout bounds one event's run when the options do not.
const DefaultTimeout = time.Second

func init() {
	engine.Register("jq", func() engine.TransformConfig {
		return &Options{Timeout: config.Duration(DefaultTimeout)}
	})
	engine.Register("jq_file", func() engine.TransformConfig {
		return &FileOptions{Timeout: config.Duration(DefaultTimeout)}
	})
}

// Options configure the jq transform: an inline program,
// `- jq: 'include "intercom"; webhook_event'`.
type Options struct {
	Program config.Text     `yaml:"program"`
	Timeout config.Duration `yaml:"timeout"`
}

// ShorthandField lets the options be written as the program alone.
func (*Options) ShorthandField() string { return "program" }

// NewTransform compiles the program.
func (o *Options) NewTransform(bc engine.BuildContext) (engine.Transform, error) {
	if strings.TrimSpace(o.Program.Value) == "" {
		return nil, config.FieldErrorf("program", "is required")
	}
	if err := checkTimeout(o.Timeout); err != nil {
		return nil, err
	}
	code, err := compile(o.Program, baseDir(bc.File))
	if err != nil {
		return nil, err
	}
	return &Transform{code: code, timeout: o.Timeout.D(), direct: directProgram(o.Program.Value)}, nil
}

// ReferencedFiles lists the .jq and .json modules the program loads from the
// pipeline file's directory.
func (o *Options) ReferencedFiles(bc engine.BuildContext) []string {
	return referencedFiles(o.Program.Value, baseDir(bc.File))
}

// FileOptions configure the jq_file transform: a program in a .jq file,
// `- jq_file: normalise.jq`, relative to the pipeline file's directory.
type FileOptions struct {
	Path    string          `yaml:"path"`
	Timeout config.Duration `yaml:"timeout"`
}

// ShorthandField lets the options be written as the path alone.
func (*FileOptions) ShorthandField() string { return "path" }

// NewTransform reads and compiles the file; errors in it point into it.
func (o *FileOptions) NewTransform(bc engine.BuildContext) (engine.Transform, error) {
	if o.Path == "" {
		return nil, config.FieldErrorf("path", "is required")
	}
	if err := checkTimeout(o.Timeout); err != nil {
		return nil, err
	}
	path := o.resolve(bc)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, config.FieldErrorf("path", "cannot read jq program: %v", err)
	}
	code, err := compile(fileText(path, string(b)), filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return &Transform{code: code, timeout: o.Timeout.D(), direct: directProgram(string(b))}, nil
}

// ReferencedFiles is the program file and the modules it loads.
func (o *FileOptions) ReferencedFiles(bc engine.BuildContext) []string {
	path := o.resolve(bc)
	files := []string{path}
	if b, err := os.ReadFile(path); err == nil {
		files = append(files, referencedFiles(string(b), filepath.Dir(path))...)
	}
	return files
}

func (o *FileOptions) resolve(bc engine.BuildContext) string {
	if filepath.IsAbs(o.Path) {
		return o.Path
	}
	return filepath.Join(baseDir(bc.File), o.Path)
}

// checkTimeout rejects a zero timeout: it could only mean "never stop", and
// one looping program would then hold its pipeline forever.
func checkTimeout(d config.Duration) error {
	if d <= 0 {
		return config.FieldErrorf("timeout", "must be greater than 0 (default %v)", DefaultTimeout)
	}
	return nil
}

var (
	_ engine.TransformConfig = (*Options)(nil)
	_ engine.TransformConfig = (*FileOptions)(nil)
	_ engine.FileReferrer    = (*Options)(nil)
	_ engine.FileReferrer    = (*FileOptions)(nil)
	_ config.Shorthand       = (*Options)(nil)
	_ config.Shorthand       = (*FileOptions)(nil)
)
