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
func (a *Instances) create(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "body", "reading the body: "+err.Error())
		return
	}
	rec, instToken, err := a.Create(r.Context(), body)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec.view(instToken, a.d.PublicURL()))
}

// StatusError is a failure with the HTTP status the API answers it with.
type StatusError struct {
	Status int
	Key    string
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

// Plan parses, converts and checks a POST /instances body without storing
// anything: what the console runs before sending the browser to Intercom,
// so errors show at their field first.
func (a *Instances) Plan(body []byte, needCode bool) (*Request, *Plan, error) {
	req, err := ParseRequest(body)
	if err == nil && needCode {
		err = requireOAuth(req)
	}
	var plan *Plan
	if err == nil {
		plan, err = Convert(req, Options{API: true})
	}
	if err == nil {
		err = Check(plan, a.d.Env)
	}
	return req, plan, err
}

// Create is POST /instances: validate, exchange the code, store the token
// and the record in one commit, write the pipelines file, reload. It
// returns the record and the instance token. Errors are *BadRequestError
// or *StatusError.
func (a *Instances) Create(ctx context.Context, body []byte) (*Record, string, error) {
	req, plan, err := a.Plan(body, true)
	if err != nil {
		return nil, "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if status, msg := a.conflict(ctx, plan); status != 0 {
		return nil, "", &StatusError{Status: status, Key: "name", Msg: msg}
	}
	cfg := OAuthConfig(req.Config.ClientID, req.Config.ClientSecret.Reveal(), req.Config.RedirectURL, "", a.d.TokenURL)
	tok, err := Exchange(ctx, cfg, a.d.HTTPClient, req.Code, a.d.Now())
	if err != nil {
		a.d.Logger.Warn("instances: code exchange failed", "name", plan.Base, "error", err)
		return nil, "", &StatusError{Status: http.StatusBadGateway, Key: "providerData.code",
			Msg: "exchanging providerData.code for an Intercom token failed: " + err.Error() + " (set " + EnvTokenURL + " for a test server)"}
	}
	rec, instToken, err := a.store(ctx, req, plan, tok)
	if err != nil {
		return nil, "", err
	}
	a.d.Logger.Info("instances: created", "id", rec.ID, "name", rec.Slug, "pipelines", rec.Pipelines, "file", rec.File)
	a.reload(ctx)
	return rec, instToken, nil
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
func (a *Instances) conflict(ctx context.Context, plan *Plan) (int, string) {
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
func (a *Instances) store(ctx context.Context, req *Request, plan *Plan, tok Token) (*Record, string, error) {
	id, err := a.nextID(ctx)
	if err != nil {
		return nil, "", err
	}
	instToken := randomHex(32)
	rec := &Record{
		ID: id, Name: req.Name, Slug: plan.Base, Pipelines: plan.Pipelines, Polling: plan.Polling, Webhook: plan.Webhook,
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
func (a *Instances) forget(ctx context.Context, rec *Record) error {
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

func (a *Instances) reload(ctx context.Context) {
	if a.d.Reload != nil {
		a.d.Reload(context.WithoutCancel(ctx))
	}
}
