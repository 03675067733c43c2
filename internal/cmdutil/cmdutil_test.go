package cmdutil

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestApplyEnv(t *testing.T) {
	t.Setenv("WEFT_GRPC_ADDR", "0.0.0.0:1") // the flag given on the command line wins
	t.Setenv("WEFT_DRAIN_TIMEOUT", "3s")
	t.Setenv("WEFT_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	addr := fs.String("grpc-addr", "127.0.0.1:9090", "")
	drain := fs.Duration("drain-timeout", time.Second, "")
	servers := fs.StringSlice("bootstrap-servers", nil, "")
	untouched := fs.Int("partitions", 3, "")
	if err := fs.Parse([]string{"--grpc-addr", "127.0.0.1:7"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:7" || *drain != 3*time.Second || strings.Join(*servers, ",") != "k1:9092,k2:9092" || *untouched != 3 {
		t.Errorf("got addr %s drain %s servers %v partitions %d", *addr, *drain, *servers, *untouched)
	}
	t.Setenv("WEFT_PARTITIONS", "many")
	if err := ApplyEnv(fs); err == nil || !strings.Contains(err.Error(), "WEFT_PARTITIONS") {
		t.Errorf("bad value: %v, want an error naming the variable", err)
	}
	if got := EnvName("max-event-bytes"); got != "WEFT_MAX_EVENT_BYTES" {
		t.Errorf("EnvName = %s", got)
	}
}

func TestProbe(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Probe(ctx, srv.URL+"/readyz"); err != nil {
		t.Errorf("ready server: %v", err)
	}
	ready = false
	if err := Probe(ctx, srv.URL+"/readyz"); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("unready server: %v, want status 503", err)
	}
	if err := Probe(ctx, "tcp://"+srv.Listener.Addr().String()); err != nil {
		t.Errorf("tcp to a listener: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.Listener.Addr().String()
	closed.Close()
	if err := Probe(ctx, "tcp://"+addr); err == nil {
		t.Error("tcp to a closed port succeeded")
	}
	for _, bad := range []string{"localhost:80", "ftp://h:1", "://x"} {
		if err := Probe(ctx, bad); err == nil {
			t.Errorf("Probe(%q) accepted a bad target", bad)
		}
	}
}

func TestRunProbeUsesOpsAddr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	var errs strings.Builder
	stderr = &errs
	defer func() { stderr = os.Stderr }()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("ops-addr", "127.0.0.1:1", "")
	t.Setenv("WEFT_OPS_ADDR", "0.0.0.0:"+port) // a container listens on every interface; the probe uses loopback
	if code := runProbe("x", fs, nil); code != 0 {
		t.Errorf("probe of a ready service: exit %d, stderr %q", code, errs.String())
	}
	fs = pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("ops-addr", "", "")
	t.Setenv("WEFT_OPS_ADDR", "")
	if code := runProbe("x", fs, nil); code != 2 || !strings.Contains(errs.String(), "--ops-addr") {
		t.Errorf("probe without an ops address: exit %d, stderr %q", code, errs.String())
	}
}

func TestOneLine(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"plain":  {errors.New("listen: boom"), "listen: boom"},
		"joined": {errors.Join(errors.New("--a: must be set"), errors.New("--b: must be at least 1, got 0")), "--a: must be set; --b: must be at least 1, got 0"},
		"grpc":   {status.Error(codes.InvalidArgument, "spec.broker: required\nspec.subscriber: required"), "spec.broker: required; spec.subscriber: required (InvalidArgument)"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := OneLine(tc.err); got != tc.want {
				t.Errorf("OneLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAnnotateEnv(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("bootstrap-servers", "", "Kafka bootstrap servers")
	AnnotateEnv(fs)
	AnnotateEnv(fs) // twice: still one annotation
	if got := fs.Lookup("bootstrap-servers").Usage; got != "Kafka bootstrap servers [$WEFT_BOOTSTRAP_SERVERS]" {
		t.Errorf("usage = %q", got)
	}
}
