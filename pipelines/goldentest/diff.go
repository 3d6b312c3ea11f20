package goldentest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc
}

// diff is a line diff of want and got. Bodies are one line of JSON, so
// lines that are JSON are expanded (pretty-printed) first: a changed field
// shows as one changed line rather than a changed kilobyte.
func diff(want, got string) string {
	a, b := expand(want), expand(got)
	ops := lcsDiff(a, b)
	var sb strings.Builder
	sb.WriteString("--- expected.http\n+++ actual\n")
	const context = 3
	for i := 0; i < len(ops); i++ {
		if ops[i].kind == ' ' {
			near := false
			for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
				if ops[j].kind != ' ' {
					near = true
				}
			}
			if !near {
				if i > 0 && ops[i-1].kind == ' ' && sb.Len() > 0 && !strings.HasSuffix(sb.String(), "...\n") {
					sb.WriteString("...\n")
				}
				continue
			}
		}
		fmt.Fprintf(&sb, "%c %s\n", ops[i].kind, ops[i].line)
	}
	return sb.String()
}

func expand(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if len(t) > 80 && (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			var buf bytes.Buffer
			if json.Indent(&buf, []byte(t), "", "  ") == nil {
				out = append(out, strings.Split(buf.String(), "\n")...)
				continue
			}
		}
		out = append(out, line)
	}
	return out
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

// lcsDiff is the classic longest-common-subsequence diff; expected files
// are small, so O(n·m) is fine.
func lcsDiff(a, b []string) []diffOp {
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case l[i+1][j] >= l[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
