package ingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/tlsconfig"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Option supplies an optional dependency to New.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	mp       metric.MeterProvider
	metrics  *observability.Metrics
	tp       trace.TracerProvider
	ln       net.Listener
	tlsLn    net.Listener
	opsLn    net.Listener
	kafkaOpt []kgo.Opt
	etr      EventTypeReporter
}

// WithEventTypeReporter reports observed event types (EventType
// auto-registration) to r instead of the control plane at
// Config.ControlPlane (a process embedding the ingress, tests).
func WithEventTypeReporter(r EventTypeReporter) Option { return func(o *options) { o.etr = r } }

// WithLogger logs through l (default: no logs).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMeterProvider records metrics through mp. /metrics on the ops port is
// then served only if WithMetrics is given too.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithMetrics records metrics in m and serves them on the ops port's
// /metrics (default: a registry of the Ingress's own).
func WithMetrics(m *observability.Metrics) Option {
	return func(o *options) { o.metrics, o.mp = m, m.Provider }
}

// WithTracerProvider traces requests through tp: a server span per request
// (continuing the caller's traceparent) and under it a producer span per
// record, ended when Kafka answers, whose context the record's headers
// carry. Default: no tracing, at no cost; the caller's traceparent is still
// carried into the records.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithListener serves events on ln instead of listening on Config.HTTPAddr
// (a process embedding the ingress picks its own port this way). Run
// closes ln.
func WithListener(ln net.Listener) Option { return func(o *options) { o.ln = ln } }

// WithTLSListener serves events over HTTPS on ln instead of listening on
// Config.HTTPSAddr (which must still be set, with the certificate files).
// Run closes ln.
func WithTLSListener(ln net.Listener) Option { return func(o *options) { o.tlsLn = ln } }

// WithOpsListener serves the ops endpoints on ln instead of Config.OpsAddr.
func WithOpsListener(ln net.Listener) Option { return func(o *options) { o.opsLn = ln } }

// WithKafkaOptions adds franz-go options to the producer (after Weft's own).
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(o *options) { o.kafkaOpt = append(o.kafkaOpt, opts...) }
}

// Ingress receives CloudEvents over HTTP and appends them to the Kafka topic
// of their broker. It is safe for concurrent use. Run serves it; Handler
// alone serves it inside another server (then Close releases it).
type Ingress struct {
	cfg     Config
	logger  *slog.Logger
	cl      *kgo.Client
	tel     *telemetry
	metrics *observability.Metrics
	health  *observability.Health
	unknown *brokerMetrics
	tracing bool // false with a no-op TracerProvider: no spans to start
	// verifier checks senders' OIDC tokens (nil without --oidc-issuer).
	verifier *tokenVerifier
	// eventTypes records the event types of entries that auto-register
	// them; etr, when set, is where they are reported.
	eventTypes *eventTypes
	etr        EventTypeReporter

	routes     atomic.Pointer[routeTable]
	applyMu    sync.Mutex    // serialises ApplyContract
	sinks      *clusters     // producers of the other clusters KafkaSinks write to
	version    atomic.Uint64 // contract version applied
	hasVersion atomic.Bool
	kafka      atomic.Int32 // kafkaUnknown, kafkaUp, kafkaDown

	draining atomic.Bool
	inflight atomic.Int64
	idle     chan struct{} // signalled when inflight drops to 0 while draining

	produceCtx  context.Context
	stopProduce context.CancelFunc

	ln, tlsLn, opsLn net.Listener
	tlsConfig        *tls.Config // of the HTTPS listener (nil: none)
	started          chan struct{}
	addr             atomic.Pointer[net.Addr]
	tlsAddr          atomic.Pointer[net.Addr]
	opsAddr          atomic.Pointer[net.Addr]
	running          atomic.Bool
	closeOnce        sync.Once
}

const (
	kafkaUnknown int32 = iota
	kafkaUp
	kafkaDown
)

