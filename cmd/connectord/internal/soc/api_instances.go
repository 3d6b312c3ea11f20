package soc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/connectord/connectord/engine/store"
)

// list serves GET /instances.
func (a *api) list(w http.ResponseWriter, r *http.Request) {
	recs, err := a.records(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	out := make([]view, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.view(""))
	}
	writeJSON(w, http.StatusOK, out)
}

// get serves GET /instances/{id}.
func (a *api) get(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.lookup(w, r)
	if ok {
		writeJSON(w, http.StatusOK, rec.view(""))
	}
}

// delete serves DELETE /instances/{id}: the file goes first (so the reload
// stops the pipelines), then the record, the tokens and the secrets. Queued
// events stay in the store, as for any removed pipeline.
func (a *api) delete(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, ok := a.lookup(w, r)
	if !ok {
		return
	}
	if rec.File != "" {
		if err := os.Remove(rec.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			writeError(w, http.StatusInternalServerError, "", fmt.Sprintf("removing %s: %v", rec.File, err))
			return
		}
		if err := syncDir(a.d.ConfigDir); err != nil {
			a.d.Logger.Warn("instances: syncing the config directory", "error", err)
		}
	}
	if err := a.forget(r.Context(), rec); err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	a.d.Logger.Info("instances: deleted", "id", rec.ID, "name", rec.Slug, "file", rec.File)
	a.reload(r.Context())
	writeJSON(w, http.StatusOK, rec.view(""))
}

// lookup finds the {id} record, answering 400 or 404 itself.
func (a *api) lookup(w http.ResponseWriter, r *http.Request) (*Record, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "id", fmt.Sprintf("instance id %q is not a positive number", r.PathValue("id")))
		return nil, false
	}
	rec, err := a.record(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("no instance %d", id))
		return nil, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return nil, false
	}
	return rec, true
}

func jsonBytes(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return b, nil
}
