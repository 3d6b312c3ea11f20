package config

import "gopkg.in/yaml.v3"

// Env looks up an environment variable; os.LookupEnv in production.
type Env func(name string) (string, bool)

// Load reads every *.yaml and *.yml file in dir (not recursing), in name
// order, and returns all pipelines, or every error found in all files.
// Names must be unique across dir; a duplicate names both places.
func Load(dir string, env Env) ([]Pipeline, Errors) {
	panic("TODO: config helper")
}

// LoadFile reads one pipeline file.
func LoadFile(path string, env Env) ([]Pipeline, Errors) {
	panic("TODO: config helper")
}

// Decode decodes the options node n (written in file) strictly into out, a
// pointer to a struct with yaml tags: unknown keys are errors with a "did you
// mean" suggestion, type mismatches are errors at the value, and every error
// is collected rather than only the first. It returns where each field was
// written so later validation errors (FieldError) can point at them.
func Decode(file string, n *yaml.Node, out any) (Positions, Errors) {
	panic("TODO: config helper")
}