// routeTable is an immutable snapshot of the entries served, by path.
type routeTable struct {
	byPath map[string]*broker
}

// broker is one served ingress entry of the contract: a Broker, or a
// Channel, Sequence or Parallel, all served alike; or a KafkaSink, served
// alike but for where its records go and what they carry.
type broker struct {
	uid, kind, namespace, name, path, topic string
	// target is the cluster the records go to: Weft's own, or for a
	// KafkaSink with bootstrap servers, that cluster's producer.
	target target
	// sink: a KafkaSink, whose events are stored as they came: no
	// knativearrivaltime nor knativebrokerttl is added.
	sink bool
	// structured: a KafkaSink writing structured-mode records.
	structured bool
	// autoEventTypes: report the event types accepted (a broker or channel
	// with eventtype_auto_create).
	autoEventTypes bool
	// webhook: a webhook source's (nil for the other kinds), whose
	// requests are wrapped into events (webhooks.go).
	webhook *webhook
	// limiter is the entry's rate limit (nil: none; ratelimit.go), from
	// rateLimit, the entry's own (nil: the process's).
	limiter   *rate.Limiter
	rateLimit *weftv1.RateLimit
	cluster   string // kafka.ClusterKey of the bootstrap servers and auth ("" for Weft's)
	// sinkSeeds and sinkAuth are a KafkaSink's cluster and credentials
	// (nil for Weft's cluster).
	sinkSeeds []string
	sinkAuth  *weftv1.KafkaAuth
	spanName  string // of the request's server span
	sendSpan  string // of a record's producer span
	sendOpts  []trace.SpanStartOption
	metrics   *brokerMetrics
	// auth: who may send (nil: anyone); authz.go.
	auth *entryAuth
}

// authSpec is the contract's auth of b (nil: none).
func (b *broker) authSpec() *weftv1.IngressAuth {
	if b.auth == nil {
		return nil
	}
	return b.auth.spec
}

// New builds an Ingress from cfg. It creates the Kafka producer (which
// connects lazily) but serves nothing until Run, or until its Handler is
// mounted somewhere.
func New(cfg Config, opts ...Option) (*Ingress, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = observability.DiscardLogger()
	}
	if o.mp == nil {
		m, err := observability.NewMetrics()
		if err != nil {
			return nil, err
		}
		o.metrics, o.mp = m, m.Provider
	}
	if o.tp == nil {
		o.tp = noop.NewTracerProvider()
	}
	tel, err := newTelemetry(o.mp, o.tp)
	if err != nil {
		return nil, err
	}
	_, noTracing := o.tp.(noop.TracerProvider)
	ets, err := newEventTypes(o.mp.Meter(instrumentationName), cfg.EventTypeMaxTracked, cfg.EventTypeQueue, o.logger.With("component", "ingress"))
	if err != nil {
		return nil, fmt.Errorf("create event type metrics: %w", err)
	}
	in := &Ingress{
		eventTypes: ets,
		etr:        o.etr,
		tracing:    !noTracing,
		cfg:        cfg,
		logger:     o.logger.With("component", "ingress"),
		tel:        tel,
		metrics:    o.metrics,
		health:     observability.NewHealth(),
		unknown:    newBrokerMetrics("", "", ""),
		idle:       make(chan struct{}, 1),
		ln:         o.ln,
		tlsLn:      o.tlsLn,
		opsLn:      o.opsLn,
		started:    make(chan struct{}),
	}
	in.routes.Store(&routeTable{byPath: map[string]*broker{}})
	if o.ln != nil {
		a := o.ln.Addr()
		in.addr.Store(&a)
	}
	if o.opsLn != nil {
		a := o.opsLn.Addr()
		in.opsAddr.Store(&a)
	}
	if o.tlsLn != nil {
		a := o.tlsLn.Addr()
		in.tlsAddr.Store(&a)
	}
	if cfg.HTTPSAddr != "" {
		in.tlsConfig, err = tlsconfig.Server{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile}.Config(in.logger)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert-file, --tls-key-file: %w", err)
		}
	}
	in.health.AddCheck("contract", func() error {
		if !in.hasVersion.Load() {
			return errors.New("no contract applied yet")
		}
		return nil
	})
	in.health.AddCheck("kafka", func() error {
		if in.kafka.Load() != kafkaUp {
			return ErrKafkaUnavailable
		}
		return nil
	})
	in.health.AddCheck("shutdown", func() error {
		if in.draining.Load() {
			return ErrDraining
		}
		return nil
	})

	if in.verifier, err = newTokenVerifier(&in.cfg); err != nil {
		return nil, err
	}
	kopts, err := in.cfg.ProducerOpts()
	if err != nil {
		return nil, err
	}
	in.cl, err = cfg.Kafka.NewClient(in.logger, append(kopts, o.kafkaOpt...)...)
	if err != nil {
		return nil, err
	}
	in.sinks = &clusters{
		newClient: func(seeds []string, auth *weftv1.KafkaAuth) (*kgo.Client, error) {
			kc := cfg.Kafka.ForCluster(seeds, auth)
			return kc.NewClient(in.logger, append(slices.Clone(kopts), o.kafkaOpt...)...)
		},
		interval:     cfg.KafkaCheckInterval,
		flushTimeout: max(cfg.ProduceTimeout, time.Second),
		logger:       in.logger,
	}
	in.produceCtx, in.stopProduce = context.WithCancel(context.Background())
	return in, nil
}

