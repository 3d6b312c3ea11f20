package admin

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connectord/connectord/engine/runner"
)

// ReloadStatus is the outcome of the last (re)load of the config directory.
// The daemon records it; the status API, the page and the CLI show it.
type ReloadStatus struct {
	At     time.Time          `json:"at"`
	OK     bool               `json:"ok"`
	Error  string             `json:"error,omitempty"`
	Result runner.ApplyResult `json:"result"`
}

// ResultWord is "ok" or "error", as in the reload metric's label.
func (r ReloadStatus) ResultWord() string {
	if r.OK {
		return "ok"
	}
	return "error"
}

// PipelineReload is what the last reload meant for one pipeline.
type PipelineReload struct {
	At     time.Time `json:"at,omitzero"`
	Result string    `json:"result,omitempty"` // ok | error
	// Action is what an accepted reload did: started, replaced, unchanged
	// or stopped.
	Action string `json:"action,omitempty"`
	// Error holds the rejected reload's errors that name this pipeline's
	// file; a reload is accepted or rejected as a whole, so a pipeline
	// whose own file was fine still reports the rejection.
	Error string `json:"error,omitempty"`
}

// forPipeline narrows the last reload to one pipeline.
func (r ReloadStatus) forPipeline(name, file string) PipelineReload {
	if r.At.IsZero() {
		return PipelineReload{}
	}
	pr := PipelineReload{At: r.At, Result: r.ResultWord()}
	if !r.OK {
		pr.Error = errorsForFile(r.Error, file)
		return pr
	}
	for action, names := range map[string][]string{
		"started": r.Result.Started, "replaced": r.Result.Replaced,
		"unchanged": r.Result.Unchanged, "stopped": r.Result.Stopped,
	} {
		if slices.Contains(names, name) {
			pr.Action = action
		}
	}
	return pr
}

// errorsForFile picks the lines of a config error (FILE:LINE:COL: message,
// one per line) that are about file.
func errorsForFile(msg, file string) string {
	if file == "" {
		return msg
	}
	var mine []string
	for line := range strings.SplitSeq(msg, "\n") {
		if strings.HasPrefix(line, file+":") || strings.HasPrefix(line, filepath.Base(file)+":") {
			mine = append(mine, line)
		}
	}
	if len(mine) == 0 {
		return "reload rejected by errors in other files; this pipeline kept its running configuration"
	}
	return strings.Join(mine, "\n")
}
