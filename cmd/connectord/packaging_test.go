package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPackagedBinary builds connectord with the Dockerfile's own build line
// (no container runtime is needed) and checks what the image relies on: a
// static binary that names its version and runs the demo from a directory
// with no pipelines (they are built in). It also checks the Dockerfile's
// conventions and, where systemd-analyze exists, the systemd unit.
func TestPackagedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary (-short)")
	}
	dockerfile, err := os.ReadFile("packaging/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(dockerfile)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FROM .* AS build$`),
		regexp.MustCompile(`(?m)^FROM gcr.io/distroless/static\S*:nonroot$`),
		regexp.MustCompile(`(?m)^USER 65532:65532$`),
		regexp.MustCompile(`(?m)^VOLUME /data$`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*\n\s+CMD \["/usr/local/bin/connectord", "healthcheck"`),
	} {
		if !want.MatchString(df) {
			t.Errorf("Dockerfile: no line matching %s", want)
		}
	}
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("Dockerfile: no RUN CGO_ENABLED=0 go build line")
	}
	bin := filepath.Join(t.TempDir(), "connectord")
	line := strings.ReplaceAll(strings.ReplaceAll(build[1], "${VERSION}", "v0.0.0-packaging"), "/out/connectord", bin)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	f.Close()

	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "connectord v0.0.0-packaging ") {
		t.Errorf("--version: %q, %v", out, err)
	}

	demo := exec.CommandContext(ctx, bin, "demo", "--duration", "5s", "--every", "200ms", "--poll", "1s", "--admin", "127.0.0.1:0")
	demo.Dir = t.TempDir() // no ./pipelines here
	var stdout, stderr bytes.Buffer
	demo.Stdout, demo.Stderr = &stdout, &stderr
	if err := demo.Run(); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "signature OK") || !strings.Contains(stdout.String(), " 0 invalid") {
		t.Errorf("demo from an empty directory delivered nothing verified:\n%s\n%s", stdout.String(), stderr.String())
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the unit is not verified")
		return
	}
	unit, err := os.ReadFile("packaging/connectord.service")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "connectord.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/connectord"), []byte(bin)), 0o644)
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
