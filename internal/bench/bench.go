package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/flagcheck"
)

// Config configures `weft bench`.
type Config struct {
	// WeftBinary is the weft executable started as `weft kafka`, `weft dev`
	// and the bare server (default: this executable).
	WeftBinary  string
	Duration    time.Duration
	Connections int
	Payload     int
	Mode        string
	Partitions  int
	// Sections to run, comma separated (see AllSections).
	Sections string
	// Triggers, Brokers and Payloads are the cost-growth points.
	Triggers, Brokers, Payloads []int
	// LatencyRate is the fixed rate of the latency run (events/s).
	LatencyRate int
	// BatchSize is events per request in the batch run.
	BatchSize int
	// CPUProfile, when set, is the prefix of the CPU profiles of `weft dev`
	// taken during each run (FILE.<run name>).
	CPUProfile string
	// Drain bounds the wait for deliveries after each run.
	Drain time.Duration
	// Pairs is how many times the 1-trigger and 1,000-trigger runs are
	// measured, as pairs whose order alternates, when the trigger counts
	// hold both: the 1,000-trigger ratio is the median pair's. On a shared
	// machine one pair's ratio moves by a fifth from run to run.
	Pairs int
}

// AllSections are the parts of a benchmark run, in order.
var AllSections = []string{"ceilings", "latency", "batch", "isolation", "sequence", "triggers", "brokers", "payloads"}

// DefaultConfig is the short profile `make bench` runs.
func DefaultConfig() Config {
	return Config{
		Duration: 3 * time.Second, Connections: 32, Payload: 1024, Mode: string(Binary), Partitions: 3,
		Sections: strings.Join(AllSections, ","),
		Triggers: []int{1, 10, 100, 1000}, Brokers: []int{1, 10, 100}, Payloads: []int{100, 1024, 64 << 10, 1 << 20},
		LatencyRate: 5000, BatchSize: 100, Drain: 120 * time.Second, Pairs: 3,
	}
}

// AddFlags registers the flags of `weft bench`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.Duration, "duration", c.Duration, "length of each measured run")
	fs.IntVar(&c.Connections, "connections", c.Connections, "keep-alive HTTP connections of the load")
	fs.IntVar(&c.Payload, "payload", c.Payload, "bytes of data per event")
	fs.StringVar(&c.Mode, "mode", c.Mode, "binary, structured or batch (the ingest run)")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "partitions of each broker topic")
	fs.StringVar(&c.Sections, "sections", c.Sections, "what to run, comma separated: "+strings.Join(AllSections, ","))
	fs.IntSliceVar(&c.Triggers, "triggers", c.Triggers, "cost growth: trigger counts on one broker")
	fs.IntSliceVar(&c.Brokers, "brokers", c.Brokers, "cost growth: broker counts")
	fs.IntSliceVar(&c.Payloads, "payloads", c.Payloads, "cost growth: payload sizes in bytes")
	fs.IntVar(&c.LatencyRate, "latency-rate", c.LatencyRate, "events/s of the latency run")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "events per request of the batch run")
	fs.StringVar(&c.CPUProfile, "cpu-profile", c.CPUProfile, "write a CPU profile of weft dev during each run to `FILE`.<run>")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "longest wait for deliveries after each run")
	fs.IntVar(&c.Pairs, "pairs", c.Pairs, "times the 1- and 1,000-trigger runs are measured, in pairs of alternating order, for the 1,000-trigger ratio (the median pair counts)")
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.Positive("--duration", c.Duration),
		flagcheck.AtLeast("--connections", c.Connections, 1),
		flagcheck.AtLeast("--payload", c.Payload, 8),
		flagcheck.AtLeast("--partitions", c.Partitions, 1),
		flagcheck.AtLeast("--latency-rate", c.LatencyRate, 1),
		flagcheck.AtLeast("--batch-size", c.BatchSize, 1),
		flagcheck.OneOf("--mode", c.Mode, string(Binary), string(Structured), string(Batch)),
		flagcheck.Positive("--drain", c.Drain),
		flagcheck.AtLeast("--pairs", c.Pairs, 1),
	}
	for _, s := range c.sections() {
		errs = append(errs, flagcheck.OneOf("--sections", s, AllSections...))
	}
	for _, v := range c.Triggers {
		errs = append(errs, flagcheck.AtLeast("--triggers", v, 0))
	}
	for name, list := range map[string][]int{"--brokers": c.Brokers, "--payloads": c.Payloads} {
		for _, v := range list {
			errs = append(errs, flagcheck.AtLeast(name, v, 1))
		}
	}
	return flagcheck.Join(errs...)
}