// RecordOverheadBytes is what a record adds to an event's data: its ce_
// headers, key and framing (HTTP headers are bounded well below it).
const RecordOverheadBytes = 128 << 10

// ProducerOpts are the franz-go options of the ingress's producer (before
// the Kafka connection's own): acks from every in-sync replica, idempotent
// writes (franz-go's default, never disabled here), a bounded buffer, a
// delivery timeout, the linger and compression configured. Exported so a
// baseline producer can be configured exactly as the ingress is.
func (c *Config) ProducerOpts() ([]kgo.Opt, error) {
	codec, err := compressionCodec(c.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(c.MaxBufferedRecords),
		// franz-go enforces at least 1s; requests stop waiting after
		// ProduceTimeout in any case.
		kgo.RecordDeliveryTimeout(max(c.ProduceTimeout, time.Second)),
		kgo.ProducerLinger(c.ProduceLinger),
		kgo.ProducerBatchCompression(codec),
		// A batch must hold the largest event we accept plus its headers;
		// broker topics are created with a max.message.bytes to match.
		kgo.ProducerBatchMaxBytes(int32(max(c.MaxEventBytes+RecordOverheadBytes, 1_000_012))),
	}
	if c.MaxBufferedBytes > 0 {
		opts = append(opts, kgo.MaxBufferedBytes(int(c.MaxBufferedBytes)))
	}
	return opts, nil
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, flagcheck.OneOf("--produce-compression", name, "none", "gzip", "snappy", "lz4", "zstd")
}

// pathPrefixes are the first path segment of each kind the ingress serves
// under a prefix (wire.ChannelPath, SequencePath, ParallelPath); a Broker's
// path has none (wire.BrokerPath).
var pathPrefixes = map[string]string{
	"Channel":  "/channels/",
	"Sequence": "/sequences/",
	"Parallel": "/parallels/",
	kindSink:   "/sinks/",
	// Webhook sources (wire.SourcePath).
	kindWebhookSource: "/sources/webhooksource/",
	kindGitLabSource:  "/sources/gitlabsource/",
	kindGitHubSource:  "/sources/githubsource/",
}

// kindSink is the contract kind of a KafkaSink (wire.KafkaSinkPath).
const kindSink = "KafkaSink"

