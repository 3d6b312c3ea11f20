package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/connectord/connectord/cmd/connectord/internal/dlq"
	"github.com/connectord/connectord/cmd/connectord/internal/soc"
	"github.com/connectord/connectord/engine/runner"
	"github.com/connectord/connectord/engine/store"
)

// Deps is what the console needs from the daemon.
type Deps struct {
	Instances *soc.Instances
	Runtime   *runner.Runtime
	Store     store.Store
	DLQ       *dlq.Service
	Logger    *slog.Logger
}

//go:embed *.html.tmpl
var templates embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"field": func(errs map[string]string, name string) string { return errs[name] },
}).ParseFS(templates, "*.html.tmpl"))

// pendingLifetime bounds how long a form waits for its OAuth callback.
const pendingLifetime = 10 * time.Minute

type console struct {
	d       Deps
	mu      sync.Mutex
	pending map[string]pendingForm // OAuth state -> the form that started it
}

type pendingForm struct {
	form     instanceForm
	redirect string
	expires  time.Time
}

// Register adds the console's routes to mux (the admin listener's, behind
// its token check).
func Register(mux *http.ServeMux, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &console{d: d, pending: map[string]pendingForm{}}
	mux.HandleFunc("GET /console", c.list)
	mux.HandleFunc("GET /console/new", c.newForm)
	mux.HandleFunc("POST /console/new", sameOrigin(c.connect))
	mux.HandleFunc("GET /console/oauth/callback", c.callback)
	mux.HandleFunc("GET /console/instances/{id}", c.show)
	mux.HandleFunc("POST /console/instances/{id}/edit", sameOrigin(c.edit))
	mux.HandleFunc("POST /console/instances/{id}/delete", sameOrigin(c.remove))
	mux.HandleFunc("POST /console/instances/{id}/replay", sameOrigin(c.replay))
}

// sameOrigin refuses a form posted from another site (a browser sends the
// admin credentials along), when the browser says where it came from.
func sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				http.Error(w, "connectord console: cross-origin form refused", http.StatusForbidden)
				return
			}
		}
		next(w, r)
	}
}

func (c *console) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		c.d.Logger.Error("console: rendering", "page", name, "error", err)
		http.Error(w, "connectord console: rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// instanceRow is an instance in the list.
type instanceRow struct {
	Rec        *soc.Record
	State      string
	WebhookURL string
	Notice     string
}

func (c *console) list(w http.ResponseWriter, r *http.Request) {
	recs, err := c.d.Instances.Records(r.Context())
	if err != nil {
		http.Error(w, "connectord console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	status := c.statuses()
	var rows []instanceRow
	for _, rec := range recs {
		rows = append(rows, instanceRow{Rec: rec, State: instanceState(rec, status), WebhookURL: rec.WebhookURL(c.d.Instances.WebhookBase()), Notice: rec.Notice()})
	}
	c.render(w, http.StatusOK, "list.html.tmpl", map[string]any{"Instances": rows})
}

func (c *console) statuses() map[string]runner.PipelineStatus {
	out := map[string]runner.PipelineStatus{}
	for _, st := range c.d.Runtime.Status() {
		out[st.Name] = st
	}
	return out
}

// instanceState is the worst state of the instance's pipelines.
func instanceState(rec *soc.Record, status map[string]runner.PipelineStatus) string {
	if !rec.EventsEnabled {
		return "no events"
	}
	state := "running"
	for _, p := range rec.Pipelines {
		st, ok := status[p]
		switch {
		case !ok:
			return "not loaded"
		case st.Delivery.Paused != "":
			state = "paused"
		case st.State != "running" && state == "running":
			state = st.State
		}
	}
	return state
}

type formPage struct {
	Rec    *soc.Record // nil: a new instance
	Form   instanceForm
	Errors map[string]string
	Error  string
}

func (c *console) newForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "new.html.tmpl", formPage{Form: newForm(), Errors: map[string]string{}})
}

// connect checks the form with everything a create checks but the code,
// then sends the browser to Intercom's authorize page; the callback
// finishes the create.
func (c *console) connect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "connectord console: bad form", http.StatusBadRequest)
		return
	}
	f := parseForm(r.PostForm)
	redirect := baseURL(r) + "/console/oauth/callback"
	if _, _, err := c.d.Instances.Plan(f.body("", redirect), false); err != nil {
		c.formError(w, f, err)
		return
	}
	if f.ClientID == "" || f.ClientSecret == "" {
		errs := map[string]string{}
		if f.ClientID == "" {
			errs["client_id"] = "is required: the Intercom app's client id"
		}
		if f.ClientSecret == "" {
			errs["client_secret"] = "is required: the Intercom app's client secret"
		}
		c.render(w, http.StatusBadRequest, "new.html.tmpl", formPage{Form: f, Errors: errs})
		return
	}
	state := randomHex(16)
	now := time.Now()
	c.mu.Lock()
	for s, p := range c.pending {
		if now.After(p.expires) {
			delete(c.pending, s)
		}
	}
	c.pending[state] = pendingForm{form: f, redirect: redirect, expires: now.Add(pendingLifetime)}
	c.mu.Unlock()
	cfg := c.d.Instances.OAuth(f.ClientID, f.ClientSecret, redirect)
	http.Redirect(w, r, cfg.AuthCodeURL(state), http.StatusSeeOther)
}