func (c *Config) sections() []string {
	var out []string
	for _, s := range strings.Split(c.Sections, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// env is the running system under test.
type env struct {
	cfg                   Config
	kafka, weft, bare     *child
	kafkaAddr, grpc, http string
	bareAddr, pprof       string
	sub                   *subscriber
	mesh                  *mesh
	log                   io.Writer
	runs                  int
}

func (e *env) close() {
	if e.mesh != nil {
		e.mesh.close()
	}
	if e.sub != nil {
		e.sub.close()
	}
	for _, c := range []*child{e.bare, e.weft, e.kafka} {
		if c != nil {
			c.stop()
		}
	}
}

func start(ctx context.Context, cfg Config, log io.Writer) (*env, error) {
	e := &env{cfg: cfg, log: log}
	// Every child binds a port the kernel picks and prints it before "ready".
	var err error
	fmt.Fprintf(log, "starting weft kafka, weft dev and the bare HTTP server (%s)\n", cfg.WeftBinary)
	if e.kafka, err = startChild(ctx, "weft kafka", cfg.WeftBinary, "kafka", "--addr", "127.0.0.1:0", "--data-dir=",
		"--default-partitions", strconv.Itoa(cfg.Partitions)); err != nil {
		return nil, err
	}
	if e.kafkaAddr, err = e.kafka.printed(`(?m)^kafka-protocol server listening on (\S+)`); err != nil {
		e.close()
		return nil, err
	}
	if e.weft, err = startChild(ctx, "weft dev", cfg.WeftBinary, "dev", "--bootstrap-servers", e.kafkaAddr,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--partitions", strconv.Itoa(cfg.Partitions),
		"--pprof-addr", "127.0.0.1:0", "--log-level", "error"); err != nil {
		e.close()
		return nil, err
	}
	for re, dst := range map[string]*string{
		`(?m)^\s+control plane:\s+(\S+)`:     &e.grpc,
		`(?m)^\s+ingress:\s+http://([^/]+)/`: &e.http,
		`(?m)^\s+pprof:\s+http://([^/]+)/`:   &e.pprof,
	} {
		if *dst, err = e.weft.printed(re); err != nil {
			e.close()
			return nil, err
		}
	}
	if e.bare, err = startChild(ctx, "bare server", cfg.WeftBinary, "bench", "bare-server", "--addr", "127.0.0.1:0"); err != nil {
		e.close()
		return nil, err
	}
	if e.bareAddr, err = e.bare.printed(`(?m)^ready: bare 202 server on (\S+)`); err != nil {
		e.close()
		return nil, err
	}
	if e.sub, err = startSubscriber(); err != nil {
		e.close()
		return nil, err
	}
	if e.mesh, err = dialMesh(e.grpc); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// Run is one measured load through Weft.
type Run struct {
	Name      string
	Load      *LoadResult
	Delivered Delivery
	// WeftCPU and KafkaCPU are CPU used during the load and the drain.
	WeftCPU, KafkaCPU time.Duration
	WeftPeakRSS       int64
	// FetchBytes is what the dispatcher fetched from Kafka during the run
	// (record batches, as stored): -1 when not known.
	FetchBytes int64
	// Delivers is false for an ingest-only run (no trigger).
	Delivers bool
}

// DeliveredPerSec is the distinct events delivered to the all-matching
// trigger per second, from the first request to the last arrival.
func (r *Run) DeliveredPerSec() float64 {
	if r.Delivered.Distinct == 0 {
		return 0
	}
	span := r.Delivered.Last.Sub(r.Load.Start)
	if span < r.Load.Elapsed {
		span = r.Load.Elapsed
	}
	return float64(r.Delivered.Distinct) / span.Seconds()
}

// CPUPer1k is Weft's CPU per 1,000 accepted events.
func (r *Run) CPUPer1k() time.Duration {
	if len(r.Load.Acked) == 0 {
		return 0
	}
	return time.Duration(float64(r.WeftCPU) * 1000 / float64(len(r.Load.Acked)))
}

// through sets up brokers and triggers in a namespace of its own, runs the
// load against every broker, waits for the deliveries, and tears down.
// Without deliver, the brokers have no trigger: the run measures the ingress alone.
func (e *env) through(ctx context.Context, name string, brokers, triggers int, deliver bool, load Load) (*Run, error) {
	return e.run(ctx, name, brokers, triggers, deliver, false, load)
}

// run is through, with slow adding a trigger whose subscriber answers in 200 ms.
func (e *env) run(ctx context.Context, name string, brokers, triggers int, deliver, slow bool, load Load) (*Run, error) {
	return e.measure(ctx, name, deliver, load, func(ns string) ([]string, error) {
		if err := e.mesh.setup(ctx, ns, brokers, triggers, deliver, slow, e.sub.addr); err != nil {
			return nil, err
		}
		var urls []string
		for b := 0; b < brokers; b++ {
			urls = append(urls, fmt.Sprintf("http://%s/%s/b%d", e.http, ns, b))
		}
		return urls, nil
	})
}

// sequence runs load against a Sequence of steps steps, each an echo
// service replying with the event it got, the last replying to the
// subscriber's /all: a delivery there is an event through every step.
func (e *env) sequence(ctx context.Context, name string, steps int, load Load) (*Run, error) {
	return e.measure(ctx, name, true, load, func(ns string) ([]string, error) {
		if err := e.mesh.setupSequence(ctx, ns, steps, e.sub.addr); err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("http://%s/sequences/%s/seq", e.http, ns)}, nil
	})
}

// measure sets up a namespace of its own with setup (which returns the URLs
// to load), runs the load, waits for the deliveries at /all, and tears down.
func (e *env) measure(ctx context.Context, name string, deliver bool, load Load, setup func(ns string) ([]string, error)) (*Run, error) {
	e.runs++
	ns := fmt.Sprintf("bench-%d", e.runs)
	urls, err := setup(ns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer e.mesh.teardown(context.WithoutCancel(ctx), ns)
	load.URLs = append(load.URLs, urls...)
	if err := e.warm(ctx, load.URLs, deliver); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e.sub.reset()
	load.RunID = ns
	fetch0 := e.fetchedBytes(ctx)
	weftU, kafkaU := measure(e.weft.pid()), measure(e.kafka.pid())
	profDone := make(chan error, 1)
	profile, closeProfile, err := profileFile(e.cfg.CPUProfile, slug(name))
	if err != nil {
		return nil, err
	}
	defer closeProfile()
	if profile != nil {
		go func() { profDone <- e.cpuProfile(ctx, load.Duration, profile) }()
	}
	res, err := load.Run(ctx)
	if err != nil {
		return nil, err
	}
	if deliver {
		e.sub.waitDrained(ctx, len(res.Acked), 30*time.Second, e.cfg.Drain)
	}
	weftU.Stop()
	kafkaU.Stop()
	if profile != nil {
		if err := <-profDone; err != nil {
			return nil, err
		}
	}
	r := &Run{Name: name, Load: res, WeftCPU: weftU.CPU, KafkaCPU: kafkaU.CPU, WeftPeakRSS: weftU.Peak(), Delivers: deliver, FetchBytes: -1}
	if fetch1 := e.fetchedBytes(ctx); fetch0 >= 0 && fetch1 >= 0 {
		r.FetchBytes = fetch1 - fetch0
	}
	if deliver {
		r.Delivered = e.sub.delivery(res.Acked)
	}
	fmt.Fprintf(e.log, "  %-28s accepted %8.0f ev/s  delivered %8.0f ev/s  p99 %6.1f ms  lost %d  dups %d  errors %s  Weft CPU %.1f ms/1k\n",
		name, res.AcceptedPerSec(), r.DeliveredPerSec(), ms(r.Delivered.P99), r.Delivered.Lost, r.Delivered.Duplicates, res.Errors(), ms(r.CPUPer1k()))
	return r, nil
}

// triggerPairs measures the 1-trigger and 1,000-trigger runs again, as
// rep.Config.Pairs pairs in all (the growth runs are the first), the order
// alternating so that neither count always runs first.
func (e *env) triggerPairs(ctx context.Context, rep *Report, load Load) error {
	one, many := rep.triggerRun(1), rep.triggerRun(1000)
	if one == nil || many == nil {
		return nil
	}
	rep.TriggerPairs = append(rep.TriggerPairs, TriggerPair{One: one, Many: many})
	for i := 2; i <= rep.Config.Pairs; i++ {
		counts := []int{1000, 1}
		if i%2 == 1 {
			counts = []int{1, 1000}
		}
		var p TriggerPair
		for _, n := range counts {
			r, err := e.through(ctx, fmt.Sprintf("%d triggers + 1, pair %d", n, i), 1, n, true, load)
			if err != nil {
				return err
			}
			if n == 1 {
				p.One = r
			} else {
				p.Many = r
			}
		}
		rep.TriggerPairs = append(rep.TriggerPairs, p)
	}
	return nil
}

// floor runs load against `weft bench floor-server`, started for it on a
// topic of its own (deleted after), and returns the events answered 202
// per second. With posts > 0, the raw consume, POST loop reads the topic
// meanwhile, POSTing each record posts times, until every acknowledged
// event is so delivered (or the drain bound passes), and delivered is those
// events per second from the load's start to the last delivery — what
// Run.DeliveredPerSec is for Weft, drain included, so a floor whose ingest
// outruns its deliveries is not judged by the deliveries it had time for.
func (e *env) floor(ctx context.Context, load Load, posts int) (accepted, delivered float64, err error) {
	topic := fmt.Sprintf("weft.bench.floor.%d", time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafkaAddr))
	if err != nil {
		return 0, 0, err
	}
	err = createTopic(ctx, cl, topic, e.cfg.Partitions)
	cl.Close()
	if err != nil {
		return 0, 0, err
	}
	defer e.deleteTopic(topic)
	srv, err := startChild(ctx, "floor server", e.cfg.WeftBinary, "bench", "floor-server", "--addr", "127.0.0.1:0",
		"--bootstrap", e.kafkaAddr, "--topic", topic)
	if err != nil {
		return 0, 0, err
	}
	defer srv.stop()
	addr, err := srv.printed(`(?m)^ready: floor server on (\S+)`)
	if err != nil {
		return 0, 0, err
	}
	load.URLs, load.RunID = []string{"http://" + addr + "/bench/floor"}, "floor"
	if err := e.warm(ctx, load.URLs, false); err != nil {
		return 0, 0, fmt.Errorf("floor server: %w", err)
	}
	if posts == 0 {
		res, err := load.Run(ctx)
		if err != nil {
			return 0, 0, err
		}
		return res.AcceptedPerSec(), 0, nil
	}
	var (
		wg    sync.WaitGroup
		derr  error
		mu    sync.Mutex
		count int64
		want  int64 = -1 // the acknowledged events, once the load is over
		all         = make(chan struct{})
	)
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	wg.Go(func() {
		derr = rawDeliverLoop(dctx, e.kafkaAddr, topic, e.sub.addr, posts, e.cfg.Connections, func(n int64) {
			mu.Lock()
			defer mu.Unlock()
			if count = n; count == want {
				close(all)
			}
		})
	})
	res, err := load.Run(ctx)
	if err != nil {
		stop()
		wg.Wait()
		return 0, 0, err
	}
	mu.Lock()
	if want = int64(len(res.Acked)); count >= want {
		close(all)
	}
	mu.Unlock()
	drain := time.NewTimer(e.cfg.Drain)
	select {
	case <-all:
	case <-drain.C:
	case <-ctx.Done():
	}
	drain.Stop()
	end := time.Now()
	mu.Lock()
	n := count
	mu.Unlock()
	stop()
	wg.Wait()
	if derr != nil {
		return 0, 0, derr
	}
	if n < want {
		fmt.Fprintf(e.log, "  floor: %d of %d events delivered %d times within the drain bound %s\n", n, want, posts, e.cfg.Drain)
	}
	span := max(res.Elapsed, end.Sub(res.Start))
	return res.AcceptedPerSec(), float64(n) / span.Seconds(), nil
}

// FanoutFloor is the end-to-end floor of a fan-out: the floor server takes
// the load while the raw consume, POST loop POSTs each record Posts times.
type FanoutFloor struct {
	Posts int
	// Accepted is the floor server's ev/s, Delivered the events POSTed
	// Posts times per second.
	Accepted, Delivered float64
}

// postsPerEvent is, for each trigger count, the deliveries per event of a
// mesh with that many 1% triggers beside the all-matching one: trigger i
// matches type-(i mod 100) and the load spreads events evenly over 100
// types, so an event goes to 1 + n/100 triggers on average (exactly for n a
// multiple of 100), rounded to whole POSTs.
func postsPerEvent(triggers []int) []int {
	out := make([]int, len(triggers))
	for i, n := range triggers {
		out[i] = 1 + (n+50)/100
	}
	return out
}

// deleteTopic deletes a topic of the bench's own, best effort.
func (e *env) deleteTopic(topic string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafkaAddr))
	if err != nil {
		return
	}
	defer cl.Close()
	_, _ = kadm.NewClient(cl).DeleteTopics(context.Background(), topic)
}

