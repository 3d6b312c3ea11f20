package soc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/connectord/connectord/engine/store"
	"golang.org/x/oauth2"
)

// list serves GET /instances.
func (a *Instances) list(w http.ResponseWriter, r *http.Request) {
	recs, err := a.records(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	out := make([]view, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.view("", a.d.PublicURL()))
	}
	writeJSON(w, http.StatusOK, out)
}

// get serves GET /instances/{id}.
func (a *Instances) get(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.lookup(w, r)
	if ok {
		writeJSON(w, http.StatusOK, rec.view("", a.d.PublicURL()))
	}
}

// delete serves DELETE /instances/{id}: the file goes first (so the reload
// stops the pipelines), then the record, the tokens and the secrets. Queued
// events stay in the store, as for any removed pipeline.
func (a *Instances) delete(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, ok := a.lookup(w, r)
	if !ok {
		return
	}
	if err := a.remove(r.Context(), rec); err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rec.view("", a.d.PublicURL()))
}

func (a *Instances) remove(ctx context.Context, rec *Record) error {
	if rec.File != "" {
		if err := os.Remove(rec.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", rec.File, err)
		}
		if err := syncDir(a.d.ConfigDir); err != nil {
			a.d.Logger.Warn("instances: syncing the config directory", "error", err)
		}
	}
	if err := a.forget(ctx, rec); err != nil {
		return err
	}
	a.d.Logger.Info("instances: deleted", "id", rec.ID, "name", rec.Slug, "file", rec.File)
	a.reload(ctx)
	return nil
}

// Records lists the instances, by id.
func (a *Instances) Records(ctx context.Context) ([]*Record, error) { return a.records(ctx) }

// Record returns instance id; the error wraps store.ErrNotFound when there
// is none.
func (a *Instances) Record(ctx context.Context, id int64) (*Record, error) { return a.record(ctx, id) }

// Delete is DELETE /instances/{id}.
func (a *Instances) Delete(ctx context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, err := a.record(ctx, id)
	if err != nil {
		return err
	}
	return a.remove(ctx, rec)
}

// Patch is PATCH /instances/{id} with body.
func (a *Instances) Patch(ctx context.Context, id int64, body []byte) (*Record, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, err := a.record(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.Update(ctx, rec, body, false)
}

// WebhookBase is the base of webhook URLs.
func (a *Instances) WebhookBase() string { return a.d.PublicURL() }

// OAuth is the OAuth configuration the console's "Connect Intercom" runs:
// the request's client credentials, redirect to redirectURL, and the
// authorize and token URLs of Deps (Intercom's by default).
func (a *Instances) OAuth(clientID, clientSecret, redirectURL string) *oauth2.Config {
	return OAuthConfig(clientID, clientSecret, redirectURL, a.d.AuthorizeURL, a.d.TokenURL)
}

// lookup finds the {id} record, answering 400 or 404 itself.
func (a *Instances) lookup(w http.ResponseWriter, r *http.Request) (*Record, bool) {
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
