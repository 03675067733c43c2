package ingress_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/ingress"
)

func TestDefaultConfig(t *testing.T) {
	cfg := ingress.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:8080" || cfg.OpsAddr != "127.0.0.1:8081" || cfg.ControlPlane != "127.0.0.1:9090" ||
		cfg.MaxEventBytes != 1<<20 || cfg.ProcessID == "" {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		flag   string
		mutate func(*ingress.Config)
	}{
		{"--http-addr", func(c *ingress.Config) { c.HTTPAddr = "" }},
		{"--http-addr", func(c *ingress.Config) { c.HTTPAddr = "8080" }},
		{"--ops-addr", func(c *ingress.Config) { c.OpsAddr = "nope" }},
		{"--control-plane", func(c *ingress.Config) { c.ControlPlane = "nope" }},
		{"--max-event-bytes", func(c *ingress.Config) { c.MaxEventBytes = 0 }},
		{"--max-batch-bytes", func(c *ingress.Config) { c.MaxBatchBytes = 10 }},
		{"--max-batch-events", func(c *ingress.Config) { c.MaxBatchEvents = 0 }},
		{"--produce-timeout", func(c *ingress.Config) { c.ProduceTimeout = time.Millisecond }},
		{"--max-buffered-records", func(c *ingress.Config) { c.MaxBufferedRecords = 0 }},
		{"--max-in-flight", func(c *ingress.Config) { c.MaxInFlight = 0 }},
		{"--max-buffered-bytes", func(c *ingress.Config) { c.MaxBufferedBytes = 10 }},
		{"--produce-linger", func(c *ingress.Config) { c.ProduceLinger = -1 }},
		{"--produce-compression", func(c *ingress.Config) { c.Compression = "brotli" }},
		{"--kafka-check-interval", func(c *ingress.Config) { c.KafkaCheckInterval = 0 }},
		{"--drain-timeout", func(c *ingress.Config) { c.DrainTimeout = -time.Second }},
		{"--process-id", func(c *ingress.Config) { c.ProcessID = "" }},
		{"--bootstrap-servers", func(c *ingress.Config) { c.Kafka.BootstrapServers = nil }},
	} {
		cfg := ingress.DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: Validate() = %v, want an error naming the flag", tc.flag, err)
		}
	}
	cfg := ingress.DefaultConfig()
	cfg.OpsAddr, cfg.ControlPlane = "", ""
	if err := cfg.Validate(); err != nil {
		t.Errorf("empty ops address and control plane: %v", err)
	}
}

func TestFlagsAndEnv(t *testing.T) {
	t.Setenv("WEFT_MAX_EVENT_BYTES", "4096")
	t.Setenv("WEFT_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
	t.Setenv("WEFT_HTTP_ADDR", "0.0.0.0:1") // the flag wins
	t.Setenv("WEFT_DRAIN_TIMEOUT", "3s")
	cfg := ingress.DefaultConfig()
	fs := pflag.NewFlagSet("ingress", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:9999", "--ops-addr", "", "--produce-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	if err := cmdutil.ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9999" || cfg.OpsAddr != "" || cfg.ProduceTimeout != 2*time.Second {
		t.Errorf("flags not applied: %+v", cfg)
	}
	if cfg.MaxEventBytes != 4096 || cfg.DrainTimeout != 3*time.Second || !slices.Equal(cfg.Kafka.BootstrapServers, []string{"k1:9092", "k2:9092"}) {
		t.Errorf("env not applied: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}

	t.Setenv("WEFT_MAX_BUFFERED_RECORDS", "lots")
	fs = pflag.NewFlagSet("ingress", pflag.ContinueOnError)
	cfg = ingress.DefaultConfig()
	cfg.AddFlags(fs)
	if err := cmdutil.ApplyEnv(fs); err == nil || !strings.Contains(err.Error(), "WEFT_MAX_BUFFERED_RECORDS") {
		t.Errorf("bad env value: %v, want an error naming the variable", err)
	}
	if got := cmdutil.EnvName("max-event-bytes"); got != "WEFT_MAX_EVENT_BYTES" {
		t.Errorf("EnvName = %s", got)
	}
}