// checkPath reports whether p has the shape of kind's paths: "/{ns}/{name}"
// for a Broker, "/channels/{ns}/{name}" and the like for the others.
func checkPath(kind, p string) error {
	want := "/{namespace}/{name}"
	rest, ok := p, true
	if kind != "Broker" {
		prefix := pathPrefixes[kind]
		want = prefix + "{namespace}/{name}"
		rest, ok = strings.CutPrefix(p, strings.TrimSuffix(prefix, "/"))
	}
	segs := strings.Split(rest, "/")
	if !ok || len(segs) != 3 || segs[0] != "" || segs[1] == "" || segs[2] == "" {
		return fmt.Errorf("path %q is not %s", p, want)
	}
	return nil
}

// ApplyContract implements contract.Applier: from now on, every ingress
// entry of c with a path (a Broker, Channel, Sequence, Parallel, KafkaSink
// or webhook source) is served at it and appends to its topic, and paths no longer
// in c answer 404. A flow's internal topics (path "") are not served. A
// KafkaSink with bootstrap servers writes to that cluster through a
// producer shared by every sink naming the same set, created here and
// closed by the first contract that no longer names it. A snapshot with a
// bad entry is refused whole and the previous one keeps running; an entry
// of a kind this ingress does not know (a newer control plane's) is
// skipped.
func (in *Ingress) ApplyContract(_ context.Context, c *weftv1.Contract) error {
	in.applyMu.Lock()
	defer in.applyMu.Unlock()
	old := in.routes.Load().byPath
	next := make(map[string]*broker, len(c.GetIngresses()))
	for _, ing := range c.GetIngresses() {
		p, topic, kind := ing.GetPath(), ing.GetTopic(), ing.GetKind()
		if p == "" {
			continue // an internal topic: only the dispatcher writes it
		}
		if _, known := pathPrefixes[kind]; !known && kind != "Broker" {
			in.logger.Warn("ingress entry of an unknown kind not served", "kind", kind, "path", p, "version", c.GetVersion())
			continue
		}
		what := fmt.Sprintf("%s %s/%s", strings.ToLower(kind), ing.GetNamespace(), ing.GetName())
		if err := checkPath(kind, p); err != nil {
			return fmt.Errorf("apply contract %d: %s: %w", c.GetVersion(), what, err)
		}
		switch {
		case topic == "":
			return fmt.Errorf("apply contract %d: %s: no topic", c.GetVersion(), what)
		case next[p] != nil:
			return fmt.Errorf("apply contract %d: path %s is served twice", c.GetVersion(), p)
		}
		var structured bool
		var key string
		if kind == kindSink {
			switch ing.GetContentMode() {
			case "", contentModeBinary:
			case contentModeStructured:
				structured = true
			default:
				return fmt.Errorf("apply contract %d: %s: content mode %q is neither %s nor %s",
					c.GetVersion(), what, ing.GetContentMode(), contentModeBinary, contentModeStructured)
			}
			if len(ing.GetBootstrapServers()) > 0 {
				key = kafka.ClusterKey(ing.GetBootstrapServers(), ing.GetKafkaAuth())
			}
		}
		var wh *webhook
		if isWebhookKind(kind) {
			var err error
			if wh, err = newWebhook(kind, ing.GetWebhook()); err != nil {
				return fmt.Errorf("apply contract %d: %s: %w", c.GetVersion(), what, err)
			}
		}
		auth, err := newEntryAuth(kind, ing.GetNamespace(), ing.GetName(), ing.GetAuth())
		if err != nil {
			return fmt.Errorf("apply contract %d: %s: %w", c.GetVersion(), what, err)
		}
		if auth != nil && in.verifier == nil {
			in.logger.Warn("entry requires OIDC tokens but this ingress has no --oidc-issuer: every request gets 401", "path", p)
		}
		if b := old[p]; b != nil && proto.Equal(b.authSpec(), ing.GetAuth()) && b.topic == topic && b.uid == ing.GetUid() && b.kind == kind &&
			b.namespace == ing.GetNamespace() && b.name == ing.GetName() &&
			b.structured == structured && b.cluster == key && (wh == nil) == (b.webhook == nil) &&
			b.autoEventTypes == (ing.GetEventtypeAutoCreate() && (kind == "Broker" || kind == "Channel")) &&
			(wh == nil || proto.Equal(wh.spec, b.webhook.spec)) && proto.Equal(b.rateLimit, ing.GetRateLimit()) {
			next[p] = b
			continue
		}
		next[p] = &broker{
			uid: ing.GetUid(), kind: kind, namespace: ing.GetNamespace(), name: ing.GetName(),
			path: p, topic: topic, spanName: "POST " + p,
			sendSpan: "send " + topic, sendOpts: sendSpanOptions(topic),
			metrics: newBrokerMetrics(ing.GetNamespace(), ing.GetName(), kind),
			target:  target{cl: in.cl, state: &in.kafka},
			sink:    kind == kindSink, structured: structured, cluster: key,
			sinkSeeds: ing.GetBootstrapServers(), sinkAuth: ing.GetKafkaAuth(),
			webhook: wh, auth: auth, limiter: in.cfg.newLimiter(ing.GetRateLimit()), rateLimit: ing.GetRateLimit(),
			// Brokers and channels only: the kinds EventTypes reference.
			autoEventTypes: ing.GetEventtypeAutoCreate() && (kind == "Broker" || kind == "Channel"),
		}
	}
	// Every entry is valid: connect the sinks to their clusters.
	used := map[string]bool{}
	for _, b := range next {
		if b.cluster == "" {
			continue
		}
		used[b.cluster] = true
		if b.target.name == b.cluster {
			continue // kept from the previous contract
		}
		cl, err := in.sinks.get(b.cluster, b.sinkSeeds, b.sinkAuth)
		if err != nil {
			in.sinks.keep(usedClusters(old)) // close what this call created
			return fmt.Errorf("apply contract %d: %s %s/%s: kafka cluster %s: %w", c.GetVersion(),
				strings.ToLower(b.kind), b.namespace, b.name, b.cluster, err)
		}
		b.target = cl.target
	}
	in.routes.Store(&routeTable{byPath: next})
	in.sinks.keep(used)
	in.version.Store(c.GetVersion())
	in.hasVersion.Store(true)
	for p, b := range next {
		if old[p] == nil {
			in.logger.Info("serving", "kind", b.kind, "path", p, "topic", b.topic, "version", c.GetVersion())
		}
	}
	for p, b := range old {
		if next[p] == nil {
			in.logger.Info("no longer serving", "kind", b.kind, "path", p, "version", c.GetVersion())
		}
	}
	return nil
}

