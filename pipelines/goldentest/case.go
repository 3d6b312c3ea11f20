// Package goldentest runs golden-file pipeline tests: recorded input goes
// into a real pipeline (real transforms, real store, real sink over HTTP to a
// local receiver) with a fixed clock and fixed keys, and the callback
// requests the receiver gets are compared, headers and body bytes exactly,
// with the expected ones. `connectord test` and `go test ./pipelines` run it.
//
// A case is a folder TESTDATA/<pipeline>/<case>/ holding:
//
//	case.yaml       optional: now (RFC 3339, default 2024-01-01T00:00:00Z),
//	                env (variables for the pipeline file; values may use
//	                ${TEST_RECEIVER} and ${TEST_API}), description
//	request.json    webhook input: one request or a list of them, each
//	                {"method", "headers", "body" | "body_file", "sign"}
//	responses.json  poller input: the API responses, served in order
//	                [{"method", "path", "status", "headers", "body" | "body_file"}]
//	expected.http   the webhook answers, callback requests and dead letters
package goldentest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// caseSpec is case.yaml.
type caseSpec struct {
	Description string            `yaml:"description"`
	Now         string            `yaml:"now"`
	Env         map[string]string `yaml:"env"`
}

// request is one webhook request of request.json.
type request struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"` // default: the source's path
	Headers  map[string]string `json:"headers"`
	Body     json.RawMessage   `json:"body"`
	BodyFile string            `json:"body_file"`
	// Sign computes a signature header over the exact body sent.
	Sign *signSpec `json:"sign"`
}

// signSpec asks the pipeline's source to sign the request (TestSigner) in
// its own scheme.
type signSpec struct {
	Secret string `json:"secret"`
	ID     string `json:"id"` // Standard Webhooks only: webhook-id (default: from the body)
}

// response is one recorded API response of responses.json.
type response struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"` // path and query the poller is expected to request
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	Body     json.RawMessage   `json:"body"`
	BodyFile string            `json:"body_file"`
}

// Case is one loaded test case.
type Case struct {
	Pipeline  string
	Name      string
	Dir       string
	Now       time.Time
	Env       map[string]string
	Requests  []request
	Responses []response
	HasInput  bool
}

const defaultNow = "2024-01-01T00:00:00Z"

func loadCase(dir, pipeline, name string) (*Case, error) {
	c := &Case{Pipeline: pipeline, Name: name, Dir: dir}
	var spec caseSpec
	if data, err := os.ReadFile(filepath.Join(dir, "case.yaml")); err == nil {
		if err := yaml.Unmarshal(data, &spec); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "case.yaml"), err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if spec.Now == "" {
		spec.Now = defaultNow
	}
	now, err := time.Parse(time.RFC3339, spec.Now)
	if err != nil {
		return nil, fmt.Errorf("%s: now: %w", filepath.Join(dir, "case.yaml"), err)
	}
	c.Now, c.Env = now, spec.Env
	if data, err := os.ReadFile(filepath.Join(dir, "request.json")); err == nil {
		c.HasInput = true
		if c.Requests, err = decodeOneOrMany[request](data); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "request.json"), err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "responses.json")); err == nil {
		c.HasInput = true
		if c.Responses, err = decodeOneOrMany[response](data); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "responses.json"), err)
		}
	}
	if !c.HasInput {
		return nil, fmt.Errorf("%s: no request.json or responses.json", dir)
	}
	return c, nil
}

func decodeOneOrMany[T any](data []byte) ([]T, error) {
	var many []T
	if err := json.Unmarshal(data, &many); err == nil {
		return many, nil
	}
	var one T
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, err
	}
	return []T{one}, nil
}

// body returns the exact bytes to send: body_file's content, or the body
// JSON as written.
func body(dir string, raw json.RawMessage, file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(filepath.Join(dir, file))
	}
	return raw, nil
}
