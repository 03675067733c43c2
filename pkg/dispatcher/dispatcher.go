package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/weft-dev/weft/internal/gopool"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/delivery"
	"github.com/weft-dev/weft/pkg/filter"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/tlsconfig"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const tracerName = "github.com/weft-dev/weft/pkg/dispatcher"

// Dispatcher runs the egresses of the contracts it is given: each topic (a
// broker's, a channel's, a flow's) is read once per process and fanned out to its egresses, each of
// which keeps its progress in its own consumer group. Create it with New, start it with Run, feed it with
// ApplyContract (directly, or through the contract stream Run follows when
// Config.ControlPlane is set). All methods are safe for concurrent use.
type Dispatcher struct {
	cfg        Config
	logger     *slog.Logger
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	metrics    *observability.Metrics // served on /metrics; may be nil
	health     *observability.Health
	inst       *instruments
	sender     Sender
	pool       *gopool.Pool // runs every lane's deliveries

	applyMu sync.Mutex // serializes ApplyContract

	mu       sync.Mutex // guards the fields below
	state    runState
	producer *kgo.Client
	readers  map[string]*reader // by readerPlan.key
	pending  *weftv1.Contract   // applied when Run starts
	version  uint64
	opsAddr  net.Addr
	retiring sync.WaitGroup // readers being stopped after their topic left
	cclient  *contract.Client

	countersMu sync.Mutex
	counters   map[string]*egressCounters // by egress uid (stats.go)
}

type runState int

const (
	stateNew runState = iota
	stateRunning
	stateStopped
)

