package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Applier is what a data-plane process implements to run contracts.
// ApplyContract is called from one goroutine at a time with increasing
// versions; it returns once the process runs the snapshot (or failed to).
type Applier interface {
	ApplyContract(ctx context.Context, c *weftv1.Contract) error
}

// ProblemReporter is implemented by an Applier that can say what is wrong
// with the egresses it runs; the Client sends changes to the control plane,
// which shows them on the resources' status. EgressProblems must be safe for
// concurrent use with ApplyContract.
type ProblemReporter interface {
	EgressProblems() []*weftv1.EgressProblem
}

// StatsReporter is implemented by an Applier that counts deliveries per
// egress; the Client sends the counters that changed to the control plane
// every ClientConfig.StatsInterval, which aggregates them across processes
// for the console. EgressStats returns every egress's cumulative counters
// since the process started (they never go down); it must be cheap and safe
// for concurrent use with ApplyContract.
type StatsReporter interface {
	EgressStats() []*weftv1.EgressStats
}

// ClientConfig says where the control plane is and who this process is.
type ClientConfig struct {
	// Server is the control plane's gRPC address (host:port).
	Server string
	// Role says what this process does.
	Role wire.Role
	// ProcessID identifies this process to the control plane.
	ProcessID string
	// AuthToken, when set, is sent as a bearer token.
	AuthToken string
	// TLS, when Enabled, dials the control plane over TLS (mTLS with a
	// client certificate).
	TLS TLS
	// MaxBackoff caps the reconnect delay (default 5s).
	MaxBackoff time.Duration
	// ProblemInterval is how often a ProblemReporter is polled (default 2s).
	ProblemInterval time.Duration
	// StatsInterval is how often a StatsReporter is polled and its changed
	// counters sent (default 5s).
	StatsInterval time.Duration
}

// Client follows the contract stream and feeds an Applier. A Client that
// loses the control plane keeps its last applied contract (the Applier keeps
// running it) and reconnects with capped backoff.
type Client struct {
	cfg     ClientConfig
	applier Applier
	logger  *slog.Logger

	mu      sync.Mutex
	applied uint64
	ready   chan struct{}
	// api is the connection Run dialed (nil before).
	api atomic.Pointer[weftv1.ContractServiceClient]
}

// ErrNotConnected: Run has not dialed the control plane yet (or returned).
var ErrNotConnected = errors.New("not connected to the control plane")

// ReportEventTypes sends the event types an ingress observed to the control
// plane over the client's connection (ContractService.ReportEventTypes) and
// returns how many EventTypes it created. It fails with ErrNotConnected
// unless Run is running. Safe for concurrent use.
func (c *Client) ReportEventTypes(ctx context.Context, observed []*weftv1.ObservedEventType) (int, error) {
	api := c.api.Load()
	if api == nil {
		return 0, ErrNotConnected
	}
	resp, err := (*api).ReportEventTypes(ctx, &weftv1.ReportEventTypesRequest{ProcessId: c.cfg.ProcessID, EventTypes: observed})
	if err != nil {
		return 0, fmt.Errorf("report event types: %w", err)
	}
	return int(resp.GetCreated()), nil
}

// NewClient returns a Client; Run starts it.
func NewClient(cfg ClientConfig, applier Applier, logger *slog.Logger) *Client {
	if logger == nil {
		logger = observability.DiscardLogger()
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.ProblemInterval <= 0 {
		cfg.ProblemInterval = 2 * time.Second
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = 5 * time.Second
	}
	return &Client{cfg: cfg, applier: applier, logger: logger.With("component", "contract-client"), ready: make(chan struct{})}
}

// Applied returns the last contract version applied successfully (0: none).
func (c *Client) Applied() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}

