package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/controlplane/console"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Option customises a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithListener serves gRPC on ln instead of listening on cfg.GRPCAddr.
func WithListener(ln net.Listener) Option { return func(s *Server) { s.ln = ln } }

// WithMetrics exports metrics through m (default: a private registry).
func WithMetrics(m *observability.Metrics) Option { return func(s *Server) { s.metrics = m } }

// defaultResumeWait bounds how long Watch waits for this replica's state to
// reach a resource_version it has not read yet.
const defaultResumeWait = 3 * time.Second

// withResumeWait changes defaultResumeWait (tests).
func withResumeWait(d time.Duration) Option { return func(s *Server) { s.resumeWait = d } }

// defaultRemoteAdminTimeout bounds the creation of a KafkaSink's topic on
// another cluster than Weft's (spec.bootstrapServers).
const defaultRemoteAdminTimeout = 10 * time.Second

// withRemoteAdminTimeout changes defaultRemoteAdminTimeout (tests).
func withRemoteAdminTimeout(d time.Duration) Option {
	return func(s *Server) { s.remoteAdminTimeout = d }
}

// WithTracerProvider traces the gRPC calls (resource API and contract
// streams) through tp, continuing the caller's W3C trace context (default:
// no tracing).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *Server) { s.tp = tp } }

// WithReadOnlyAPI refuses Apply and Delete with FailedPrecondition, saying
// why (Kubernetes mode: the resources are changed through the Kubernetes API).
func WithReadOnlyAPI(why string) Option { return func(s *Server) { s.readOnly = why } }

// Server is one control-plane replica.
type Server struct {
	cfg     Config
	opts    compile.Options
	logger  *slog.Logger
	metrics *observability.Metrics
	tp      trace.TracerProvider // nil: no tracing
	health  *observability.Health
	ln      net.Listener
	kcl     *kgo.Client
	adm     *kadm.Client
	store   Store
	pub     *publisher
	grpc    *grpc.Server
	running bool // Run owns the peers client from then on
	// resumeWait bounds Watch's wait for a resource_version ahead of the state.
	resumeWait time.Duration
	// remoteAdminTimeout bounds topic creation on another Kafka cluster.
	remoteAdminTimeout time.Duration
	// readOnly, when set, says why Apply and Delete are refused.
	readOnly string
	// httpLn, httpToken and console serve the HTTP port (http.go); nil
	// httpLn: off.
	httpLn    net.Listener
	httpToken string
	console   *console.Console
	// bg owns background work (deleting groups); bgCtx ends it on Close.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc

	// etCreator, when set, creates auto-registered EventTypes in place of
	// the store (SetEventTypeCreator; Kubernetes mode).
	etCreator atomic.Pointer[EventTypeCreator]
}

// New validates cfg, connects to Kafka, replays the state and binds the gRPC
// listener; Run serves. Close releases what New acquired when Run is not called.
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: observability.DiscardLogger(), health: observability.NewHealth(), resumeWait: defaultResumeWait,
		remoteAdminTimeout: defaultRemoteAdminTimeout}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	s.logger = s.logger.With("component", "controlplane")
	s.opts = compile.Options{IngressURL: cfg.IngressURL, ServiceURLTemplate: cfg.ServiceURLTemplate,
		OIDCAuthentication: cfg.OIDCAuthentication, DefaultAuthorizationMode: cfg.DefaultAuthorizationMode,
		EventTypeAutoCreate: cfg.EventTypeAutoCreate}
	if s.metrics == nil {
		m, err := observability.NewMetrics()
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	tokens, err := cfg.authTokens()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.grpcTLS(s.logger)
	if err != nil {
		return nil, err
	}
	kcl, err := cfg.Kafka.NewClient(s.logger)
	if err != nil {
		return nil, err
	}
	s.kcl, s.adm = kcl, kadm.NewClient(kcl)
	store, err := OpenKafkaStore(ctx, KafkaStoreConfig{
		Kafka: cfg.Kafka, Topic: cfg.StateTopic, ReplicationFactor: int16(cfg.StateReplicationFactor), Logger: s.logger,
	})
	if err != nil {
		kcl.Close()
		return nil, fmt.Errorf("open state store: %w", err)
	}
	s.store = store
	s.health.AddCheck("state-store", store.Ready)
	s.pub = newPublisher(s.opts, s.logger)
	s.pub.registerEventTypes = s.registerEventTypes
	s.pub.peers, err = openPeers(ctx, cfg.Kafka, cfg.DataPlaneTopic, uuid.NewString(), int16(cfg.StateReplicationFactor), s.logger, s.pub.remoteChanged)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.pub.update(store.Snapshot())
	if s.ln == nil {
		ln, err := net.Listen("tcp", cfg.GRPCAddr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listen on --grpc-addr %s: %w", cfg.GRPCAddr, err)
		}
		s.ln = ln
	}
	var gopts []grpc.ServerOption
	if tlsCfg != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	if _, off := s.tp.(noop.TracerProvider); s.tp != nil && !off {
		gopts = append(gopts, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(s.tp),
			otelgrpc.WithPropagators(observability.Propagator()),
			// /metrics keeps the control plane's own metrics only.
			otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		)))
	}
	if len(tokens) > 0 {
		a := tokenAuth{tokens: tokens}
		gopts = append(gopts, grpc.ChainUnaryInterceptor(a.unary), grpc.ChainStreamInterceptor(a.stream))
	}
	if err := s.setupHTTP(); err != nil {
		s.Close()
		return nil, err
	}
	s.grpc = grpc.NewServer(gopts...)
	weftv1.RegisterControlPlaneServer(s.grpc, api{s: s})
	weftv1.RegisterContractServiceServer(s.grpc, s.pub)
	s.registerMetrics()
	return s, nil
}

