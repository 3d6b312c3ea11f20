package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

// Built is a pipeline whose components are constructed and validated but not
// started. Building does no I/O beyond reading referenced files, so
// `connectord validate` builds every pipeline.
type Built struct {
	Spec       config.Pipeline
	Source     engine.Source
	Transforms []engine.Transform
	Sink       engine.Sink
	Policy     engine.Policy
	// Files are the files besides Spec.File that the pipeline reads.
	Files []string
	// Hash identifies the effective configuration, including the content of
	// Files: reload leaves a running pipeline alone while it is unchanged.
	Hash string
}

// Name is the pipeline's name.
func (b *Built) Name() string { return b.Spec.Name }

// Path is the webhook path if the source is an HTTPSource, else "".
func (b *Built) Path() string {
	if hs, ok := b.Source.(engine.HTTPSource); ok {
		return hs.Path()
	}
	return ""
}

// BuildOptions are shared by every pipeline's components.
type BuildOptions struct {
	Logger *slog.Logger
	Clock  engine.Clock
}

// Build constructs every pipeline. It returns every error found, each at a
// FILE:LINE:COL, rather than stopping at the first; on error the built
// pipelines are nil.
func Build(specs []config.Pipeline, opts BuildOptions) ([]*Built, config.Errors) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Clock == nil {
		opts.Clock = engine.SystemClock{}
	}
	var (
		out   []*Built
		errs  config.Errors
		paths = map[string]config.Position{}
	)
	for _, spec := range specs {
		b, es := buildOne(spec, opts)
		errs = append(errs, es...)
		if b == nil {
			continue
		}
		if p := b.Path(); p != "" {
			if first, dup := paths[p]; dup {
				errs.Add(spec.Source.Pos, "webhook path %q is already used (first at %s)", p, first)
			} else {
				paths[p] = spec.Source.Pos
			}
		}
		out = append(out, b)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return out, nil
}

func buildOne(spec config.Pipeline, opts BuildOptions) (*Built, config.Errors) {
	bc := engine.BuildContext{
		Pipeline: spec.Name,
		File:     spec.File,
		Logger:   opts.Logger.With("pipeline", spec.Name),
		Clock:    opts.Clock,
	}
	var (
		errs  config.Errors
		files []string
	)
	b := &Built{Spec: spec}

	if cfg, ps, es := decodeComponent[engine.SourceConfig](spec.Source, "source"); es != nil {
		errs = append(errs, es...)
	} else {
		files = append(files, referencedFiles(cfg, bc)...)
		src, err := cfg.NewSource(bc)
		errs = append(errs, ps.Resolve(err)...)
		b.Source = src
	}
	for _, t := range spec.Transforms {
		cfg, ps, es := decodeComponent[engine.TransformConfig](t, "transform")
		if es != nil {
			errs = append(errs, es...)
			continue
		}
		files = append(files, referencedFiles(cfg, bc)...)
		tr, err := cfg.NewTransform(bc)
		errs = append(errs, ps.Resolve(err)...)
		b.Transforms = append(b.Transforms, tr)
	}
	if cfg, ps, es := decodeComponent[engine.SinkConfig](spec.Sink, "sink"); es != nil {
		errs = append(errs, es...)
	} else {
		files = append(files, referencedFiles(cfg, bc)...)
		sink, err := cfg.NewSink(bc)
		errs = append(errs, ps.Resolve(err)...)
		b.Sink = sink
	}
	if len(errs) > 0 {
		return nil, errs
	}
	b.Policy = engine.DefaultPolicy
	if ps, ok := b.Sink.(engine.PolicySink); ok {
		b.Policy = ps.Policy()
	}
	if b.Policy.MaxInFlight < 1 {
		b.Policy.MaxInFlight = 1
	}
	b.Files = files
	hash, err := hashWithFiles(spec.Hash, files)
	if err != nil {
		return nil, config.Errors{config.Errorf(spec.Pos, "%v", err)}
	}
	b.Hash = hash
	return b, nil
}

// decodeComponent looks the component's kind up in the registry and decodes
// its options strictly. The positions it returns place constructor errors:
// at the named field, or at the component's kind key.
func decodeComponent[T any](c config.Component, role string) (T, config.Positions, config.Errors) {
	var zero T
	cfg, ok := engine.NewConfig[T](c.Kind)
	if !ok {
		known := engine.Kinds[T]()
		msg := fmt.Sprintf("unknown %s %q", role, c.Kind)
		if s := config.Suggest(c.Kind, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
		}
		return zero, nil, config.Errors{config.Errorf(c.Pos, "%s", msg)}
	}
	ps, errs := config.Decode(c.Pos.File, c.Node, cfg)
	if len(errs) > 0 {
		for _, e := range errs {
			e.Msg = c.Kind + ": " + e.Msg
		}
		return zero, nil, errs
	}
	if ps == nil {
		ps = config.Positions{}
	}
	// Errors about the component as a whole point at its kind key.
	ps[""] = c.Pos
	return cfg, ps, nil
}

func referencedFiles(cfg any, bc engine.BuildContext) []string {
	if fr, ok := cfg.(engine.FileReferrer); ok {
		return fr.ReferencedFiles(bc)
	}
	return nil
}

// hashWithFiles folds the content of referenced files into the config hash,
// so editing a jq_file reloads its pipeline.
func hashWithFiles(specHash string, files []string) (string, error) {
	if len(files) == 0 {
		return specHash, nil
	}
	h := sha256.New()
	io.WriteString(h, specHash)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", filepath.Base(f), err)
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
