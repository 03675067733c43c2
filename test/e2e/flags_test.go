package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every service binary validates its flags and WEFT_* variables before doing
// anything, prints every problem on one line and exits 1; --help names each
// flag's variable.
func TestServiceFlagErrors(t *testing.T) {
	cases := []struct {
		bin  string
		args []string
		env  []string
		want []string
	}{
		{"controlplane", []string{"--broker-partitions", "0"}, []string{"WEFT_GRPC_ADDR=nowhere"},
			[]string{`--grpc-addr: must be host:port, got "nowhere"`, "--broker-partitions: must be at least 1, got 0"}},
		{"ingress", []string{"--max-event-bytes", "0"}, []string{"WEFT_PRODUCE_COMPRESSION=brotli"},
			[]string{"--max-event-bytes: must be greater than 0, got 0", `--produce-compression: must be one of none, gzip, snappy, lz4, zstd, got "brotli"`}},
		{"dispatcher", []string{"--max-in-flight", "0"}, []string{"WEFT_BOOTSTRAP_SERVERS=kafka"},
			[]string{"--max-in-flight: must be at least 1, got 0", `--bootstrap-servers: must be host:port, got "kafka"`}},
		{"controlplane", nil, []string{"WEFT_AUTH_TOKEN_FILE=" + filepath.Join(t.TempDir(), "missing")},
			[]string{"--auth-token-file: read token file"}},
	}
	for _, tc := range cases {
		t.Run(tc.bin, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, tc.bin), tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			line := strings.TrimRight(string(out), "\n")
			if code != 1 || strings.Contains(line, "\n") || !strings.HasPrefix(line, tc.bin+": ") {
				t.Errorf("exit %d, output %q: want exit 1 and one line starting %q", code, out, tc.bin+": ")
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("output %q lacks %q", line, w)
				}
			}
		})
	}
	for _, bin := range []string{"controlplane", "ingress", "dispatcher"} {
		out, _ := exec.Command(filepath.Join(binDir, bin), "--help").CombinedOutput()
		if !strings.Contains(string(out), "[$WEFT_BOOTSTRAP_SERVERS]") || !strings.Contains(string(out), "[$WEFT_LOG_LEVEL]") {
			t.Errorf("%s --help does not name the variables:\n%s", bin, out)
		}
	}
}