// Addr is the bound gRPC address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then stops gracefully and closes the Server.
func (s *Server) Run(ctx context.Context) error {
	s.running = true
	defer s.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.followState(gctx) })
	g.Go(func() error { return s.pub.peers.run(gctx) })
	g.Go(func() error {
		err := s.grpc.Serve(s.ln)
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		stopped := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			s.grpc.Stop() // watch streams never end on their own
		}
		return nil
	})
	if s.cfg.OpsAddr != "" {
		g.Go(func() error {
			return observability.ServeHTTP(gctx, s.cfg.OpsAddr, observability.OpsMux(s.health, s.metrics), 5*time.Second, nil)
		})
	}
	if s.httpLn != nil {
		g.Go(func() error { return s.serveHTTP(gctx) })
	}
	s.logger.Info("control plane serving", "grpc", s.Addr(), "ops", s.cfg.OpsAddr, "http", s.HTTPAddr(), "state_topic", s.cfg.StateTopic)
	return g.Wait()
}

// followState recompiles the contract on every state change.
func (s *Server) followState(ctx context.Context) error {
	for {
		st, changes, cancel := s.store.Subscribe()
		s.pub.update(st)
		func() {
			defer cancel()
			for {
				select {
				case <-ctx.Done():
					return
				case _, ok := <-changes:
					if !ok {
						return // fell behind: resubscribe from a fresh snapshot
					}
					// Drain what is queued, then compile once.
					for drained := false; !drained; {
						select {
						case _, ok = <-changes:
							if !ok {
								drained = true
							}
						default:
							drained = true
						}
					}
					s.pub.update(s.store.Snapshot())
					if !ok {
						return
					}
				}
			}
		}()
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (s *Server) registerMetrics() {
	m := s.metrics.Meter("weft/controlplane")
	_, _ = m.Int64ObservableGauge("weft_contract_version", metric.WithDescription("version of the latest compiled data-plane contract"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			c, _ := s.pub.current()
			o.Observe(int64(c.Contract.GetVersion()))
			return nil
		}))
	_, _ = m.Int64ObservableGauge("weft_dataplane_processes", metric.WithDescription("data-plane processes connected to this replica"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(len(s.pub.processes())))
			return nil
		}))
}

// Close releases the store and Kafka clients.
func (s *Server) Close() {
	if s.bgCancel != nil {
		s.bgCancel()
		s.bg.Wait()
	}
	if s.pub != nil && s.pub.peers != nil && !s.running {
		s.pub.peers.cl.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.kcl != nil {
		s.kcl.Close()
	}
	if s.ln != nil {
		s.ln.Close()
	}
	if s.console != nil {
		s.console.Close()
	}
	if s.httpLn != nil {
		s.httpLn.Close()
	}
}

// Run is New followed by Server.Run (what cmd/controlplane calls).
func Run(ctx context.Context, cfg Config, opts ...Option) error {
	s, err := New(ctx, cfg, opts...)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