// fetchedBytes reads weft_dispatcher_fetch_bytes_total of `weft dev` from
// its debug server's /metrics (-1 when it cannot be read).
func (e *env) fetchedBytes(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.pprof+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return -1
	}
	var sum float64
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "weft_dispatcher_fetch_bytes_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return int64(sum)
}

// warm waits until every URL answers 202 (the ingress serves it) and, with
// deliver, until each warm-up event came through to /all (the dispatcher
// runs every hop).
func (e *env) warm(ctx context.Context, urls []string, deliver bool) error {
	e.sub.warmups.Store(0)
	for _, u := range urls {
		deadline := time.Now().Add(60 * time.Second)
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{}`))
			req.Header.Set("Ce-Id", warmupID)
			req.Header.Set("Ce-Specversion", "1.0")
			req.Header.Set("Ce-Type", "warmup")
			req.Header.Set("Ce-Source", "weft-bench")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not accept events (last: %v)", u, statusOrErr(resp, err))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if deliver { // the data plane runs the path once a warm-up event came through it
		return e.sub.waitWarm(ctx, len(urls), 60*time.Second)
	}
	return nil
}

func statusOrErr(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

func (e *env) cpuProfile(ctx context.Context, d time.Duration, w io.Writer) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", e.pprof, secs), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Report is everything one benchmark run measured.
type Report struct {
	Machine            string
	Config             Config
	BareHTTP, RawKafka float64
	// FloorHTTP is the architecture's floor: ev/s of a minimal HTTP →
	// produce (acks=all) → 202 server under the ingest run's load (0 when
	// not measured, as in batch mode).
	FloorHTTP float64
	// RawBatch is records/s of the raw producer with BatchSize records per
	// ProduceSync call, the batch run's baseline.
	RawBatch float64
	// FloorBatch is the batch floor: ev/s of the floor server splitting
	// each batch request of the batch run's load into records (acks=all)
	// before answering 202 (0 when not measured).
	FloorBatch float64
	// FanoutFloors are the end-to-end floors of the triggers section, one
	// per number of POSTs per event, starting with one.
	FanoutFloors []FanoutFloor
	// RawDeliver is the delivery floor: POSTs/s of a bare consume, POST loop.
	RawDeliver float64
	// FloorDelivered is the end-to-end floor: events/s the raw consume,
	// POST loop delivered while the floor server took the ingest run's load
	// on the same topic (0 when not measured) — the floor's counterpart of
	// Weft's "ingest + one trigger".
	FloorDelivered float64
	// Ingest has no trigger (the ingress alone); Deliver adds one matching all.
	Ingest, Deliver   *Run
	Latency, BatchRun *Run
	// BatchIngest is the batch load with no trigger: the ingress alone,
	// compared with RawBatch.
	BatchIngest *Run
	// Isolation is one trigger at LatencyRate beside a trigger whose
	// subscriber takes 200 ms; IsolationSolo the same trigger alone at the
	// same rate (the latency run when it ran).
	Isolation, IsolationSolo *Run
	// Sequence is a three-step Sequence under the saturating load and
	// SequenceLatency at LatencyRate; SeqTrigger and SeqTriggerLatency are
	// one trigger under the same loads (the Deliver and Latency runs when
	// those sections ran).
	Sequence, SequenceLatency, SeqTrigger, SeqTriggerLatency *Run
	Triggers, Brokers, Payload                               []*Run
	// TriggerCounts etc. label the growth runs.
	TriggerCounts, BrokerCounts, PayloadSizes []int
	// TriggerPairs are the 1-trigger and 1,000-trigger runs measured as
	// pairs (Config.Pairs), the growth runs' first.
	TriggerPairs []TriggerPair
}

// TriggerPair is a 1-trigger run and a 1,000-trigger run measured one
// after the other.
type TriggerPair struct{ One, Many *Run }

// Ratio is the all-matching trigger's delivered rate beside 1,000 others
// over its rate beside one.
func (p TriggerPair) Ratio() float64 { return ratio(p.Many.DeliveredPerSec(), p.One.DeliveredPerSec()) }

// Bench runs the configured sections and returns the report; progress goes to log.
func Bench(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.WeftBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the weft binary: %w", err)
		}
		cfg.WeftBinary = exe
	}
	e, err := start(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer e.close()
	rep := &Report{Machine: machine(), Config: cfg}
	base := Load{Mode: Mode(cfg.Mode), Connections: cfg.Connections, Duration: cfg.Duration, Payload: cfg.Payload, Types: 100, BatchSize: cfg.BatchSize}
	for _, s := range cfg.sections() {
		fmt.Fprintf(log, "%s:\n", s)
		switch s {
		case "ceilings":
			bare := base
			bare.URLs, bare.RunID = []string{"http://" + e.bareAddr + "/bench/bare"}, "bare"
			res, err := bare.Run(ctx)
			if err != nil {
				return nil, err
			}
			rep.BareHTTP = res.AcceptedPerSec()
			fmt.Fprintf(log, "  %-28s accepted %8.0f ev/s\n", "bare HTTP 202 server", rep.BareHTTP)
			if base.Mode == Batch {
				fmt.Fprintf(log, "  %-28s skipped in batch mode: the batch section measures the batch floor\n", "floor server")
			} else {
				if rep.FloorHTTP, _, err = e.floor(ctx, base, 0); err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "  %-28s accepted %8.0f ev/s\n", "floor HTTP -> produce server", rep.FloorHTTP)
				var acc float64
				if acc, rep.FloorDelivered, err = e.floor(ctx, base, 1); err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "  %-28s accepted %8.0f ev/s  delivered %8.0f ev/s\n", "floor server + raw POST loop", acc, rep.FloorDelivered)
			}
			rawTopic := fmt.Sprintf("weft.bench.raw.%d", time.Now().UnixNano())
			if rep.RawKafka, err = rawProduce(ctx, e.kafkaAddr, rawTopic, cfg.Partitions, cfg.Connections, 1, cfg.Payload, cfg.Duration); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "  %-28s produced %8.0f ev/s\n", "raw franz-go producer", rep.RawKafka)
			rep.RawDeliver, err = rawDeliver(ctx, e.kafkaAddr, rawTopic, e.sub.addr, 1, cfg.Connections, cfg.Duration)
			e.deleteTopic(rawTopic)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "  %-28s posted   %8.0f ev/s\n", "raw consume -> POST loop", rep.RawDeliver)
			if rep.Ingest, err = e.through(ctx, "ingest only, "+cfg.Mode, 1, 0, false, base); err != nil {
				return nil, err
			}
			if rep.Deliver, err = e.through(ctx, "ingest + one trigger", 1, 0, true, base); err != nil {
				return nil, err
			}
		case "latency":
			l := base
			l.Mode, l.Rate = Binary, cfg.LatencyRate
			if rep.Latency, err = e.through(ctx, fmt.Sprintf("latency at %d ev/s", cfg.LatencyRate), 1, 0, true, l); err != nil {
				return nil, err
			}
		case "batch":
			rawTopic := fmt.Sprintf("weft.bench.rawbatch.%d", time.Now().UnixNano())
			rep.RawBatch, err = rawProduce(ctx, e.kafkaAddr, rawTopic, cfg.Partitions, cfg.Connections, cfg.BatchSize, cfg.Payload, cfg.Duration)
			e.deleteTopic(rawTopic)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "  %-28s produced %8.0f ev/s\n", fmt.Sprintf("raw producer, %d per call", cfg.BatchSize), rep.RawBatch)
			l := base
			l.Mode = Batch
			if rep.FloorBatch, _, err = e.floor(ctx, l, 0); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "  %-28s accepted %8.0f ev/s\n", fmt.Sprintf("batch floor, %d per request", cfg.BatchSize), rep.FloorBatch)
			if rep.BatchIngest, err = e.through(ctx, fmt.Sprintf("batch of %d, ingest only", cfg.BatchSize), 1, 0, false, l); err != nil {
				return nil, err
			}
			if rep.BatchRun, err = e.through(ctx, fmt.Sprintf("batch of %d", cfg.BatchSize), 1, 0, true, l); err != nil {
				return nil, err
			}
		case "isolation":
			// At a fixed rate the machine is not saturated, so the
			// comparison measures whether the slow trigger holds the fast
			// one back rather than how the two share the CPU.
			l := base
			l.Mode, l.Rate = Binary, cfg.LatencyRate
			if rep.IsolationSolo = rep.Latency; rep.IsolationSolo == nil {
				if rep.IsolationSolo, err = e.through(ctx, fmt.Sprintf("one trigger alone at %d ev/s", cfg.LatencyRate), 1, 0, true, l); err != nil {
					return nil, err
				}
			}
			if rep.Isolation, err = e.run(ctx, fmt.Sprintf("one trigger + a 200 ms subscriber, at %d ev/s", cfg.LatencyRate), 1, 0, true, true, l); err != nil {
				return nil, err
			}
		case "sequence":
			// A three-step Sequence next to one Trigger, in the same run:
			// saturating (events/s) and at the latency rate (p99).
			if rep.SeqTrigger = rep.Deliver; rep.SeqTrigger == nil {
				if rep.SeqTrigger, err = e.through(ctx, "ingest + one trigger", 1, 0, true, base); err != nil {
					return nil, err
				}
			}
			if rep.Sequence, err = e.sequence(ctx, "3-step sequence", 3, base); err != nil {
				return nil, err
			}
			l := base
			l.Mode, l.Rate = Binary, cfg.LatencyRate
			if rep.SeqTriggerLatency = rep.Latency; rep.SeqTriggerLatency == nil {
				if rep.SeqTriggerLatency, err = e.through(ctx, fmt.Sprintf("latency at %d ev/s", cfg.LatencyRate), 1, 0, true, l); err != nil {
					return nil, err
				}
			}
			if rep.SequenceLatency, err = e.sequence(ctx, fmt.Sprintf("3-step sequence at %d ev/s", cfg.LatencyRate), 3, l); err != nil {
				return nil, err
			}
		case "triggers":
			// The end-to-end floor of each fan-out, and of one POST per
			// event (the 1-trigger baseline) whatever the trigger counts.
			floors := map[int]FanoutFloor{}
			for _, k := range append([]int{1}, postsPerEvent(cfg.Triggers)...) {
				if _, ok := floors[k]; ok {
					continue
				}
				f := FanoutFloor{Posts: k}
				if f.Accepted, f.Delivered, err = e.floor(ctx, base, k); err != nil {
					return nil, err
				}
				floors[k] = f
				rep.FanoutFloors = append(rep.FanoutFloors, f)
				fmt.Fprintf(log, "  %-28s accepted %8.0f ev/s  delivered %8.0f ev/s (each POSTed %d times)\n", fmt.Sprintf("floor, %d POSTs per event", k), f.Accepted, f.Delivered, k)
			}
			for _, n := range cfg.Triggers {
				r, err := e.through(ctx, fmt.Sprintf("%d triggers + 1", n), 1, n, true, base)
				if err != nil {
					return nil, err
				}
				rep.Triggers, rep.TriggerCounts = append(rep.Triggers, r), append(rep.TriggerCounts, n)
			}
			if err := e.triggerPairs(ctx, rep, base); err != nil {
				return nil, err
			}
		case "brokers":
			for _, n := range cfg.Brokers {
				r, err := e.through(ctx, fmt.Sprintf("%d brokers", n), n, 0, true, base)
				if err != nil {
					return nil, err
				}
				rep.Brokers, rep.BrokerCounts = append(rep.Brokers, r), append(rep.BrokerCounts, n)
			}
		case "payloads":
			for _, n := range cfg.Payloads {
				l := base
				l.Payload = n
				r, err := e.through(ctx, fmt.Sprintf("payload %s", size(n)), 1, 0, true, l)
				if err != nil {
					return nil, err
				}
				rep.Payload, rep.PayloadSizes = append(rep.Payload, r), append(rep.PayloadSizes, n)
			}
		}
	}
	return rep, nil
}

// slug turns a run name into a file suffix: ".ingest-only-binary".
func slug(name string) string {
	var b strings.Builder
	b.WriteByte('.')
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 1 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// profileFile opens path+suffix for a CPU profile (nil when path is "").
func profileFile(path, suffix string) (io.Writer, func(), error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
