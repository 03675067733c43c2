package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the benchmark started and measures.
type child struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

// startChild runs bin with args and waits until it prints a line starting
// with "ready".
func startChild(ctx context.Context, name, bin string, args ...string) (*child, error) {
	c := &child{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			if c.out.Len() < 1<<20 {
				c.out.WriteString(line + "\n")
			}
			c.mu.Unlock()
			if strings.HasPrefix(line, "ready") {
				once.Do(func() { close(ready) })
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		c.cmd.Wait()
		pw.Close()
		close(c.done)
	}()
	select {
	case <-ready:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before it was ready:\n%s", name, c.output())
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s was not ready within 60s:\n%s", name, c.output())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// printed returns the first submatch of re in the child's output: how a
// child started on port 0 tells which port it bound.
func (c *child) printed(re string) (string, error) {
	m := regexp.MustCompile(re).FindStringSubmatch(c.output())
	if m == nil {
		return "", fmt.Errorf("%s did not print %q:\n%s", c.name, re, c.output())
	}
	return m[1], nil
}

// stop sends SIGTERM and waits (SIGKILL after 20s).
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux this runs on).
const clockTicks = 100

// cpuTime is the user+system CPU a process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rssBytes is a process's resident set size now.
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q", rest)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// usage measures one process over a run: CPU used and the peak RSS sampled.
type usage struct {
	pid      int
	cpu0     time.Duration
	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}
	peak     int64
	CPU      time.Duration
}

func measure(pid int) *usage {
	u := &usage{pid: pid, stopCh: make(chan struct{}), done: make(chan struct{})}
	u.cpu0, _ = cpuTime(pid)
	go func() {
		defer close(u.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if r, err := rssBytes(pid); err == nil && r > u.peak {
				u.peak = r
			}
			select {
			case <-u.stopCh:
				return
			case <-t.C:
			}
		}
	}()
	return u
}

// Stop ends the measurement; CPU and Peak are then set.
func (u *usage) Stop() {
	u.stopOnce.Do(func() {
		close(u.stopCh)
		<-u.done
		c, _ := cpuTime(u.pid)
		u.CPU = c - u.cpu0
	})
}

// Peak is the largest RSS sampled.
func (u *usage) Peak() int64 { return u.peak }