// usedClusters is the set of clusters the entries of byPath write to.
func usedClusters(byPath map[string]*broker) map[string]bool {
	used := map[string]bool{}
	for _, b := range byPath {
		if b.cluster != "" {
			used[b.cluster] = true
		}
	}
	return used
}

// SinkClusters lists the other Kafka clusters (their sorted bootstrap
// servers, comma-separated) the ingress has a producer for.
func (in *Ingress) SinkClusters() []string { return in.sinks.keys() }

// ContractVersion is the version of the last contract applied (0: none).
func (in *Ingress) ContractVersion() uint64 { return in.version.Load() }

// Handler serves the brokers, plus /healthz and /readyz.
func (in *Ingress) Handler() http.Handler { return in }

// OpsHandler serves /healthz, /readyz and (with the Ingress's own registry
// or WithMetrics) /metrics.
func (in *Ingress) OpsHandler() http.Handler { return observability.OpsMux(in.health, in.metrics) }

// Ready reports whether the ingress should receive traffic: a contract is
// applied, Kafka is reachable and it is not shutting down.
func (in *Ingress) Ready() error { return in.health.Ready() }

// TLSAddr is the address events are served on over HTTPS: known after New
// with WithTLSListener, otherwise once Started is closed (nil before, and
// when HTTPS is off).
func (in *Ingress) TLSAddr() net.Addr {
	if a := in.tlsAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// Addr is the address events are served on over plain HTTP: known after
// New with WithListener, otherwise once Started is closed (nil before, and
// when plain HTTP is off).
func (in *Ingress) Addr() net.Addr {
	if a := in.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// OpsAddr is the address of the ops endpoints (nil when disabled or not
// yet listening).
func (in *Ingress) OpsAddr() net.Addr {
	if a := in.opsAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// Started is closed once Run listens on its addresses.
func (in *Ingress) Started() <-chan struct{} { return in.started }

// Close releases the Kafka producer of an Ingress that was only used
// through Handler. Run closes it itself; Close after Run is a no-op.
func (in *Ingress) Close() {
	in.closeOnce.Do(func() {
		in.draining.Store(true)
		in.cl.Close()
		in.sinks.close()
		in.stopProduce()
	})
}

// Run serves events, the ops endpoints and the contract stream until ctx
// ends, then drains: readiness turns false, new requests are answered 503,
// requests in flight get DrainTimeout to finish, the producer flushes and
// closes. It returns nil after a clean drain.
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	in, err := New(cfg, opts...)
	if err != nil {
		return err
	}
	return in.Run(ctx)
}

// Run is the package-level Run on an Ingress built with New. It may be
// called once.
func (in *Ingress) Run(ctx context.Context) error {
	if !in.running.CompareAndSwap(false, true) {
		return errors.New("ingress: Run called twice")
	}
	defer in.Close()

	ln, tlsLn, opsLn := in.ln, in.tlsLn, in.opsLn
	closeListeners := func() {
		for _, l := range []net.Listener{ln, tlsLn, opsLn} {
			if l != nil {
				l.Close()
			}
		}
	}
	token, err := wire.ReadTokenFile(in.cfg.AuthTokenFile)
	if err != nil {
		closeListeners()
		return fmt.Errorf("--auth-token-file: %w", err)
	}
	if ln == nil && in.cfg.HTTPAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", in.cfg.HTTPAddr); err != nil {
			closeListeners()
			return fmt.Errorf("listen on %s: %w", in.cfg.HTTPAddr, err)
		}
	}
	if tlsLn == nil && in.cfg.HTTPSAddr != "" {
		var err error
		if tlsLn, err = net.Listen("tcp", in.cfg.HTTPSAddr); err != nil {
			closeListeners()
			return fmt.Errorf("listen on --https-addr %s: %w", in.cfg.HTTPSAddr, err)
		}
	}
	if tlsLn != nil && in.tlsConfig == nil {
		closeListeners()
		return errors.New("ingress: WithTLSListener needs --https-addr, --tls-cert-file and --tls-key-file")
	}
	if opsLn == nil && in.cfg.OpsAddr != "" {
		var err error
		if opsLn, err = net.Listen("tcp", in.cfg.OpsAddr); err != nil {
			closeListeners()
			return fmt.Errorf("listen on %s: %w", in.cfg.OpsAddr, err)
		}
	}
	var httpAddr, httpsAddr string
	if ln != nil {
		a := ln.Addr()
		in.addr.Store(&a)
		httpAddr = a.String()
	}
	if tlsLn != nil {
		a := tlsLn.Addr()
		in.tlsAddr.Store(&a)
		httpsAddr = a.String()
	}
	if opsLn != nil {
		oa := opsLn.Addr()
		in.opsAddr.Store(&oa)
	}

	// Everything but the event server lives until the drain is over.
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Go(func() { in.watchKafka(bgCtx) })
	if opsLn != nil {
		wg.Go(func() {
			if err := observability.ServeListener(bgCtx, opsLn, in.OpsHandler(), time.Second, nil); err != nil {
				errc <- err
			}
		})
	}
	if in.cfg.ControlPlane != "" {
		cc := contract.NewClient(contract.ClientConfig{
			Server: in.cfg.ControlPlane, Role: wire.RoleIngress, ProcessID: in.cfg.ProcessID, AuthToken: token,
			TLS: in.cfg.ControlPlaneTLS,
		}, in, in.logger)
		wg.Go(func() {
			if err := cc.Run(bgCtx); err != nil {
				errc <- err
			}
		})
		if in.etr == nil {
			in.etr = cc
		}
	}
	if in.etr != nil {
		wg.Go(func() { in.eventTypes.run(bgCtx, in.etr) })
	}
	srv := in.newServer()
	srv.TLSConfig = in.tlsConfig
	served := make(chan error, 2)
	serving := 0
	if ln != nil {
		serving++
		go func() { served <- wrapServe("http", httpAddr, srv.Serve(ln)) }()
	}
	if tlsLn != nil {
		serving++
		go func() { served <- wrapServe("https", httpsAddr, srv.ServeTLS(tlsLn, "", "")) }()
	}
	ops := ""
	if o := in.OpsAddr(); o != nil {
		ops = o.String()
	}
	in.logger.Info("ingress listening", "addr", httpAddr, "https_addr", httpsAddr, "ops", ops, "control_plane", in.cfg.ControlPlane)
	close(in.started)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-served:
		served <- err
		runErr = err
	case runErr = <-errc:
	}

	in.drain(srv)
	for range serving {
		<-served
	}
	stopBg()
	wg.Wait()
	in.logger.Info("ingress stopped")
	return runErr
}

