package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the config directory must be quiet before a
// reload: editors write a file in several steps (truncate, write, rename).
const DefaultDebounce = 100 * time.Millisecond

// Watch reloads whenever a pipeline file in the config directory, or a file
// a pipeline references (jq_file), is written, created, renamed or removed,
// until ctx ends. It watches directories rather than files, so editors that
// save by rename or by delete-and-create are seen, and so are new files.
// onReload, if set, is called after each reload and is then the one to
// print a rejected reload's errors (the log says only how many). The watch is in place when
// Watch returns; the events are handled in a goroutine, and done is closed
// when it ends.
func (d *Daemon) Watch(ctx context.Context, debounce time.Duration, onReload func(ReloadStatus)) (done <-chan struct{}, err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", d.cfg.ConfigDir, err)
	}
	configDir, err := filepath.Abs(d.cfg.ConfigDir)
	if err != nil {
		w.Close()
		return nil, err
	}
	// --config FILE: watch its directory (editors save by rename) and take
	// only that file's changes.
	var only string
	if fi, err := os.Stat(configDir); err == nil && !fi.IsDir() {
		only, configDir = configDir, filepath.Dir(configDir)
	}
	if err := w.Add(configDir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching %s: %w", d.cfg.ConfigDir, err)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer w.Close()
		d.watch(ctx, w, configDir, only, debounce, onReload)
	}()
	return finished, nil
}

func (d *Daemon) watch(ctx context.Context, w *fsnotify.Watcher, configDir, only string, debounce time.Duration, onReload func(ReloadStatus)) {
	watched := map[string]bool{configDir: true}
	files := map[string]bool{}
	sync := func() {
		want := map[string]bool{configDir: true}
		clear(files)
		for _, f := range d.runtime.Files() {
			if abs, err := filepath.Abs(f); err == nil {
				files[abs] = true
				want[filepath.Dir(abs)] = true
			}
		}
		for dir := range want {
			if !watched[dir] {
				if err := w.Add(dir); err != nil {
					d.cfg.Logger.Warn("cannot watch directory", "dir", dir, "error", err)
					continue
				}
				watched[dir] = true
			}
		}
	}
	sync()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if relevant(ev.Name, configDir, only, files) {
				d.cfg.Logger.Debug("config change", "file", ev.Name, "op", ev.Op.String())
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.cfg.Logger.Warn("config watcher", "error", err)
		case <-timer.C:
			st := d.reload(ctx, onReload == nil)
			sync()
			if onReload != nil {
				onReload(st)
			}
		}
	}
}

// relevant says whether a change to name can change the pipelines: a
// pipeline file in the config directory (not hidden, not an editor's temp
// file), the one config file when only is set, or a referenced file.
func relevant(name, configDir, only string, files map[string]bool) bool {
	abs, err := filepath.Abs(name)
	if err != nil {
		return false
	}
	if files[abs] {
		return true
	}
	if only != "" {
		return abs == only
	}
	if filepath.Dir(abs) != configDir {
		return false
	}
	base := filepath.Base(abs)
	if strings.HasPrefix(base, ".") {
		return false
	}
	ext := filepath.Ext(base)
	return ext == ".yaml" || ext == ".yml"
}