// Ready is closed once a first contract has been applied.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Run follows the stream until ctx ends; it always returns nil then.
func (c *Client) Run(ctx context.Context) error {
	creds, err := c.cfg.TLS.DialOption(c.logger)
	if err != nil {
		return err
	}
	opts := []grpc.DialOption{creds}
	if c.cfg.AuthToken != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(wire.BearerToken(c.cfg.AuthToken)))
	}
	conn, err := grpc.NewClient(c.cfg.Server, opts...)
	if err != nil {
		return fmt.Errorf("dial control plane %s: %w", c.cfg.Server, err)
	}
	defer conn.Close()
	api := weftv1.NewContractServiceClient(conn)
	c.api.Store(&api)
	defer c.api.Store(nil)
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := c.follow(ctx, api)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		c.logger.Warn("contract stream broken; keeping the last contract and reconnecting",
			"server", c.cfg.Server, "applied", c.Applied(), "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

func (c *Client) follow(ctx context.Context, api weftv1.ContractServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := api.WatchContract(ctx)
	if err != nil {
		return fmt.Errorf("open contract stream: %w", err)
	}
	hello := &weftv1.WatchContractRequest{ProcessId: c.cfg.ProcessID, Role: string(c.cfg.Role), AckVersion: c.Applied()}
	if err := stream.Send(hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	var sendMu sync.Mutex // acks and problem reports share the stream
	send := func(m *weftv1.WatchContractRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	if pr, ok := c.applier.(ProblemReporter); ok {
		done := make(chan struct{})
		defer func() { cancel(); <-done }()
		go func() {
			defer close(done)
			c.reportProblems(ctx, pr, send)
		}()
	}
	if sr, ok := c.applier.(StatsReporter); ok {
		done := make(chan struct{})
		defer func() { cancel(); <-done }()
		go func() {
			defer close(done)
			c.reportStats(ctx, sr, send)
		}()
	}
	for {
		ct, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("receive contract: %w", err)
		}
		if ct.GetVersion() <= c.Applied() && c.Applied() != 0 {
			// Already running it (a reconnect); acknowledge again.
			if err := send(&weftv1.WatchContractRequest{AckVersion: c.Applied()}); err != nil {
				return fmt.Errorf("send ack: %w", err)
			}
			continue
		}
		ack := &weftv1.WatchContractRequest{AckVersion: ct.GetVersion()}
		if err := c.applier.ApplyContract(ctx, ct); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return err
			}
			c.logger.Error("apply contract", "version", ct.GetVersion(), "err", err)
			ack.Error = err.Error()
		} else {
			c.mu.Lock()
			first := c.applied == 0
			c.applied = ct.GetVersion()
			c.mu.Unlock()
			if first {
				close(c.ready)
			}
			c.logger.Debug("applied contract", "version", ct.GetVersion())
		}
		if err := send(ack); err != nil {
			return fmt.Errorf("send ack: %w", err)
		}
	}
}

// reportProblems sends pr's problems whenever they change (on a new stream,
// the first poll always sends them), until ctx ends.
func (c *Client) reportProblems(ctx context.Context, pr ProblemReporter, send func(*weftv1.WatchContractRequest) error) {
	t := time.NewTicker(c.cfg.ProblemInterval)
	defer t.Stop()
	var last *weftv1.WatchContractRequest
	for {
		m := &weftv1.WatchContractRequest{Problems: pr.EgressProblems(), ProblemsReport: true}
		if last == nil || !proto.Equal(m, last) {
			if err := send(m); err != nil {
				return // the stream is broken; follow reconnects
			}
			last = m
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxStatsPerMessage bounds one stats message (a few dozen bytes each), far
// under gRPC's default 4 MiB message limit.
const maxStatsPerMessage = 10000

// reportStats sends sr's counters of the egresses that changed since the
// last report on this stream (on a new stream, every egress with a count)
// every StatsInterval, until ctx ends.
func (c *Client) reportStats(ctx context.Context, sr StatsReporter, send func(*weftv1.WatchContractRequest) error) {
	t := time.NewTicker(c.cfg.StatsInterval)
	defer t.Stop()
	sent := map[string]*weftv1.EgressStats{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var changed []*weftv1.EgressStats
		for _, s := range sr.EgressStats() {
			if prev, ok := sent[s.GetUid()]; ok && proto.Equal(prev, s) {
				continue
			}
			if _, ok := sent[s.GetUid()]; !ok && zeroStats(s) {
				continue
			}
			changed = append(changed, s)
		}
		for len(changed) > 0 {
			n := min(len(changed), maxStatsPerMessage)
			if err := send(&weftv1.WatchContractRequest{Stats: changed[:n]}); err != nil {
				return // the stream is broken; follow reconnects
			}
			for _, s := range changed[:n] {
				sent[s.GetUid()] = s
			}
			changed = changed[n:]
		}
	}
}

func zeroStats(s *weftv1.EgressStats) bool {
	return s.GetDelivered() == 0 && s.GetFailed() == 0 && s.GetDeadLettered() == 0 &&
		s.GetDropped() == 0 && s.GetRejected() == 0 && s.GetDeadLetterFailures() == 0
}
