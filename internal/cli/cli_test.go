package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/controlplane"
)

// startControlPlane runs a control plane on loopback and returns its address.
func startControlPlane(t *testing.T) string {
	t.Helper()
	e := testutil.StartKafka(t)
	cfg := controlplane.DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(e)
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.OpsAddr = ""
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	srv, err := controlplane.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	rctx, stop := context.WithCancel(context.Background())
	go func() { defer close(done); _ = srv.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	return srv.Addr()
}

// weft runs the CLI and returns stdout, stderr and the exit code.
func weft(t *testing.T, server, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(context.Background(), append([]string{"--server", server}, args...), strings.NewReader(stdin), &out, &errw)
	return out.String(), errw.String(), code
}

// refusedCommand is a command the CLI must refuse with a one-line error
// holding every string of want.
type refusedCommand struct {
	name string
	args []string
	want []string
}

// checkRefused runs each command against server and checks it is refused
// as its case says.
func checkRefused(t *testing.T, server string, cases []refusedCommand) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := weft(t, server, "", tc.args...)
			if code == 0 {
				t.Fatalf("succeeded")
			}
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("error is not one line: %q", errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("error %q lacks %q", errs, w)
				}
			}
		})
	}
}

func TestCLIWalkthrough(t *testing.T) {
	addr := startControlPlane(t)
	manifest, err := os.ReadFile(filepath.Join("..", "..", "pkg", "apis", "testdata", "walkthrough.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := weft(t, addr, string(manifest), "apply", "-f", "-")
	if code != 0 {
		t.Fatalf("apply failed: %s", errs)
	}
	for _, want := range []string{"broker.eventing.knative.dev/default created", "trigger.eventing.knative.dev/hello-display created", "trigger.eventing.knative.dev/goodbye-display created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	// Status is computed from the compiled contract, which follows the
	// stored state a moment later: poll until the URIs are resolved.
	testutil.Eventually(t, 20*time.Second, "get triggers to show the resolved triggers", func() (bool, string) {
		out, errs, code := weft(t, addr, "", "get", "triggers", "-n", "event-example")
		if code != 0 {
			t.Fatalf("get failed: %s", errs)
		}
		for _, want := range []string{"NAME", "SUBSCRIBER_URI", "READY", "REASON",
			"hello-display", "http://hello-display.event-example.svc.cluster.local",
			"goodbye-display", "http://goodbye-display.event-example.svc.cluster.local", "NoDataPlane"} {
			if !strings.Contains(out, want) {
				return false, fmt.Sprintf("output lacks %q:\n%s", want, out)
			}
		}
		return true, ""
	})
	out, _, code = weft(t, addr, "", "get", "brokers", "-n", "event-example", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "url: http://127.0.0.1:8080/event-example/default") {
		t.Errorf("get brokers -o yaml (code %d):\n%s", code, out)
	}
	out, _, code = weft(t, addr, "", "describe", "trigger", "hello-display", "-n", "event-example")
	if code != 0 || !strings.Contains(out, "Conditions:") || !strings.Contains(out, "greeting") {
		t.Errorf("describe (code %d):\n%s", code, out)
	}
	out, errs, code = weft(t, addr, "", "delete", "trigger", "goodbye-display", "-n", "event-example")
	if code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("delete (code %d): %s %s", code, out, errs)
	}
}

func TestCLIShortcuts(t *testing.T) {
	addr := startControlPlane(t)
	_, errs, code := weft(t, addr, "", "broker", "create", "orders", "--partitions", "2", "--retry", "3", "--backoff-delay", "PT0.1S")
	if code != 0 {
		t.Fatalf("broker create: %s", errs)
	}
	_, errs, code = weft(t, addr, "", "broker", "create", "orders")
	if code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("second create: code %d, %s", code, errs)
	}
	_, errs, code = weft(t, addr, "", "trigger", "create", "audit", "--broker", "orders", "--filter", "type=order.created", "--sink", "ksvc:auditor")
	if code != 0 {
		t.Fatalf("trigger create: %s", errs)
	}
	// The subscriber URI is resolved by the compiler, a moment after the
	// trigger is stored.
	testutil.Eventually(t, 20*time.Second, "trigger list to show the resolved sink", func() (bool, string) {
		out, _, _ := weft(t, addr, "", "trigger", "list")
		return strings.Contains(out, "audit") && strings.Contains(out, "http://auditor.default.svc.cluster.local"), out
	})
	out, _, _ := weft(t, addr, "", "broker", "list")
	if !strings.Contains(out, "orders") || !strings.Contains(out, "/default/orders") {
		t.Errorf("broker list:\n%s", out)
	}
	_, errs, code = weft(t, addr, "", "broker", "delete", "orders")
	if code != 0 {
		t.Errorf("broker delete: %s", errs)
	}
}

func TestCLIErrorsAreOneLine(t *testing.T) {
	addr := startControlPlane(t)
	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"bad manifest", "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: Bad\n", []string{"apply", "-f", "-"}, "metadata.name"},
		{"no -f", "", []string{"apply"}, "-f is required"},
		{"missing file", "", []string{"apply", "-f", "/nonexistent/x.yaml"}, "/nonexistent/x.yaml"},
		{"unknown kind", "", []string{"get", "pods"}, "pods"},
		{"bad output", "", []string{"get", "brokers", "-o", "xml"}, "--output"},
		{"not found", "", []string{"get", "broker", "nope"}, "NotFound"},
		{"trigger without sink", "", []string{"trigger", "create", "t"}, "--sink"},
		{"bad sink prefix", "", []string{"trigger", "create", "t", "--sink", "pod:x"}, "unknown sink prefix"},
		{"bad filter", "", []string{"trigger", "create", "t", "--sink", "http://x.example/", "--filter", "novalue"}, "--filter"},
		{"bad backoff", "", []string{"broker", "create", "b", "--backoff-delay", "5s"}, "backoffDelay"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := weft(t, addr, tc.stdin, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; out %s", out)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "error: ") || !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", errs, tc.want)
			}
		})
	}
	_, errs, code := weft(t, "127.0.0.1:1", "", "get", "brokers")
	if code == 0 || !strings.Contains(errs, "cannot reach the control plane") {
		t.Errorf("unreachable server: %q", errs)
	}
}

