package filter

import (
	"reflect"
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

// NewTransform compiles the expression, which must be boolean by its form.
//
// The event is any JSON value, so expr types a bare path such as
// event.message.events[0].eventType as unknown, and AsBool lets an unknown
// result through: every event would then dead-letter at run time. So an
// unknown result type is a config error too; a path that holds a boolean
// is written event.flag == true, which says what is meant anyway.
func (o *Options) NewTransform(engine.BuildContext) (engine.Transform, error) {
	if strings.TrimSpace(o.Expression.Value) == "" {
		return nil, config.FieldErrorf("expression", "is required")
	}
	program, err := expr.Compile(o.Expression.Value, expr.Env(env{}), expr.AsBool(), fetchOption, expr.Patch(memberFetch{}))
	if err != nil {
		return nil, positioned(o.Expression, err)
	}
	if t := program.Node().Type(); t == nil || t.Kind() != reflect.Bool {
		return nil, config.Errorf(o.Expression.PosAt(0), "filter: expected a boolean expression, but this one's type is known only at run time "+
			"(every event would dead-letter): compare the value (== \"CREATED\"), or write == true for a field that holds true or false")
	}
	return &Transform{program: program}, nil
}

var (
	_ engine.TransformConfig = (*Options)(nil)
	_ config.Shorthand       = (*Options)(nil)
)
