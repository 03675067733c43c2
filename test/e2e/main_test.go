// Package e2e holds black-box tests: they build Weft's real binaries, start
// them as processes, and talk to them over the network only.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/internal/testutil/kubetest"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "weft-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/...")
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build binaries:", err)
		os.Exit(1)
	}
	binDir = dir
	// kubetest stops the API server the Kubernetes tests share.
	code := kubetest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a started binary whose output is kept for the failure report.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
	// lines receives every output line (dropped when nobody reads).
	lines chan string
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs bin with args; the process is killed when the test ends and
// its output is printed if the test failed.
func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	return startEnv(t, name, nil, bin, args...)
}

// startEnv is start with env (NAME=value) added to the test's environment:
// secrets go there rather than on the command line.
func startEnv(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{}), lines: make(chan string, 1024)}
	p.cmd = exec.Command(filepath.Join(binDir, bin), args...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.Write([]byte(line + "\n"))
			select {
			case p.lines <- line:
			default:
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("---- output of %s (%s %s) ----\n%s", name, bin, strings.Join(args, " "), p.output())
		}
	})
	return p
}

// stop sends sig and waits for the process to exit.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitOutput waits until the process's whole output so far matches re
// (whichever line, in whatever order) and returns the submatches.
func (p *proc) waitOutput(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var m []string
	testutil.Eventually(t, timeout, p.name+" to print "+re, func() (bool, string) {
		m = rx.FindStringSubmatch(p.output())
		return m != nil, ""
	})
	return m
}

// waitLine waits for an output line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if m := rx.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q", p.name, p.err, re)
		case <-deadline:
			t.Fatalf("%s did not print %q within %s", p.name, re, timeout)
		}
	}
}

// weftCLI runs the weft binary to completion, failing the test on an error.
func weftCLI(t *testing.T, server string, stdin string, args ...string) string {
	t.Helper()
	out, err := runWeftCLI(server, stdin, args...)
	if err != nil {
		t.Fatalf("weft %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// runWeftCLI runs the weft binary to completion; the error holds its output.
func runWeftCLI(server string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "weft"), append(args, "--server", server)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, out)
	}
	return string(out), nil
}
