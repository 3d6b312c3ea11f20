package filter

import (
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// expr reads a member such as event.message through reflection
// (runtime.Fetch), and reflect's MapIndex copies the value it finds into a
// new allocation: one per member read, per event. An event is made of
// map[string]any, so the compiled program reads members through fetch,
// which indexes such a map directly and leaves every other value to
// runtime.Fetch: the same values, nil for a missing key, the same errors at
// the same place in the expression.

// fetchName is the function's name in the compiled program. No name in an
// expression can hold a dot, so no expression can call it or shadow it
// ($connectord.fetch(...) reads as a member of the unknown $connectord).
const fetchName = "$connectord.fetch"

// fetchOption registers fetch for the patched programs.
var fetchOption = expr.Function(fetchName, fetch, new(func(any, string) any))

func fetch(args ...any) (any, error) {
	if m, ok := args[0].(map[string]any); ok {
		return m[args[1].(string)], nil
	}
	return runtime.Fetch(args[0], args[1]), nil
}

// memberFetch rewrites obj.name and obj["name"] into fetch(obj, "name")
// where expr would call runtime.Fetch on a value typed any or
// map[string]any. It leaves alone method calls, struct fields (the
// environment's event and meta, which expr loads by index without
// allocating) and optional chains: a?.b.c ends at a nil a before .c, a
// jump the compiler makes only for member nodes.
type memberFetch struct{}

func (memberFetch) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.MemberNode)
	if !ok || n.Optional || n.Method {
		return
	}
	name, ok := n.Property.(*ast.StringNode)
	if !ok || !fetchesFromMap(n.Node.Type()) || hasOptional(n.Node) {
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: fetchName},
		Arguments: []ast.Node{n.Node, name},
	})
}

// fetchesFromMap reports whether expr would read a member of a value of
// type t with runtime.Fetch and could find a map[string]any there.
func fetchesFromMap(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.Interface || t == objectType
}

var objectType = reflect.TypeFor[map[string]any]()

// hasOptional reports whether n contains an optional member (?.).
func hasOptional(n ast.Node) bool {
	var f optionalFinder
	ast.Walk(&n, &f)
	return f.found
}

type optionalFinder struct{ found bool }

func (f *optionalFinder) Visit(node *ast.Node) {
	if m, ok := (*node).(*ast.MemberNode); ok && m.Optional {
		f.found = true
	}
}