func wrapServe(scheme, addr string, err error) error {
	return fmt.Errorf("serve %s on %s: %w", scheme, addr, err)
}

// drain turns readiness false and refuses new requests, waits (at most
// DrainTimeout) for requests in flight, then stops the server and the
// producer.
func (in *Ingress) drain(srv *http.Server) {
	in.logger.Info("draining", "in_flight", in.inflight.Load(), "timeout", in.cfg.DrainTimeout)
	in.draining.Store(true)
	dctx, cancel := context.WithTimeout(context.Background(), in.cfg.DrainTimeout)
	defer cancel()
	for in.inflight.Load() > 0 {
		select {
		case <-in.idle:
		case <-dctx.Done():
			in.logger.Warn("drain timeout: requests still in flight", "in_flight", in.inflight.Load())
		}
		if dctx.Err() != nil {
			break
		}
	}
	if err := srv.Shutdown(dctx); err != nil {
		srv.Close()
	}
	if err := in.cl.Flush(dctx); err != nil {
		in.logger.Warn("drain timeout: records still buffered", "err", err)
	}
	in.sinks.flush(dctx)
	in.Close()
}

// begin registers a request in flight, refusing it while draining or when
// MaxInFlight requests are already in flight.
func (in *Ingress) begin() error {
	n := in.inflight.Add(1)
	switch {
	case in.draining.Load():
		in.end()
		return ErrDraining
	case n > int64(in.cfg.MaxInFlight):
		in.end()
		return errTooManyRequests
	}
	return nil
}

func (in *Ingress) end() {
	if in.inflight.Add(-1) == 0 && in.draining.Load() {
		select {
		case in.idle <- struct{}{}:
		default:
		}
	}
}

// watchKafka tracks whether Kafka is reachable, for readiness and to refuse
// requests at once while it is not.
func (in *Ingress) watchKafka(ctx context.Context) {
	t := time.NewTicker(in.cfg.KafkaCheckInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, max(in.cfg.KafkaCheckInterval, time.Second))
		err := in.cl.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if in.kafka.Swap(kafkaDown) != kafkaDown {
				in.logger.Warn("kafka unreachable; refusing events until it returns", "err", err)
			}
		} else if in.kafka.Swap(kafkaUp) != kafkaUp {
			in.logger.Info("kafka reachable")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