// New validates cfg and returns a Dispatcher; nothing runs until Run.
func New(cfg Config, opts ...Option) (*Dispatcher, error) {
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
	if o.metrics == nil && o.meterProvider == nil {
		m, err := observability.NewMetrics()
		if err != nil {
			return nil, err
		}
		o.metrics = m
	}
	mp := o.meterProvider
	if mp == nil {
		mp = o.metrics.Provider
	}
	if o.tracerProvider == nil {
		o.tracerProvider = otel.GetTracerProvider()
	}
	if o.health == nil {
		o.health = observability.NewHealth()
	}
	if o.sender == nil {
		sopts := []delivery.Option{
			delivery.WithLogger(o.logger.With("component", "delivery")),
			delivery.WithMeterProvider(mp),
			delivery.WithTracerProvider(o.tracerProvider),
		}
		if cfg.CAFile != "" {
			pool, err := tlsconfig.LoadPool(tlsconfig.SystemPool(), cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			sopts = append(sopts, delivery.WithRootCAs(pool))
		}
		if cfg.HTTPClient == HTTPClientNetHTTP {
			sopts = append(sopts, delivery.WithNetHTTP())
		}
		o.sender = delivery.NewSender(sopts...)
	}
	d := &Dispatcher{
		cfg:        cfg,
		logger:     o.logger.With("component", "dispatcher"),
		tracer:     o.tracerProvider.Tracer(tracerName),
		propagator: observability.Propagator(),
		metrics:    o.metrics,
		health:     o.health,
		sender:     o.sender,
		pool:       gopool.New(0),
		readers:    map[string]*reader{},
	}
	inst, err := newInstruments(mp.Meter(tracerName), d.observe)
	if err != nil {
		return nil, err
	}
	d.inst = inst
	d.health.AddCheck("dispatcher", d.ready)
	return d, nil
}

// Run starts the reply producer, the ops server and the contract stream,
// runs the egresses until ctx ends, then drains: in-flight deliveries get
// Config.DrainTimeout to finish, finished offsets are committed and every
// broker reader leaves the fleet's group. Run returns nil on a clean shutdown.
func (d *Dispatcher) Run(ctx context.Context) error {
	token, err := d.cfg.authToken()
	if err != nil {
		return err
	}
	producer, err := d.cfg.Kafka.NewClient(d.logger,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		// Replies may be as large as delivery accepts them; the topic's
		// max.message.bytes has the last word.
		kgo.ProducerBatchMaxBytes(delivery.MaxReplyBytes+128<<10),
	)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.state != stateNew {
		d.mu.Unlock()
		producer.Close()
		return ErrAlreadyRunning
	}
	d.state = stateRunning
	d.producer = producer
	pending := d.pending
	d.pending = nil
	d.mu.Unlock()

	if pending != nil {
		if err := d.ApplyContract(ctx, pending); err != nil {
			d.logger.Error("apply contract", "version", pending.GetVersion(), "err", err)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	if d.cfg.OpsAddr != "" {
		mux := observability.OpsMux(d.health, d.metrics)
		g.Go(func() error {
			return observability.ServeHTTP(gctx, d.cfg.OpsAddr, mux, 5*time.Second, func(a net.Addr) {
				d.mu.Lock()
				d.opsAddr = a
				d.mu.Unlock()
				d.logger.Info("ops server listening", "addr", a.String())
			})
		})
	}
	if d.cfg.ControlPlane != "" {
		cc := contract.NewClient(contract.ClientConfig{
			Server:        d.cfg.ControlPlane,
			Role:          wire.RoleDispatcher,
			ProcessID:     d.cfg.ProcessID,
			AuthToken:     token,
			TLS:           d.cfg.ControlPlaneTLS,
			StatsInterval: d.cfg.StatsInterval,
		}, d, d.logger)
		d.mu.Lock()
		d.cclient = cc
		d.mu.Unlock()
		g.Go(func() error { return cc.Run(gctx) })
	}
	<-gctx.Done()
	err = g.Wait()
	d.shutdown()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// shutdown stops every reader (draining within DrainTimeout), then the
// producer.
func (d *Dispatcher) shutdown() {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	d.mu.Lock()
	d.state = stateStopped
	readers := d.readers
	d.readers = map[string]*reader{}
	producer := d.producer
	d.mu.Unlock()

	deadline := time.Now().Add(d.cfg.DrainTimeout)
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Go(func() { r.stop(deadline) })
	}
	wg.Wait()
	d.retiring.Wait()
	d.pool.Close()
	if producer != nil {
		producer.Close()
	}
	if s, ok := d.sender.(interface{ CloseIdleConnections() }); ok {
		s.CloseIdleConnections()
	}
	d.logger.Info("dispatcher stopped")
}

// ApplyContract implements contract.Applier: it runs the egresses of c and
// stops those no longer in it. Each broker topic with egresses gets one
// reader (reader.go) that the egresses share; added egresses start at their
// committed offsets, removed ones finish what is in flight (within
// DrainTimeout) and commit it, and changed filters, subscribers, delivery
// policies and reply targets apply to the next records. A change of consumer
// group, ordering or concurrency restarts the egress's lanes. Either the whole
// contract is applied or, on ErrInvalidContract, none of it.
//
// Called before Run, the contract is kept and applied when Run starts.
func (d *Dispatcher) ApplyContract(ctx context.Context, c *weftv1.Contract) error {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	specs, err := compile(c)
	if err != nil {
		return err
	}
	d.attachCounters(specs)
	for _, s := range specs {
		s.delivered = d.inst.delivered.Series(egressAttrs(s.namespace, s.name, s.kind))
		if s.replyURL != "" {
			s.replyPost = d.sender.ReplyTo(s.replyURL, s.policy)
		}
	}
	// One reader per topic and one per retry topic, each with the topic's
	// egresses (a KafkaSource's topics each have their own: planOf). The
	// retry topic is read even with RetryTopicAfter 0: events other
	// dispatchers (or this one, before) moved there are still delivered.
	byKey := map[string][]*egressSpec{}
	plans := map[string]readerPlan{}
	for _, s := range specs {
		for _, retry := range []bool{false, true} {
			p := planOf(s, retry)
			plans[p.key] = p
			byKey[p.key] = append(byKey[p.key], s)
		}
	}

	d.mu.Lock()
	switch d.state {
	case stateNew:
		d.pending = c
		d.mu.Unlock()
		return nil
	case stateStopped:
		d.mu.Unlock()
		return ErrStopped
	}
	var update []*reader
	for key, r := range d.readers {
		if p, ok := plans[key]; ok && p.group == r.group {
			update = append(update, r)
			continue
		}
		delete(d.readers, key)
		d.logger.Info("stopping reader", "topic", r.topic, "reader", key)
		d.retiring.Go(func() { r.stop(time.Now().Add(d.cfg.DrainTimeout)) })
	}
	for key, ss := range byKey {
		if _, ok := d.readers[key]; ok {
			continue
		}
		r, err := newReader(d, plans[key], ss)
		if err != nil {
			d.mu.Unlock()
			// Not an invalid contract: a client could not be built (bad
			// Kafka configuration). Report it; the next contract retries.
			return fmt.Errorf("start the reader of %s: %w", plans[key].topic, err)
		}
		d.readers[key] = r
		d.logger.Info("started reader", "topic", r.topic, "group", r.group, "egresses", len(ss), "reader", key)
	}
	d.mu.Unlock()
	// Outside d.mu: removing triggers waits for their in-flight deliveries.
	for _, r := range update {
		r.source.Store(plans[r.key].source)
		r.update(byKey[r.key])
	}
	d.mu.Lock()
	d.version = c.GetVersion()
	d.mu.Unlock()
	return nil
}

// Version is the version of the last contract applied (0: none).
func (d *Dispatcher) Version() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version
}

// Egresses lists the consumer groups of the egresses currently running,
// sorted.
func (d *Dispatcher) Egresses() []string {
	var out []string
	for _, r := range d.readerList() {
		if r.retry {
			continue // the same triggers as the broker topic's reader
		}
		for _, s := range r.set.Load().specs {
			out = append(out, s.group)
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // a KafkaSource's topics share its group
}

func (d *Dispatcher) readerList() []*reader {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*reader, 0, len(d.readers))
	for _, r := range d.readers {
		out = append(out, r)
	}
	return out
}

// lanes lists every lane of every reader.
func (d *Dispatcher) lanes() []*lane {
	var out []*lane
	for _, r := range d.readerList() {
		r.partsMu.Lock()
		for _, pt := range r.parts {
			for _, l := range pt.lanesByKey() {
				out = append(out, l)
			}
		}
		r.partsMu.Unlock()
	}
	return out
}

// StuckRecord is a record that cannot finish because its trigger's
// dead-letter sink keeps failing; the dispatcher retries it with capped
// backoff and never commits past it.
type StuckRecord struct {
	UID       string
	Namespace string
	Name      string
	Group     string
	Partition int32
	Offset    int64
	Since     time.Time
	Retries   int
	Err       string
}

// Stuck lists the records currently held back by a failing dead-letter sink,
// so a status reporter can surface them on the Trigger.
func (d *Dispatcher) Stuck() []StuckRecord {
	var out []StuckRecord
	for _, l := range d.lanes() {
		out = append(out, l.stuckRecords()...)
	}
	slices.SortFunc(out, func(a, b StuckRecord) int {
		if a.Group != b.Group {
			if a.Group < b.Group {
				return -1
			}
			return 1
		}
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return out
}

// OpsAddr is the ops server's bound address once it listens (nil before, or
// when disabled).
func (d *Dispatcher) OpsAddr() net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opsAddr
}

func (d *Dispatcher) ready() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.state != stateRunning:
		return errors.New("not running")
	case d.cclient != nil && d.cclient.Applied() == 0:
		return errors.New("no contract applied yet")
	}
	return nil
}

func (d *Dispatcher) encode(topic string, e *event.Event) (*kgo.Record, error) {
	return cekafka.ToRecord(topic, e)
}

// egressSpec is one egress compiled for running; it is immutable and
// swapped as a whole when the contract changes.
type egressSpec struct {
	key         string
	uid         string
	kind        string // Trigger, Subscription, Sequence or Parallel
	namespace   string
	name        string
	generation  int64
	topic       string
	group       string
	fleetGroup  string // the dispatcher fleet's group of the topic (wire.FleetGroupOf)
	retryTopic  string // the topic's retry topic (wire.RetryTopicOf)
	retryGroup  string // the dispatcher fleet's group of the retry topic
	ordered     bool
	maxInFlight int // 0: the Config's default
	// destination is the subscriber; "" forwards each event itself to the
	// reply target.
	destination string
	replyTopic  string
	replyURL    string
	// replyPost POSTs a reply to replyURL with the egress's retries (set
	// once per contract by ApplyContract, nil without a reply URL).
	replyPost delivery.ReplyFunc
	filter    filter.Filter
	policy    delivery.Policy
	// attrs are the per-egress metrics' attributes, as a measurement
	// option built once rather than per event.
	attrs metric.MeasurementOption
	// delivered is the egress's series of the delivered metric (set by
	// ApplyContract).
	delivered *observability.Series
	// outcomes holds the attributes of the delivery latency metric, one
	// per outcome (outcomeIndex).
	outcomes [outcomeSlots]metric.MeasurementOption
	// counters are the egress's delivery counters (stats.go), shared by
	// every spec of its uid across contracts.
	counters *egressCounters
	// ping is the schedule of the PingSource whose topic this is (nil for
	// any other topic).
	ping *pingPlan
	// source is the KafkaSource whose external topic this is (nil for any
	// other egress): topic is on its cluster, the fleet's group and the
	// egress's group too; the retry topic is on Weft's.
	source *sourcePlan
	// startLatest: a partition the egress's group has no offset for starts
	// at its end, and that start is committed at once (a KafkaSource's
	// initial offset latest; other egresses get theirs committed by the
	// control plane when they are created).
	startLatest bool
	// poll is the poll of the HTTPPollerSource whose topic this is (nil
	// for any other topic).
	poll *pollPlan
}

func (s *egressSpec) ref() string { return s.namespace + "/" + s.name }

// KindTrigger is the kind of an egress whose contract names none.
const KindTrigger = "Trigger"

// failedOutcome is the latency metric's outcome label of a send that
// failed (an error, not an Outcome).
const failedOutcome = "error"

// outcomeLabel is the latency metric's outcome label of a send's result:
// the Outcome's name, or failedOutcome.
func outcomeLabel(o delivery.Outcome, err error) string {
	if err != nil {
		return failedOutcome
	}
	return o.String()
}

// outcomeIndex is the slot of a send's result in egressSpec.outcomes: 0
// for a failed send, else the Outcome (-1: out of range).
func outcomeIndex(o delivery.Outcome, err error) int {
	switch {
	case err != nil:
		return 0
	case o >= delivery.OutcomeDelivered && o <= delivery.OutcomeRejected:
		return int(o)
	}
	return -1
}

// outcomeSlots is the size of egressSpec.outcomes.
const outcomeSlots = int(delivery.OutcomeRejected) + 1

// egressAttrs are the attributes every per-egress metric carries: "trigger"
// is the egress's name whatever its kind (the label predates the other
// kinds), "kind" tells them apart.
func egressAttrs(namespace, name, kind string, extra ...attribute.KeyValue) attribute.Set {
	return attribute.NewSet(append([]attribute.KeyValue{
		attribute.String("namespace", namespace),
		attribute.String("trigger", name),
		attribute.String("kind", kind),
	}, extra...)...)
}

func outcomeSets(namespace, name, kind string) (sets [outcomeSlots]metric.MeasurementOption) {
	for i := range sets {
		label := failedOutcome // slot 0 (outcomeIndex)
		if i > 0 {
			label = delivery.Outcome(i).String()
		}
		sets[i] = metric.WithAttributeSet(egressAttrs(namespace, name, kind, attribute.String("outcome", label)))
	}
	return sets
}

// outcomeAttrs is the latency metric's attributes for a send's result.
func (s *egressSpec) outcomeAttrs(o delivery.Outcome, err error) metric.MeasurementOption {
	if i := outcomeIndex(o, err); i >= 0 {
		return s.outcomes[i]
	}
	return metric.WithAttributeSet(egressAttrs(s.namespace, s.name, s.kind, attribute.String("outcome", outcomeLabel(o, err))))
}

// inFlightLimit is how many deliveries a partition may have in flight: one
// when ordered, else the egress's own limit or the process default.
func (s *egressSpec) inFlightLimit(def int) int {
	switch {
	case s.ordered:
		return 1
	case s.maxInFlight > 0:
		return s.maxInFlight
	}
	return def
}

// KindKafkaSink is the contract kind of a KafkaSink: served by the ingress
// alone (its topic may be on another cluster), never read here.
const KindKafkaSink = "KafkaSink"

// compile turns every egress of c into a spec keyed by uid (or consumer
// group when the uid is empty). Every topic, a broker's or a channel's or a
// flow's internal one, is read by the fleet's group wire.FleetGroupOf and
// has the retry topic wire.RetryTopicOf. A KafkaSink's entry has no egresses
// and is skipped whatever it holds, so its topic is never read. A
// KafkaSource's egress becomes one spec per topic of the source, keyed
// "{uid}#{topic}", read on the source's cluster (source.go).
func compile(c *weftv1.Contract) (map[string]*egressSpec, error) {
	specs := map[string]*egressSpec{}
	for _, in := range c.GetIngresses() {
		if in.GetKind() == KindKafkaSink {
			continue
		}
		ping, err := compilePing(in)
		if err != nil {
			return nil, err
		}
		src, err := compileSource(in)
		if err != nil {
			return nil, err
		}
		poll, err := compilePoller(in)
		if err != nil {
			return nil, err
		}
		for _, eg := range in.GetEgresses() {
			key := eg.GetUid()
			if key == "" {
				key = eg.GetConsumerGroup()
			}
			ref := eg.GetNamespace() + "/" + eg.GetName()
			topics := []string{in.GetTopic()}
			if src != nil {
				topics = src.topics
			}
			switch {
			case src == nil && in.GetTopic() == "":
				return nil, fmt.Errorf("%w: ingress %s/%s has no topic", ErrInvalidContract, in.GetNamespace(), in.GetName())
			case eg.GetConsumerGroup() == "":
				return nil, fmt.Errorf("%w: egress %s has no consumer group", ErrInvalidContract, ref)
			case eg.GetReplyTopic() != "" && eg.GetReplyUrl() != "":
				return nil, fmt.Errorf("%w: egress %s has both a reply topic and a reply URL", ErrInvalidContract, ref)
			case eg.GetDestination() == "" && eg.GetReplyTopic() == "" && eg.GetReplyUrl() == "":
				return nil, fmt.Errorf("%w: egress %s has no destination and no reply target", ErrInvalidContract, ref)
			case eg.GetMaxInFlight() < 0:
				return nil, fmt.Errorf("%w: egress %s has a negative max_in_flight", ErrInvalidContract, ref)
			}
			f, err := filter.FromEgress(eg)
			if err != nil {
				return nil, fmt.Errorf("%w: egress %s: %w", ErrInvalidContract, ref, err)
			}
			kind := eg.GetKind()
			if kind == "" {
				kind = KindTrigger
			}
			policy := delivery.PolicyFromContract(eg.GetDelivery())
			policy.DropRejected = eg.GetDropRejected()
			policy.CACerts = eg.GetCaCerts()
			for _, topic := range topics {
				key := key
				if src != nil {
					key += "#" + topic
				}
				if _, dup := specs[key]; dup {
					return nil, fmt.Errorf("%w: egress %s appears twice", ErrInvalidContract, key)
				}
				spec := &egressSpec{
					key:         key,
					uid:         eg.GetUid(),
					kind:        kind,
					namespace:   eg.GetNamespace(),
					name:        eg.GetName(),
					generation:  eg.GetGeneration(),
					topic:       topic,
					group:       eg.GetConsumerGroup(),
					fleetGroup:  wire.FleetGroupOf(topic),
					retryTopic:  wire.RetryTopicOf(topic),
					retryGroup:  wire.RetryGroupOf(topic),
					ordered:     eg.GetOrder() == weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
					maxInFlight: int(eg.GetMaxInFlight()),
					destination: eg.GetDestination(),
					replyTopic:  eg.GetReplyTopic(),
					replyURL:    eg.GetReplyUrl(),
					filter:      f,
					policy:      policy,
					attrs:       metric.WithAttributeSet(egressAttrs(eg.GetNamespace(), eg.GetName(), kind)),
					outcomes:    outcomeSets(eg.GetNamespace(), eg.GetName(), kind),
					counters:    &egressCounters{}, // Dispatcher.attachCounters shares them per uid
					ping:        ping,
					poll:        poll,
				}
				if src != nil {
					src.apply(spec, eg)
				}
				specs[key] = spec
			}
		}
	}
	return specs, nil
}
