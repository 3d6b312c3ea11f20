package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connectord/connectord/engine/version"
)

// TestHelpForEveryCommand: --help, -h and `help CMD` print, on stdout with
// exit 0, one line of what the command does, its usage, its flags, the
// environment it reads and an example.
func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			code, out, errs := runCLI(args...)
			if code != exitOK || errs != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, errs)
				continue
			}
			for _, want := range []string{"connectord " + c.name + ": " + c.summary + "\n", "\nusage: connectord " + c.name, "\nenvironment:\n  ", "\nexample:\n  connectord "} {
				if !strings.Contains(out, want) && !(want == "\nexample:\n  connectord " && strings.Contains(out, "\nexample:\n  ")) {
					t.Errorf("%q: no %q in:\n%s", args, want, out)
				}
			}
		}
	}
	_, out, _ := runCLI("run", "--help")
	for _, want := range []string{"-listen string", "CONNECTORD_ADMIN_TOKEN", "GOGC", "INTERCOM_TOKEN", "INTERCOM_API", "CALLBACK_URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help: no %q in:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, errs := runCLI(args...); code != exitOK || errs != "" || !strings.Contains(out, "commands:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	// A usage error stays on stderr, with exit 2, and says where help is.
	if code, out, errs := runCLI("run", "--bogus"); code != exitUsage || out != "" || !strings.Contains(errs, "connectord help run") {
		t.Errorf("run --bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := runCLI(args...)
		if code != exitOK || out != version.Long()+"\n" {
			t.Errorf("%q: exit %d, %q, want %q", args, code, out, version.Long())
		}
	}
	if !strings.Contains(version.Long(), " go1.") {
		t.Errorf("version.Long() = %q: no Go version", version.Long())
	}
}

// TestImportCreatesOutDir: --out DIR that does not exist yet is created.
func TestImportCreatesOutDir(t *testing.T) {
	src := filepath.Join(t.TempDir(), "instance.json")
	body := `{"element":{"key":"intercom"},"name":"acme","configuration":{"event.notification.enabled":true,
"event.vendor.type":"webhook","event.notification.callback.url":"https://example.com/events"}}`
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "new", "pipelines")
	code, stdout, errs := runCLI("import", src, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, stdout, errs)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("files in %s: %v", out, files)
	}
}

func TestValidateOneFileEmptyDirAndAnchors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("name: g\nsource: {generator: {}}\nsink: {stdout: {}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: [\n"), 0o644)
	if code, out, errs := runCLI("validate", "--config", good); code != exitOK || !strings.Contains(out, "1 pipeline(s) OK") {
		t.Errorf("one file: exit %d, %q %q", code, out, errs)
	}

	empty := t.TempDir()
	if code, out, errs := runCLI("validate", "--config", empty); code != exitInvalid || !strings.Contains(errs, "no pipelines") {
		t.Errorf("empty dir: exit %d, %q %q", code, out, errs)
	}

	// One typo inside an anchor two pipelines share is one error.
	anchored := filepath.Join(t.TempDir(), "a.yaml")
	os.WriteFile(anchored, []byte(`pipelines:
  - name: a
    source: {generator: {}}
    sink:
      http: &cb
        url: http://127.0.0.1:1/x
        retyr: {max_attempts: 3}
  - name: b
    source: {generator: {}}
    sink: {http: *cb}
`), 0o644)
	code, _, errs := runCLI("validate", "--config", anchored)
	want := anchored + `:7:9: http: unknown field "retyr"; did you mean "retry"?`
	if code != exitInvalid || strings.Count(errs, want) != 1 || !strings.Contains(errs, "\n1 error(s)") {
		t.Errorf("anchor: exit %d, want %q once and 1 error:\n%s", code, want, errs)
	}
}

// TestValidateRejectsANonBooleanFilter: a filter whose value is known only
// at run time would dead-letter every event; it is a config error at its
// line.
func TestValidateRejectsANonBooleanFilter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(path, []byte("name: f\nsource: {generator: {}}\ntransforms:\n  - filter: 'event.message.events[0].eventType'\nsink: {stdout: {}}\n"), 0o644)
	code, _, errs := runCLI("validate", "--config", path)
	if code != exitInvalid || !strings.Contains(errs, path+":4:14: filter: expected a boolean expression") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
}

