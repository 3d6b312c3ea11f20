package filter

import (
	"strings"

	"github.com/expr-lang/expr"

	"github.com/connectord/connectord/engine"
	"github.com/connectord/connectord/engine/config"
)

func init() {
	engine.Register("filter", func() engine.TransformConfig { return &Options{} })
}

// Options configure the filter transform.
type Options struct {
	Expression config.Text `yaml:"expression"`
}

// ShorthandField lets the options be written as the expression alone.
func (*Options) ShorthandField() string { return "expression" }

// NewTransform compiles the expression; it must be able to yield a boolean.
func (o *Options) NewTransform(engine.BuildContext) (engine.Transform, error) {
	if strings.TrimSpace(o.Expression.Value) == "" {
		return nil, config.FieldErrorf("expression", "is required")
	}
	program, err := expr.Compile(o.Expression.Value, expr.Env(env{}), expr.AsBool())
	if err != nil {
		return nil, positioned(o.Expression, err)
	}
	return &Transform{program: program}, nil
}

var (
	_ engine.TransformConfig = (*Options)(nil)
	_ config.Shorthand       = (*Options)(nil)
)
