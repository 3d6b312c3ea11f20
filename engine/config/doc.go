// Package config reads pipeline files: it finds them in a directory, parses
// the YAML, substitutes ${VAR} from the environment, resolves anchors and
// merge keys, and checks the pipeline structure (name, source, transforms,
// sink). Component options are left as YAML nodes; the engine decodes each
// into its registered options struct with Decode, which is strict and
// reports every error as FILE:LINE:COL: message.
//
// Errors never contain a value that came from the environment or a Secret.
package config
