package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A tiny profile against real processes: weft kafka, weft dev and the bare
// server, built from this tree. Every acknowledged event is delivered once
// and the report carries the ceilings and their ratios.
func TestBenchTinyProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the weft binary")
	}
	bin := filepath.Join(t.TempDir(), "weft")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/weft")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build weft: %v\n%s", err, out)
	}
	cfg := DefaultConfig()
	cfg.WeftBinary = bin
	cfg.Duration = time.Second
	cfg.Connections = 2
	cfg.Sections = "ceilings"
	cfg.Drain = 30 * time.Second
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Bench(ctx, cfg, &log)
	if err != nil {
		t.Fatalf("Bench: %v\n%s", err, log.String())
	}
	if rep.BareHTTP <= 0 || rep.RawKafka <= 0 {
		t.Errorf("ceilings not measured: bare %.0f, raw Kafka %.0f", rep.BareHTTP, rep.RawKafka)
	}
	if rep.Ingest == nil || len(rep.Ingest.Load.Acked) == 0 {
		t.Fatalf("no event accepted in the ingest run\n%s", log.String())
	}
	d := rep.Deliver
	if d == nil || len(d.Load.Acked) == 0 {
		t.Fatalf("no event accepted in the delivery run\n%s", log.String())
	}
	if d.Delivered.Lost != 0 || d.Delivered.Distinct != len(d.Load.Acked) {
		t.Errorf("acknowledged %d, delivered %d distinct, lost %d", len(d.Load.Acked), d.Delivered.Distinct, d.Delivered.Lost)
	}
	if d.WeftCPU <= 0 || d.WeftPeakRSS <= 0 {
		t.Errorf("Weft's CPU (%s) and RSS (%d) not measured", d.WeftCPU, d.WeftPeakRSS)
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	for _, want := range []string{"bare Go HTTP server answering 202", "raw franz-go producer", "| ingest + one trigger |", ">= 70%"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Duration = 0 }, "--duration"},
		{func(c *Config) { c.Connections = 0 }, "--connections"},
		{func(c *Config) { c.Mode = "xml" }, `--mode: must be one of binary, structured, batch, got "xml"`},
		{func(c *Config) { c.Sections = "ceilings,warp" }, `--sections: must be one of ceilings, latency, batch, isolation, triggers, brokers, payloads, got "warp"`},
		{func(c *Config) { c.Brokers = []int{0} }, "--brokers"},
		{func(c *Config) { c.Payload = 1 }, "--payload"},
	} {
		cfg := DefaultConfig()
		c.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want an error about %s", err, c.want)
		}
	}
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestSentAtRoundTrip(t *testing.T) {
	now := time.Now()
	got, ok := sentAt(eventID("bench-1", 3, 42, now))
	if !ok || !got.Equal(time.Unix(0, now.UnixNano())) {
		t.Errorf("sentAt = %v %v, want %v", got, ok, now)
	}
	if _, ok := sentAt("warmup"); ok {
		t.Error("an id without a timestamp parsed")
	}
}