// TestValidateStrictSimulatorDefaults: the shipped pipelines validate with
// a warning listing each simulator default once; --strict fails on them;
// with the variables set, --strict passes.
func TestValidateStrictSimulatorDefaults(t *testing.T) {
	for _, v := range []string{"INTERCOM_API", "INTERCOM_TOKEN", "INTERCOM_CLIENT_SECRET", "CALLBACK_URL", "SIGNATURE_KEY"} {
		t.Setenv(v, "")
	}
	code, out, errs := runCLI("validate", "--config", "../../pipelines")
	if code != exitOK || !strings.Contains(out, "CALLBACK_URL is not set; its default points at 127.0.0.1:8600") ||
		!strings.Contains(out, "INTERCOM_TOKEN is not set; its default is a credential") || strings.Contains(out, "demo-token") {
		t.Errorf("without --strict: exit %d\n%s%s", code, out, errs)
	}
	if n := strings.Count(out, "intercom-polling.yaml:34:16: SIGNATURE_KEY"); n != 1 {
		t.Errorf("the anchored SIGNATURE_KEY is listed %d times, want once:\n%s", n, out)
	}
	if code, _, errs := runCLI("validate", "--strict", "--config", "../../pipelines"); code != exitInvalid || !strings.Contains(errs, "error: 7 simulator default(s)") {
		t.Errorf("--strict: exit %d\n%s", code, errs)
	}
	t.Setenv("INTERCOM_API", "https://api.intercom.io")
	t.Setenv("INTERCOM_TOKEN", "tok")
	t.Setenv("INTERCOM_CLIENT_SECRET", "sec")
	t.Setenv("CALLBACK_URL", "https://example.com/events")
	t.Setenv("SIGNATURE_KEY", "key")
	if code, out, errs := runCLI("validate", "--strict", "--config", "../../pipelines"); code != exitOK || strings.Contains(out, "default") {
		t.Errorf("--strict with the variables set: exit %d\n%s%s", code, out, errs)
	}
}

// TestTestOnlyRunsCasesOfItsPipelines: `test --config OTHER` does not run
// ./testdata's cases of pipelines OTHER lacks.
func TestTestOnlyRunsCasesOfItsPipelines(t *testing.T) {
	code, out, errs := runCLI("test", "--config", "../../pipelines/intercom-webhooks.yaml", "--testdata", "../../testdata")
	if code != exitOK || strings.Contains(out, "intercom-conversations") || !strings.Contains(out, "ok   intercom-webhooks/") {
		t.Errorf("exit %d:\n%s%s", code, out, errs)
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	if code, out, errs := runCLI("healthcheck", "--admin", srv.URL); code != exitOK || out != "ok\n" {
		t.Errorf("healthy: exit %d, %q %q", code, out, errs)
	}
	status = http.StatusServiceUnavailable
	if code, _, errs := runCLI("healthcheck", "--admin", strings.TrimPrefix(srv.URL, "http://")); code != exitInvalid || !strings.Contains(errs, "503") {
		t.Errorf("unhealthy: exit %d, %q", code, errs)
	}
}

// TestCompletionScripts: each script is valid for its shell (checked by
// the shell when it is installed) and names every command.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errs := runCLI("completion", shell)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", shell, code, errs)
		}
		for _, c := range commands() {
			if !strings.Contains(out, c.name) {
				t.Errorf("%s: no %q", shell, c.name)
			}
		}
		if !strings.Contains(out, "config") {
			t.Errorf("%s: no --config flag", shell)
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("%s is not installed: syntax not checked", shell)
			continue
		}
		cmd := exec.Command(path, "-n")
		cmd.Stdin = strings.NewReader(out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, stderr.String())
		}
	}
	if code, _, _ := runCLI("completion", "tcsh"); code != exitUsage {
		t.Errorf("tcsh: exit %d, want 2", code)
	}
}

// TestBashCompletionCompletes runs the bash script as bash would.
func TestBashCompletionCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	_, script, _ := runCLI("completion", "bash")
	complete := func(words ...string) string {
		prog := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" + itoa(len(words)-1) + "\n_connectord\necho \"${COMPREPLY[*]}\"\n"
		cmd := exec.Command(bash, "--norc", "-c", prog)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("connectord", "val"); got != "validate" {
		t.Errorf("connectord val<TAB> = %q", got)
	}
	if got := complete("connectord", "validate", "--str"); got != "--strict" {
		t.Errorf("connectord validate --str<TAB> = %q", got)
	}
	if got := complete("connectord", "dlq", "re"); got != "replay" {
		t.Errorf("connectord dlq re<TAB> = %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