// callback is where Intercom sends the browser back: the code completes
// the create, through the same code as POST /instances.
func (c *console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	p, ok := c.pending[q.Get("state")]
	delete(c.pending, q.Get("state"))
	c.mu.Unlock()
	switch {
	case !ok || time.Now().After(p.expires):
		http.Error(w, "connectord console: this authorisation was not started here or has expired; create the instance again", http.StatusBadRequest)
		return
	case q.Get("error") != "":
		c.render(w, http.StatusBadRequest, "new.html.tmpl", formPage{Form: p.form, Errors: map[string]string{}, Error: "Intercom refused the authorisation: " + q.Get("error")})
		return
	}
	rec, _, err := c.d.Instances.Create(r.Context(), p.form.body(q.Get("code"), p.redirect))
	if err != nil {
		c.formError(w, p.form, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/instances/%d", rec.ID), http.StatusSeeOther)
}

// formError shows err at its field, or above the form.
func (c *console) formError(w http.ResponseWriter, f instanceForm, err error) {
	page := formPage{Form: f, Errors: map[string]string{}}
	setError(&page.Errors, &page.Error, err)
	c.render(w, http.StatusBadRequest, "new.html.tmpl", page)
}

func setError(errs *map[string]string, general *string, err error) {
	var bad *soc.BadRequestError
	var se *soc.StatusError
	switch {
	case errors.As(err, &bad) && fieldOf(bad.Key) != "":
		(*errs)[fieldOf(bad.Key)] = bad.Msg
	case errors.As(err, &se) && fieldOf(se.Key) != "":
		(*errs)[fieldOf(se.Key)] = se.Msg
	default:
		*general = err.Error()
	}
}

// pipelineView is one pipeline of an instance page.
type pipelineView struct {
	Name, State, Detail, LastError string
	Queued, DeadCount              int
	Delivered                      uint64
	Dead                           []store.DeadLetter
}

type showPage struct {
	Rec        *soc.Record
	State      string
	WebhookURL string
	Notice     string
	File       string
	Pipelines  []pipelineView
	Form       instanceForm
	Errors     map[string]string
	Error      string
}

func (c *console) record(w http.ResponseWriter, r *http.Request) (*soc.Record, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		var rec *soc.Record
		if rec, err = c.d.Instances.Record(r.Context(), id); err == nil {
			return rec, true
		}
	}
	if errors.Is(err, store.ErrNotFound) || err != nil && id == 0 {
		http.Error(w, "connectord console: no such instance", http.StatusNotFound)
		return nil, false
	}
	http.Error(w, "connectord console: "+err.Error(), http.StatusInternalServerError)
	return nil, false
}

func (c *console) show(w http.ResponseWriter, r *http.Request) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	c.renderShow(w, r.Context(), http.StatusOK, rec, formFromRecord(rec.Name, rec.Configuration), nil)
}

func (c *console) renderShow(w http.ResponseWriter, ctx context.Context, status int, rec *soc.Record, f instanceForm, err error) {
	page := showPage{Rec: rec, WebhookURL: rec.WebhookURL(c.d.Instances.WebhookBase()), Notice: rec.Notice(), Form: f, Errors: map[string]string{}}
	if err != nil {
		setError(&page.Errors, &page.Error, err)
	}
	statuses := c.statuses()
	page.State = instanceState(rec, statuses)
	if rec.File != "" {
		if b, err := os.ReadFile(rec.File); err == nil {
			page.File = string(b)
		}
	}
	for _, name := range rec.Pipelines {
		st := statuses[name]
		pv := pipelineView{Name: name, State: st.State, Detail: st.Delivery.Paused, LastError: st.LastError, Delivered: st.Totals.Delivered}
		if s, err := c.d.Store.Stats(ctx, name); err == nil {
			pv.Queued, pv.DeadCount = s.Queued, s.DeadLetters
		}
		if dead, err := c.d.DLQ.List(ctx, name, 0, 20); err == nil {
			pv.Dead = dead
		}
		page.Pipelines = append(page.Pipelines, pv)
	}
	c.render(w, status, "show.html.tmpl", page)
}

func (c *console) edit(w http.ResponseWriter, r *http.Request) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "connectord console: bad form", http.StatusBadRequest)
		return
	}
	f := parseForm(r.PostForm)
	f.Name = rec.Name
	next, err := c.d.Instances.Patch(r.Context(), rec.ID, f.editBody())
	if err != nil {
		c.renderShow(w, r.Context(), http.StatusBadRequest, rec, f, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/instances/%d", next.ID), http.StatusSeeOther)
}

func (c *console) remove(w http.ResponseWriter, r *http.Request) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	if err := c.d.Instances.Delete(r.Context(), rec.ID); err != nil {
		http.Error(w, "connectord console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// replay re-queues every dead letter of one of the instance's pipelines.
func (c *console) replay(w http.ResponseWriter, r *http.Request) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	p := r.FormValue("pipeline")
	if !slices.Contains(rec.Pipelines, p) {
		http.Error(w, "connectord console: not a pipeline of this instance", http.StatusBadRequest)
		return
	}
	n, err := c.d.DLQ.Replay(r.Context(), p, dlq.Selector{All: true})
	if err != nil {
		http.Error(w, "connectord console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	c.d.Logger.Info("console: replayed dead letters", "pipeline", p, "count", n)
	http.Redirect(w, r, fmt.Sprintf("/console/instances/%d", rec.ID), http.StatusSeeOther)
}

// baseURL is how the browser reached the console.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