// Every flag of every command reads its WEFT_* variable; the command line
// wins; a bad value names the variable.
func TestCLIEnvironment(t *testing.T) {
	addr := startControlPlane(t)
	run := func(args ...string) (string, string, int) {
		var out, errw bytes.Buffer
		code := Main(context.Background(), args, strings.NewReader(""), &out, &errw)
		return out.String(), errw.String(), code
	}
	t.Setenv("WEFT_SERVER", addr)
	if _, errs, code := run("broker", "create", "from-env"); code != 0 {
		t.Fatalf("broker create with WEFT_SERVER: %s", errs)
	}
	t.Setenv("WEFT_OUTPUT", "json")
	out, errs, code := run("get", "brokers")
	if code != 0 || !strings.Contains(out, `"name": "from-env"`) {
		t.Errorf("get brokers with WEFT_OUTPUT=json: code %d, %s%s", code, out, errs)
	}
	if out, _, _ := run("get", "brokers", "-o", "table"); !strings.HasPrefix(out, "NAME") {
		t.Errorf("-o table given on the command line should win over WEFT_OUTPUT:\n%s", out)
	}
	t.Setenv("WEFT_OUTPUT", "xml")
	if _, errs, code := run("get", "brokers"); code == 0 || !strings.Contains(errs, "--output") || !strings.Contains(errs, "xml") {
		t.Errorf("WEFT_OUTPUT=xml: code %d, stderr %q", code, errs)
	}
	t.Setenv("WEFT_OUTPUT", "")
	t.Setenv("WEFT_REQUEST_TIMEOUT", "soon")
	if _, errs, code := run("get", "brokers"); code == 0 || !strings.Contains(errs, "WEFT_REQUEST_TIMEOUT") {
		t.Errorf("bad WEFT_REQUEST_TIMEOUT: code %d, stderr %q", code, errs)
	}
	t.Setenv("WEFT_REQUEST_TIMEOUT", "")
	// A subcommand that is not a control-plane command reads its own flags.
	t.Setenv("WEFT_MODE", "carrier-pigeon")
	if _, errs, code := run("send", "--broker", "b", "--type", "t"); code == 0 || !strings.Contains(errs, `--mode: must be one of binary, structured, got "carrier-pigeon"`) {
		t.Errorf("send with WEFT_MODE: code %d, stderr %q", code, errs)
	}
}

// Commands show the flags they use, each with its variable, and not the
// control-plane flags when they do not call the control plane.
func TestCLIHelp(t *testing.T) {
	help := func(args ...string) string {
		var out, errw bytes.Buffer
		if code := Main(context.Background(), append(args, "--help"), strings.NewReader(""), &out, &errw); code != 0 {
			t.Fatalf("%v --help: exit %d: %s", args, code, errw.String())
		}
		return out.String()
	}
	for _, cmd := range [][]string{{"get"}, {"apply"}, {"delete"}, {"describe"}, {"broker", "create"}, {"trigger", "list"}} {
		if h := help(cmd...); !strings.Contains(h, "--server") || !strings.Contains(h, "[$WEFT_SERVER]") || !strings.Contains(h, "[$WEFT_REQUEST_TIMEOUT]") {
			t.Errorf("weft %s --help lacks --server [$WEFT_SERVER] or --request-timeout:\n%s", strings.Join(cmd, " "), h)
		}
	}
	for _, cmd := range [][]string{{"dev"}, {"send"}, {"display"}, {"watch"}, {"kafka"}, {"probe"}, {"bench"}} {
		h := help(cmd...)
		if strings.Contains(h, "--server") || strings.Contains(h, "--token-file") || strings.Contains(h, "--request-timeout") {
			t.Errorf("weft %s --help shows control-plane flags it ignores:\n%s", strings.Join(cmd, " "), h)
		}
	}
	if h := help("dev"); !strings.Contains(h, "[$WEFT_HTTP_ADDR]") {
		t.Errorf("weft dev --help does not name WEFT_HTTP_ADDR:\n%s", h)
	}
}
