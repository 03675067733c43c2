package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// publisher compiles the state into contracts, streams them to data-plane
// processes and tracks which version each process acknowledged.
type publisher struct {
	weftv1.UnimplementedContractServiceServer
	opts   compile.Options
	logger *slog.Logger

	mu       sync.Mutex
	compiled *compile.Compiled
	// since maps an entry (entryKey: an ingress or an egress uid) to the
	// first contract version whose entry for it equals the current one:
	// readiness needs acks of at least it. Ingress and egress uids are
	// apart, as a flow's internal topic and its egress share a uid
	// ("{uid}/step-1").
	since   map[string]uint64
	prints  map[string]string
	procs   map[int64]*process
	nextID  int64
	changed chan struct{} // closed and replaced on every new contract or ack
	// peers, when set, shares this replica's processes with other replicas
	// and reports theirs.
	peers *peers
	// registerEventTypes serves ReportEventTypes (Server.registerEventTypes).
	registerEventTypes func(context.Context, []*weftv1.ObservedEventType) (int, error)
	// stats aggregates the delivery counters the dispatchers report.
	stats *deliveryStats
}

type process struct {
	id, role  string
	acked     uint64
	lastError string
	since     time.Time
	problems  []problem
}

// problem is an egress problem a data-plane process reported.
type problem struct {
	UID     string `json:"uid"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func newPublisher(opts compile.Options, logger *slog.Logger) *publisher {
	return &publisher{
		opts: opts, logger: logger,
		compiled: compile.Compile(0, compile.Resources{}, opts),
		since:    map[string]uint64{}, prints: map[string]string{},
		procs: map[int64]*process{}, changed: make(chan struct{}),
		stats: newDeliveryStats(),
	}
}

// update compiles st and publishes it when it is newer than the current one.
func (p *publisher) update(st *State) {
	c := compile.Compile(st.Version, resourcesOf(st), p.opts)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.Contract.Version <= p.compiled.Contract.Version && p.compiled.Contract.Version != 0 {
		return
	}
	seen, egresses := map[string]bool{}, map[string]bool{}
	for _, in := range c.Contract.Ingresses {
		shallow := proto.Clone(in).(*weftv1.Ingress)
		shallow.Egresses = nil
		p.track(entryKey(wire.RoleIngress, in.Uid), shallow, c.Contract.Version, seen)
		for _, eg := range in.Egresses {
			p.track(entryKey(wire.RoleDispatcher, eg.Uid), eg, c.Contract.Version, seen)
			egresses[eg.Uid] = true
		}
	}
	p.stats.retain(egresses)
	for uid := range p.prints {
		if !seen[uid] {
			delete(p.prints, uid)
			delete(p.since, uid)
		}
	}
	p.compiled = c
	p.notifyLocked()
}

// resourcesOf sorts the objects of st by kind for compile.Compile.
func resourcesOf(st *State) compile.Resources {
	var r compile.Resources
	for _, o := range st.List("", "") {
		switch t := o.(type) {
		case *apis.Broker:
			r.Brokers = append(r.Brokers, t)
		case *apis.Trigger:
			r.Triggers = append(r.Triggers, t)
		case *apis.Channel:
			r.Channels = append(r.Channels, t)
		case *apis.Subscription:
			r.Subscriptions = append(r.Subscriptions, t)
		case *apis.Sequence:
			r.Sequences = append(r.Sequences, t)
		case *apis.Parallel:
			r.Parallels = append(r.Parallels, t)
		case *apis.KafkaSink:
			r.KafkaSinks = append(r.KafkaSinks, t)
		case *apis.PingSource:
			r.PingSources = append(r.PingSources, t)
		case *apis.Secret:
			r.Secrets = append(r.Secrets, t)
		case *apis.EventPolicy:
			r.EventPolicies = append(r.EventPolicies, t)
		case *apis.HTTPPollerSource:
			r.HTTPPollerSources = append(r.HTTPPollerSources, t)
		case *apis.WebhookSource:
			r.WebhookSources = append(r.WebhookSources, t)
		case *apis.GitLabSource:
			r.GitLabSources = append(r.GitLabSources, t)
		case *apis.GitHubSource:
			r.GitHubSources = append(r.GitHubSources, t)
		case *apis.KafkaSource:
			r.KafkaSources = append(r.KafkaSources, t)
		}
	}
	return r
}

// entryKey keys the contract entry a role runs: an ingress entry (uid of
// the ingress) for RoleIngress, an egress for RoleDispatcher.
func entryKey(role wire.Role, uid string) string { return string(role) + " " + uid }

func (p *publisher) track(key string, m proto.Message, version uint64, seen map[string]bool) {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	seen[key] = true
	if p.prints[key] != string(b) {
		p.prints[key] = string(b)
		p.since[key] = version
	}
}

func (p *publisher) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// shareLocked tells the other replicas about stream id (gone when absent).
func (p *publisher) shareLocked(id int64) {
	if p.peers == nil {
		return
	}
	pr, ok := p.procs[id]
	if !ok {
		p.peers.set(id, nil)
		return
	}
	p.peers.set(id, &peerEntry{ProcessID: pr.id, Role: pr.role, Acked: pr.acked, Problems: append([]problem(nil), pr.problems...)})
}

// remoteChanged is called when another replica's report changed.
func (p *publisher) remoteChanged() {
	p.mu.Lock()
	p.notifyLocked()
	p.mu.Unlock()
}

// current returns the latest compiled contract and a channel closed on change.
func (p *publisher) current() (*compile.Compiled, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.compiled, p.changed
}

// readiness says whether every connected process of role acknowledged the
// version that introduced uid's current entry: the ingress entry of uid for
// RoleIngress, the egress of uid for RoleDispatcher.
func (p *publisher) readiness(uid string, role wire.Role) (ok bool, reason, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	need, known := p.since[entryKey(role, uid)]
	if !known {
		return false, "NotInContract", "not part of the data-plane contract yet"
	}
	n, behind := p.behindLocked(role, need)
	if n == 0 {
		return false, "NoDataPlane", fmt.Sprintf("no %s process is connected to the control plane", role)
	}
	if len(behind) > 0 {
		sort.Strings(behind)
		return false, "DataPlaneNotReady", fmt.Sprintf("%d of %d %s processes have not applied contract version %d yet: %v", len(behind), n, role, need, behind)
	}
	return true, "", ""
}

// behindLocked counts the connected processes of role (here and on other
// replicas) and names those that have not acknowledged version need.
func (p *publisher) behindLocked(role wire.Role, need uint64) (n int, behind []string) {
	count := func(id, r string, acked uint64) {
		if r != string(role) {
			return
		}
		n++
		if acked < need {
			behind = append(behind, id)
		}
	}
	for _, pr := range p.procs {
		count(pr.id, pr.role, pr.acked)
	}
	if p.peers != nil {
		for _, e := range p.peers.live() {
			count(e.ProcessID, e.Role, e.Acked)
		}
	}
	return n, behind
}

// applied reports whether every connected process of role acknowledged a
// contract of at least version (true when none is connected: a process that
// connects later gets the current contract first).
func (p *publisher) applied(role wire.Role, version uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, behind := p.behindLocked(role, version)
	return len(behind) == 0
}

// problems returns what connected processes (here and on other replicas)
// report wrong with uid, as "process: message" per reason.
func (p *publisher) problems(uid string) (reason, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var msgs []string
	add := func(id string, ps []problem) {
		for _, x := range ps {
			if x.UID == uid {
				if reason == "" {
					reason = x.Reason
				}
				msgs = append(msgs, id+": "+x.Message)
			}
		}
	}
	for _, pr := range p.procs {
		add(pr.id, pr.problems)
	}
	if p.peers != nil {
		for _, e := range p.peers.live() {
			add(e.ProcessID, e.Problems)
		}
	}
	sort.Strings(msgs)
	return reason, strings.Join(msgs, "; ")
}

// processes lists the connected data-plane processes (for status and tests).
func (p *publisher) processes() []process {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]process, 0, len(p.procs))
	for _, pr := range p.procs {
		out = append(out, *pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// WatchContract implements weftv1.ContractServiceServer.
func (p *publisher) WatchContract(stream weftv1.ContractService_WatchContractServer) error {
	hello, err := stream.Recv()
	if err != nil {
		return err
	}
	if hello.GetProcessId() == "" {
		return status.Error(codes.InvalidArgument, "hello: process_id: must not be empty")
	}
	if _, err := wire.ParseRole(hello.GetRole()); err != nil {
		return status.Errorf(codes.InvalidArgument, "hello: role: %v", err)
	}
	p.mu.Lock()
	id := p.nextID
	p.nextID++
	p.procs[id] = &process{id: hello.GetProcessId(), role: hello.GetRole(), acked: hello.GetAckVersion(), since: time.Now()}
	p.shareLocked(id)
	p.notifyLocked()
	p.mu.Unlock()
	p.logger.Info("data-plane process connected", "process", hello.GetProcessId(), "role", hello.GetRole(), "acked", hello.GetAckVersion())
	p.stats.connect(hello.GetProcessId())
	defer p.stats.disconnect(hello.GetProcessId(), time.Now())
	defer func() {
		p.mu.Lock()
		delete(p.procs, id)
		p.shareLocked(id)
		p.notifyLocked()
		p.mu.Unlock()
		p.logger.Info("data-plane process disconnected", "process", hello.GetProcessId())
	}()

	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	acks := make(chan error, 1)
	go func() {
		defer cancel()
		for {
			m, err := stream.Recv()
			if err != nil {
				acks <- err
				return
			}
			if len(m.GetStats()) > 0 {
				p.stats.observe(hello.GetProcessId(), m.GetStats(), time.Now())
				if !m.GetProblemsReport() && m.GetAckVersion() == 0 && m.GetError() == "" {
					continue // counters only: nothing readiness or status reads
				}
			}
			p.mu.Lock()
			pr := p.procs[id]
			if pr == nil {
				// WatchContract returned (and forgot the stream) while
				// this message was being read.
				p.mu.Unlock()
				acks <- io.EOF
				return
			}
			if m.GetProblemsReport() {
				pr.problems = pr.problems[:0]
				for _, x := range m.GetProblems() {
					pr.problems = append(pr.problems, problem{UID: x.GetUid(), Reason: x.GetReason(), Message: x.GetMessage()})
				}
				p.shareLocked(id)
			}
			if m.GetError() != "" {
				pr.lastError = m.GetError()
				p.logger.Warn("data-plane process failed to apply a contract", "process", pr.id, "version", m.GetAckVersion(), "err", m.GetError())
			} else if m.GetAckVersion() > pr.acked {
				pr.acked, pr.lastError = m.GetAckVersion(), ""
				p.shareLocked(id)
			}
			p.notifyLocked()
			p.mu.Unlock()
		}
	}()
	var sent uint64
	for {
		c, changed := p.current()
		if v := c.Contract.GetVersion(); v != sent {
			if err := stream.Send(c.Contract); err != nil {
				return err
			}
			sent = v
		}
		select {
		case <-ctx.Done():
			select {
			case err := <-acks:
				if status.Code(err) == codes.Canceled || errors.Is(err, io.EOF) {
					return nil
				}
				return err
			default:
				return nil
			}
		case <-changed:
		}
	}
}

// WaitForDataPlane blocks until at least one process of each role is
// connected to this replica and has applied the latest compile.
func (s *Server) WaitForDataPlane(ctx context.Context, roles ...wire.Role) error {
	for {
		c, changed := s.pub.current()
		ready := true
		procs := s.pub.processes()
		for _, role := range roles {
			found := false
			for _, p := range procs {
				if p.role == string(role) && p.acked >= c.Contract.GetVersion() {
					found = true
				}
			}
			ready = ready && found
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the data plane (%v): %w", roles, ctx.Err())
		case <-changed:
		}
	}
}
