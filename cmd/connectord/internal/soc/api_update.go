package soc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

// update serves PATCH /instances/{id} (replace false: the body's
// configuration keys are merged into the instance's, null deletes one) and
// PUT /instances/{id} (replace true: the body's configuration is the new
// one). Either changes the events configuration, the callback URL or the
// signature key; a secret sent back as "********" keeps the stored one. The
// pipelines file is rewritten through the same Convert and Check as a
// create, so hot reload applies it. The name cannot change: pipeline state
// is keyed by it.
func (a *Instances) update(replace bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeError(w, http.StatusBadRequest, "body", "reading the body: "+err.Error())
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		rec, ok := a.lookup(w, r)
		if !ok {
			return
		}
		rec, err = a.Update(r.Context(), rec, body, replace)
		if err != nil {
			writeBadRequest(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec.view("", a.d.PublicURL()))
	}
}

// Update applies a PATCH (replace false) or PUT body to rec. Call with a.mu
// held. Errors are *BadRequestError for the request's faults.
func (a *Instances) Update(ctx context.Context, rec *Record, body []byte, replace bool) (*Record, error) {
	top, err := object(body, "body")
	if err != nil {
		return nil, err
	}
	cfg := map[string]json.RawMessage{}
	if !replace {
		for k, v := range rec.Configuration {
			cfg[k] = v
		}
	}
	if raw, ok := top["configuration"]; ok && !isNull(raw) {
		patch, err := object(raw, "configuration")
		if err != nil {
			return nil, err
		}
		for k, v := range patch {
			if isNull(v) && !replace {
				delete(cfg, k)
				continue
			}
			cfg[k] = v
		}
	}
	if raw, ok := top["name"]; ok {
		var name string
		if err := str(raw, "name", &name); err != nil {
			return nil, err
		}
		if name != "" && name != rec.Name {
			return nil, badf("name", "cannot change (pipeline state is keyed by the name): create a new instance named %q and delete this one", name)
		}
	}
	tags := rec.Tags
	if raw, ok := top["tags"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &tags) != nil {
			return nil, badf("tags", "expected a list of strings")
		}
	}
	full := map[string]any{"element": map[string]string{"key": ElementKey}, "name": rec.Name, "tags": tags, "configuration": cfg}
	if raw, ok := top["providerData"]; ok {
		full["providerData"] = raw
	}
	merged, err := json.Marshal(full)
	if err != nil {
		return nil, fmt.Errorf("encoding the updated instance: %w", err)
	}
	req, err := ParseRequest(merged)
	if err != nil {
		return nil, err
	}
	plan, err := Convert(req, Options{API: true})
	if err != nil {
		return nil, err
	}
	if plan.Base != rec.Slug {
		return nil, badf("name", "the instance's pipelines are named %q, the body gives %q", rec.Slug, plan.Base)
	}
	if err := Check(plan, a.d.Env); err != nil {
		return nil, err
	}
	tok, err := a.updateToken(ctx, req, rec)
	if err != nil {
		return nil, err
	}
	next := *rec
	next.Tags, next.Configuration, next.Warnings = req.Tags, redact(req.Raw), plan.Warnings
	next.Pipelines, next.Polling, next.Webhook = plan.Pipelines, plan.Polling, plan.Webhook
	next.EventsEnabled = req.Config.EventsEnabled && plan.YAML != nil
	next.Env = nil
	var set []EnvVar
	for _, e := range plan.Env {
		next.Env = append(next.Env, e.Name)
		if e.Value != redactedValue {
			set = append(set, e)
		}
	}
	var gone []string
	for _, name := range rec.Env {
		if !slices.Contains(next.Env, name) {
			gone = append(gone, name)
		}
	}
	if err := updateSecrets(a.d.DataDir, set, gone); err != nil {
		return nil, err
	}
	var b store.Batch
	if err := intercom.PutToken(&b, rec.Slug, tok, next.Polling...); err != nil {
		return nil, err
	}
	for _, p := range rec.Polling {
		if !slices.Contains(next.Polling, p) {
			b.Delete(p, intercom.TokenKey(rec.Slug))
		}
	}
	v, err := jsonBytes(&next)
	if err != nil {
		return nil, err
	}
	b.Put(InstancesPipeline, instanceKey(rec.ID), v)
	if err := a.d.Store.Commit(ctx, &b); err != nil {
		return nil, fmt.Errorf("storing instance %d: %w", rec.ID, err)
	}
	if plan.YAML == nil {
		if err := os.Remove(next.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing %s: %w", next.File, err)
		}
	} else if err := WriteFileAtomic(next.File, plan.YAML, 0o644); err != nil {
		return nil, err
	}
	a.d.Logger.Info("instances: updated", "id", rec.ID, "name", rec.Slug, "pipelines", next.Pipelines, "file", next.File)
	a.reload(ctx)
	return &next, nil
}

// updateToken is a new token when the body carries providerData.code, else
// the stored one (to copy into new polling pipelines).
func (a *Instances) updateToken(ctx context.Context, req *Request, rec *Record) (Token, error) {
	if req.Code != "" {
		if err := requireOAuth(req); err != nil {
			return Token{}, err
		}
		cfg := OAuthConfig(req.Config.ClientID, req.Config.ClientSecret.Reveal(), req.Config.RedirectURL, "", a.d.TokenURL)
		tok, err := Exchange(ctx, cfg, a.d.HTTPClient, req.Code, a.d.Now())
		if err != nil {
			return Token{}, &BadRequestError{Key: "providerData.code", Msg: "exchanging it for an Intercom token failed: " + err.Error()}
		}
		return tok, nil
	}
	v, err := a.d.Store.Value(ctx, OAuthPipeline, intercom.TokenKey(rec.Slug))
	if err != nil {
		return Token{}, fmt.Errorf("reading the token of instance %d: %w", rec.ID, err)
	}
	var tok Token
	if err := json.Unmarshal(v, &tok); err != nil {
		return Token{}, fmt.Errorf("the stored token of instance %d is corrupt: %w", rec.ID, err)
	}
	return tok, nil
}
