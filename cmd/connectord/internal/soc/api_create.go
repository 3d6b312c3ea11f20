package soc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/connectord/connectord/engine/store"
	"github.com/connectord/connectord/sources/intercom"
)

// maxBody bounds a POST /instances body.
const maxBody = 1 << 20

// create serves POST /instances: validate, exchange the code, store the
// token and the record in one commit, write the pipelines file, reload.
func (a *api) create(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "body", "reading the body: "+err.Error())
		return
	}
	req, err := ParseRequest(body)
	if err == nil {
		err = requireOAuth(req)
	}
	var plan *Plan
	if err == nil {
		plan, err = Convert(req, Options{API: true})
	}
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := r.Context()
	if status, msg := a.conflict(ctx, plan); status != 0 {
		writeError(w, status, "name", msg)
		return
	}
	cfg := OAuthConfig(req.Config.ClientID, req.Config.ClientSecret.Reveal(), req.Config.RedirectURL, "", a.d.TokenURL)
	tok, err := Exchange(ctx, cfg, a.d.HTTPClient, req.Code, a.d.Now())
	if err != nil {
		a.d.Logger.Warn("instances: code exchange failed", "name", plan.Base, "error", err)
		writeError(w, http.StatusBadGateway, "providerData.code", "exchanging providerData.code for an Intercom token failed: "+err.Error())
		return
	}
	rec, instToken, err := a.store(ctx, req, plan, tok)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	a.d.Logger.Info("instances: created", "id", rec.ID, "name", rec.Slug, "pipelines", rec.Pipelines, "file", rec.File)
	a.reload(ctx)
	writeJSON(w, http.StatusOK, rec.view(instToken))
}

func requireOAuth(req *Request) error {
	switch {
	case req.Code == "":
		return badf("providerData.code", "is required: the authorization code Intercom redirected to oauth.callback.url with")
	case req.Config.ClientID == "":
		return badf("configuration.oauth.api.key", "is required: the Intercom app's client id")
	case req.Config.ClientSecret == "":
		return badf("configuration.oauth.api.secret", "is required: the Intercom app's client secret")
	}
	return nil
}

// conflict reports a name already taken by an instance or a file.
func (a *api) conflict(ctx context.Context, plan *Plan) (int, string) {
	_, err := a.d.Store.Value(ctx, InstancesPipeline, slugKey(plan.Base))
	switch {
	case err == nil:
		return http.StatusConflict, fmt.Sprintf("an instance named %q exists; delete it first", plan.Base)
	case !errors.Is(err, store.ErrNotFound):
		return http.StatusInternalServerError, "reading the instance records: " + err.Error()
	}
	if plan.YAML != nil {
		if _, err := os.Lstat(filepath.Join(a.d.ConfigDir, plan.File)); err == nil {
			return http.StatusConflict, fmt.Sprintf("the config directory already has %s; choose another instance name", plan.File)
		}
	}
	return 0, ""
}

// store persists the instance: the secrets file first (the pipelines file
// needs it), then token copies and record in one commit, then the
// pipelines file. A failure undoes the earlier steps.
func (a *api) store(ctx context.Context, req *Request, plan *Plan, tok Token) (*Record, string, error) {
	id, err := a.nextID(ctx)
	if err != nil {
		return nil, "", err
	}
	instToken := randomHex(32)
	rec := &Record{
		ID: id, Name: req.Name, Slug: plan.Base, Pipelines: plan.Pipelines, Polling: plan.Polling,
		Tags: req.Tags, Configuration: redact(req.Raw), EventsEnabled: req.Config.EventsEnabled && plan.YAML != nil,
		CreatedDate: a.d.Now().UTC(), TokenHash: hashToken(instToken), Warnings: plan.Warnings,
	}
	for _, e := range plan.Env {
		rec.Env = append(rec.Env, e.Name)
	}
	if plan.YAML != nil {
		rec.File = filepath.Join(a.d.ConfigDir, plan.File)
	}
	if err := updateSecrets(a.d.DataDir, plan.Env, nil); err != nil {
		return nil, "", err
	}
	var b store.Batch
	if err := intercom.PutToken(&b, plan.Base, tok, plan.Polling...); err != nil {
		return nil, "", err
	}
	v, err := jsonBytes(rec)
	if err != nil {
		return nil, "", err
	}
	b.PutIfAbsent(InstancesPipeline, slugKey(plan.Base), []byte(strconv.FormatInt(id, 10)))
	b.Put(InstancesPipeline, instanceKey(id), v)
	b.Put(InstancesPipeline, nextIDKey, []byte(strconv.FormatInt(id, 10)))
	if err := a.d.Store.Commit(ctx, &b); err != nil {
		_ = updateSecrets(a.d.DataDir, nil, rec.Env)
		return nil, "", fmt.Errorf("storing instance %q: %w", plan.Base, err)
	}
	if rec.File != "" {
		if err := WriteFileAtomic(rec.File, plan.YAML, 0o644); err != nil {
			_ = a.forget(context.WithoutCancel(ctx), rec)
			return nil, "", err
		}
	}
	return rec, instToken, nil
}

// forget deletes what store wrote for rec, except its file.
func (a *api) forget(ctx context.Context, rec *Record) error {
	var b store.Batch
	b.Delete(OAuthPipeline, intercom.TokenKey(rec.Slug))
	for _, p := range rec.Polling {
		b.Delete(p, intercom.TokenKey(rec.Slug))
	}
	b.Delete(InstancesPipeline, slugKey(rec.Slug))
	b.Delete(InstancesPipeline, instanceKey(rec.ID))
	if err := a.d.Store.Commit(ctx, &b); err != nil {
		return fmt.Errorf("deleting instance %d from the store: %w", rec.ID, err)
	}
	return updateSecrets(a.d.DataDir, nil, rec.Env)
}

func (a *api) reload(ctx context.Context) {
	if a.d.Reload != nil {
		a.d.Reload(context.WithoutCancel(ctx))
	}
}
