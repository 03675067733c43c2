package bench

import (
	"bytes"
	"context"
	"fmt"
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
	cfg.Sections = "ceilings,batch,sequence,triggers"
	cfg.Triggers = []int{1, 1000} // 1.01 and 11 deliveries per event: the floor POSTs each event once, and 11 times
	cfg.Pairs = 2
	cfg.LatencyRate = 200
	cfg.Drain = 30 * time.Second
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
	for _, sq := range []*Run{rep.Sequence, rep.SequenceLatency} {
		if sq == nil || len(sq.Load.Acked) == 0 {
			t.Fatalf("no event accepted in a sequence run\n%s", log.String())
		}
		if sq.Delivered.Lost != 0 || sq.Delivered.Distinct != len(sq.Load.Acked) {
			t.Errorf("%s: acknowledged %d, through the sequence %d distinct, lost %d", sq.Name, len(sq.Load.Acked), sq.Delivered.Distinct, sq.Delivered.Lost)
		}
	}
	if rep.SeqTrigger != rep.Deliver {
		t.Errorf("the sequence section measured its own trigger run although the ceilings had one")
	}
	if rep.FloorBatch <= 0 || rep.BatchIngest == nil || len(rep.BatchIngest.Load.Acked) == 0 {
		t.Errorf("batch floor (%.0f ev/s) or Weft's batch ingest not measured\n%s", rep.FloorBatch, log.String())
	}
	if f := rep.FanoutFloors; len(f) != 2 || f[0].Posts != 1 || f[1].Posts != 11 || f[0].Delivered <= 0 || f[1].Delivered <= 0 {
		t.Errorf("fan-out floors %+v, want 1 and 11 POSTs per event, each delivering\n%s", f, log.String())
	}
	// The growth runs, and a second pair of 1 and 1,000 triggers, 1,000
	// first.
	if p := rep.TriggerPairs; len(p) != 2 || p[0].One != rep.triggerRun(1) || p[0].Many != rep.triggerRun(1000) ||
		p[1].One.Name != "1 triggers + 1, pair 2" || p[1].Many.Name != "1000 triggers + 1, pair 2" || !p[1].Many.Load.Start.Before(p[1].One.Load.Start) {
		t.Errorf("trigger pairs %+v, want the growth runs' and a second, 1,000 triggers first\n%s", p, log.String())
	}
	for _, tr := range []*Run{rep.triggerRun(1), rep.triggerRun(1000), rep.TriggerPairs[1].One, rep.TriggerPairs[1].Many} {
		if tr == nil || tr.Delivered.Lost != 0 || tr.Delivered.Distinct != len(tr.Load.Acked) || len(tr.Load.Acked) == 0 {
			t.Errorf("trigger run: %+v", tr)
		}
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	if rep.FloorHTTP <= 0 || rep.FloorDelivered <= 0 {
		t.Errorf("floor server (%.0f ev/s) or end-to-end floor (%.0f ev/s delivered) not measured\n%s", rep.FloorHTTP, rep.FloorDelivered, log.String())
	}
	for _, want := range []string{"bare Go HTTP server answering 202", "floor server (HTTP → produce acks=all → 202)", "Floor / bare HTTP", "end-to-end floor", "raw franz-go producer", "| ingest + one trigger |", ">= 70%", "3-step Sequence vs one Trigger, delivered/s", "| 3-step sequence at 200 ev/s |",
		"batch floor server (HTTP batch → split → produce each, acks=all → 202), same load", "Batch floor / raw producer (100 per call)",
		"End-to-end floor of each fan-out", "| 1000 + 1 | 11 |", "measured as 2 pairs", "Median ratio: "} {
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
		{func(c *Config) { c.Sections = "ceilings,warp" }, `--sections: must be one of ceilings, latency, batch, isolation, sequence, triggers, brokers, payloads, got "warp"`},
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

// runAt is a Run whose load accepted perSec events per second.
func runAt(name string, perSec int) *Run {
	acked := make([]string, perSec)
	return &Run{Name: name, Load: &LoadResult{Elapsed: time.Second, Acked: acked}}
}

// deliveredAt is runAt whose trigger delivered delivered events in its
// second, with that p99.
func deliveredAt(name string, perSec, delivered int, p99 time.Duration) *Run {
	r := runAt(name, perSec)
	r.Delivers = true
	r.Delivered.Distinct, r.Delivered.P99 = delivered, p99
	return r
}

// pairsReport is a report of trigger pairs whose all-matching trigger
// delivered rates[i] = {beside 1, beside 1,000} ev/s, the first pair being
// the growth runs.
func pairsReport(rates ...[2]int) Report {
	r := Report{TriggerCounts: []int{1, 1000}}
	for i, x := range rates {
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprintf(", pair %d", i+1)
		}
		p := TriggerPair{deliveredAt("1 triggers + 1"+suffix, x[0], x[0], 0), deliveredAt("1000 triggers + 1"+suffix, x[1], x[1], 0)}
		if i == 0 {
			r.Triggers = []*Run{p.One, p.Many}
		}
		r.TriggerPairs = append(r.TriggerPairs, p)
	}
	return r
}

func TestTargetsFloorAndBatch(t *testing.T) {
	for name, c := range map[string]struct {
		rep       Report
		want      map[string]string // target -> measured
		met       map[string]bool
		inMD, not []string
	}{
		"floor below the 70% target": {
			rep:  Report{BareHTTP: 1000, FloorHTTP: 500, Ingest: runAt("ingest only, binary", 450)},
			want: map[string]string{"ingest vs bare HTTP": "45%", "ingest vs floor server": "90%"},
			met:  map[string]bool{"ingest vs bare HTTP": false},
			inMD: []string{"| floor server (HTTP → produce acks=all → 202) | 500 | 90% |", "Floor / bare HTTP: 50%", "lies above the floor", "informational: the floor is 50% of bare HTTP"},
		},
		"floor above the target": {
			rep:  Report{BareHTTP: 1000, FloorHTTP: 900, Ingest: runAt("ingest only, binary", 800)},
			want: map[string]string{"ingest vs bare HTTP": "80%", "ingest vs floor server": "89%"},
			met:  map[string]bool{"ingest vs bare HTTP": true},
			inMD: []string{"Floor / bare HTTP: 90%"},
			not:  []string{"lies above the floor"},
		},
		"batch against the raw producer, same batch size": {
			rep:  Report{RawBatch: 100000, BatchIngest: runAt("batch of 100, ingest only", 75000), BatchRun: runAt("batch of 100", 50000)},
			want: map[string]string{"batch mode vs raw producer": "75%"},
			met:  map[string]bool{"batch mode vs raw producer": true},
			inMD: []string{"| batch mode, 100 events per request, ingest only (ev/s) | 75000 | raw franz-go producer, 100 records per ProduceSync, 32 in flight | 100000 | 75% |"},
			not:  []string{"150,000"},
		},
		"isolation at a fixed rate, against the same rate alone": {
			rep: Report{IsolationSolo: deliveredAt("one trigger alone at 5000 ev/s", 5000, 5000, 8*time.Millisecond),
				Isolation: deliveredAt("one trigger + a 200 ms subscriber, at 5000 ev/s", 5000, 4750, 12*time.Millisecond)},
			want: map[string]string{"a trigger beside one whose subscriber answers in 200 ms": "95% (p99 12.0 ms beside, 8.0 ms alone)"},
			met:  map[string]bool{"a trigger beside one whose subscriber answers in 200 ms": true},
			inMD: []string{"| one trigger alone at 5000 ev/s | 5000 | 5000 |", "| one trigger + a 200 ms subscriber, at 5000 ev/s | 5000 | 4750 |"},
		},
		"isolation held back": {
			rep: Report{IsolationSolo: deliveredAt("alone", 5000, 5000, time.Millisecond),
				Isolation: deliveredAt("beside", 5000, 2500, time.Second)},
			want: map[string]string{"a trigger beside one whose subscriber answers in 200 ms": "50% (p99 1000.0 ms beside, 1.0 ms alone)"},
			met:  map[string]bool{"a trigger beside one whose subscriber answers in 200 ms": false},
		},
		"batch floor below the 70% target": {
			rep:  Report{RawBatch: 100000, FloorBatch: 50000, BatchIngest: runAt("batch of 100, ingest only", 40000)},
			want: map[string]string{"batch mode vs raw producer": "40%", "batch mode vs batch floor server": "80%"},
			met:  map[string]bool{"batch mode vs raw producer": false},
			inMD: []string{"| batch mode, 100 events per request, ingest only (ev/s) | 40000 | batch floor server (HTTP batch → split → produce each, acks=all → 202), same load | 50000 | 80% |",
				"Batch floor / raw producer (100 per call): 50%", "Weft's batch overhead is its ratio to the batch floor (80%)",
				"The target of 70% of the raw producer lies above the floor on this machine",
				"informational: the batch floor is 50% of the raw producer: the 70% target lies above the floor on this machine"},
		},
		"batch floor above the target": {
			rep:  Report{RawBatch: 100000, FloorBatch: 90000, BatchIngest: runAt("batch of 100, ingest only", 60000)},
			want: map[string]string{"batch mode vs batch floor server": "67%"},
			inMD: []string{"Batch floor / raw producer (100 per call): 90%", "informational: the batch floor is 90% of the raw producer |"},
			not:  []string{"lies above the floor"},
		},
		"fan-out floor below the 25% target": {
			rep: Report{TriggerCounts: []int{1, 1000},
				Triggers:     []*Run{deliveredAt("1 triggers + 1", 6000, 6000, 0), deliveredAt("1000 triggers + 1", 1500, 1500, 0)},
				FanoutFloors: []FanoutFloor{{Posts: 1, Accepted: 9000, Delivered: 8000}, {Posts: 11, Accepted: 8000, Delivered: 1600}}},
			want: map[string]string{"1,000 triggers vs 1 trigger": "25%", "1,000 triggers: all-matching delivered/s vs the end-to-end floor": "Weft 94% of the 11-POST floor (1500 vs 1600 ev/s)"},
			met:  map[string]bool{"1,000 triggers vs 1 trigger": true},
			inMD: []string{"| 1 + 1 | 1 | 9000 | 8000 | 100% | 6000 | 100% | 75% |", "| 1000 + 1 | 11 | 8000 | 1600 | 20% | 1500 | 25% | 94% |",
				"| delivered, all-matching trigger beside 1,000 others (ev/s) | 1500 | end-to-end floor: the raw loop POSTing each event 11 times while the floor server takes the load | 1600 | 94% |",
				"the floor's own 1,000-trigger ratio is 20%", "The target of 25% of the one-trigger rate lies above the floor on this machine",
				"informational: the floor's own 1,000-trigger ratio is 20% (11 vs 1 POSTs per event): the 25% target lies above the floor on this machine"},
		},
		"the median of interleaved pairs counts": {
			rep:  pairsReport([2]int{6000, 1200}, [2]int{5000, 1500}, [2]int{6400, 1600}),
			want: map[string]string{"1,000 triggers vs 1 trigger": "25% (median of 3 pairs: 20%, 30%, 25%)"},
			met:  map[string]bool{"1,000 triggers vs 1 trigger": true},
			inMD: []string{"| 1 | 6000 | 1200 | 20% |", "| 2 | 5000 | 1500 | 30% |", "| 3 | 6400 | 1600 | 25% |", "Median ratio: 25%."},
		},
		"an even number of pairs: the middle two's mean": {
			rep:  pairsReport([2]int{6000, 1200}, [2]int{5000, 1500}),
			want: map[string]string{"1,000 triggers vs 1 trigger": "25% (median of 2 pairs: 20%, 30%)"},
			met:  map[string]bool{"1,000 triggers vs 1 trigger": true},
		},
		"fan-out floor above the target, no 1-trigger run": {
			rep: Report{TriggerCounts: []int{1000}, Triggers: []*Run{deliveredAt("1000 triggers + 1", 1500, 1500, 0)},
				FanoutFloors: []FanoutFloor{{Posts: 1, Accepted: 9000, Delivered: 8000}, {Posts: 11, Accepted: 8000, Delivered: 4000}}},
			want: map[string]string{"1,000 triggers: all-matching delivered/s vs the end-to-end floor": "Weft 38% of the 11-POST floor (1500 vs 4000 ev/s)"},
			inMD: []string{"| – (baseline) | 1 | 9000 | 8000 | 100% | – | – | – |", "| 1000 + 1 | 11 | 8000 | 4000 | 50% | 1500 | – | 38% |", "the floor's own 1,000-trigger ratio is 50%"},
			not:  []string{"lies above the floor"},
		},
		"batch below": {
			rep:  Report{RawBatch: 100000, BatchIngest: runAt("batch of 100, ingest only", 60000)},
			want: map[string]string{"batch mode vs raw producer": "60%"},
			met:  map[string]bool{"batch mode vs raw producer": false},
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := c.rep
			r.Config = DefaultConfig()
			got := map[string]Target{}
			for _, tg := range r.Targets() {
				for prefix := range c.want {
					if strings.HasPrefix(tg.What, prefix) {
						got[prefix] = tg
					}
				}
			}
			for prefix, want := range c.want {
				tg, ok := got[prefix]
				if !ok {
					t.Errorf("no target %q in %+v", prefix, r.Targets())
					continue
				}
				if tg.Got != want {
					t.Errorf("%s: measured %s, want %s", prefix, tg.Got, want)
				}
				if met, ok := c.met[prefix]; ok && (tg.Met != met || tg.Info) {
					t.Errorf("%s: met %v (info %v), want met %v", prefix, tg.Met, tg.Info, met)
				}
				if prefix == "ingest vs floor server" && !tg.Info {
					t.Errorf("%s has a goal; it is informational", prefix)
				}
			}
			var md bytes.Buffer
			r.Markdown(&md)
			for _, s := range c.inMD {
				if !strings.Contains(md.String(), s) {
					t.Errorf("report lacks %q:\n%s", s, md.String())
				}
			}
			for _, s := range c.not {
				if strings.Contains(md.String(), s) {
					t.Errorf("report has %q:\n%s", s, md.String())
				}
			}
		})
	}
}
