package fleet

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Command builds the command that runs `connectord <args...>` with extra
// environment variables: the connectord binary itself, or a test binary
// that behaves as connectord.
type Command func(args []string, env []string) *exec.Cmd

// Self runs the current executable: `connectord demo` starting its
// replicas.
func Self(args []string, env []string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// Replica is one `connectord run` child process. Its stderr (JSON logs) is
// copied to Log; Start returns once the daemon logged that it started, with
// its listener addresses.
type Replica struct {
	ID      string
	Command Command
	Args    []string // run's flags; --replica-id and --log-format json are added
	Env     []string
	Log     io.Writer // the child's stderr (JSON lines); nil discards it

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done
	listen string
	admin  string
}

// Start starts the process and waits up to timeout for its "connectord
// started" log line.
func (r *Replica) Start(timeout time.Duration) error {
	args := append([]string{"run", "--replica-id", r.ID, "--log-format", "json"}, r.Args...)
	cmd := r.Command(args, r.Env)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("replica %s: %w", r.ID, err)
	}
	done := make(chan struct{})
	started := make(chan [2]string, 1)
	logw := r.Log
	if logw == nil {
		logw = io.Discard
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			fmt.Fprintf(logw, "%s %s\n", r.ID, line)
			var rec struct {
				Msg, Listen, Admin string
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "connectord started" {
				select {
				case started <- [2]string{rec.Listen, rec.Admin}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		err := cmd.Wait()
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		close(done)
	}()
	r.mu.Lock()
	r.cmd, r.done, r.err = cmd, done, nil
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-started:
		r.mu.Lock()
		r.listen, r.admin = a[0], a[1]
		r.mu.Unlock()
		return nil
	case <-done:
		return fmt.Errorf("replica %s exited before it started: %v", r.ID, r.exitErr())
	case <-t.C:
		r.Kill()
		return fmt.Errorf("replica %s did not start within %s", r.ID, timeout)
	}
}

func (r *Replica) exitErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Kill crashes the replica (SIGKILL) and waits until it has exited.
func (r *Replica) Kill() { r.signal(syscall.SIGKILL, time.Minute) }

// Stop asks the replica to drain and exit (SIGTERM) and waits up to
// timeout, then kills it.
func (r *Replica) Stop(timeout time.Duration) {
	if !r.signal(syscall.SIGTERM, timeout) {
		r.Kill()
	}
}

// signal sends sig and reports whether the process exited within timeout.
func (r *Replica) signal(sig syscall.Signal, timeout time.Duration) bool {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if cmd == nil {
		return true
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Done is closed when the current process has exited (nil before Start).
func (r *Replica) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// Alive says whether the process is running.
func (r *Replica) Alive() bool {
	d := r.Done()
	if d == nil {
		return false
	}
	select {
	case <-d:
		return false
	default:
		return true
	}
}

// PID is the process id of the current process (0 before Start).
func (r *Replica) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// ListenAddr is the webhook listener of the current process.
func (r *Replica) ListenAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listen
}

// AdminAddr is the admin listener of the current process.
func (r *Replica) AdminAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.admin
}

// ExitErr is how the last process exited (nil while it runs or after a
// clean exit).
func (r *Replica) ExitErr() error { return r.exitErr() }
