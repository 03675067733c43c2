package devkafka

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ping produces one record through the server at addr.
func ping(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "ping"); err != nil {
		t.Fatalf("create a topic on %s: %v", addr, err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "ping", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", addr, err)
	}
}

// thief takes every port released while it is armed: whoever releases a
// port between picking and serving it loses it.
type thief struct {
	mu     sync.Mutex
	armed  bool
	binds  int
	stolen []net.Listener
}

func (th *thief) listen(network, addr string) (net.Listener, error) {
	th.mu.Lock()
	th.binds++
	th.mu.Unlock()
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return thiefListener{Listener: ln, th: th}, nil
}

func (th *thief) disarm() (binds, stolen int) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.armed = false
	return th.binds, len(th.stolen)
}

type thiefListener struct {
	net.Listener
	th *thief
}

func (l thiefListener) Close() error {
	addr := l.Listener.Addr().String()
	err := l.Listener.Close()
	l.th.mu.Lock()
	defer l.th.mu.Unlock()
	if l.th.armed {
		if ln, lerr := net.Listen("tcp", addr); lerr == nil {
			l.th.stolen = append(l.th.stolen, ln)
		}
	}
	return err
}

// A server asked for port 0 binds its port once and serves on that very
// listener. Had it released the port in between (the old listen, close,
// listen again), the thief would hold it and the start would fail.
func TestPortZeroIsNeverReleased(t *testing.T) {
	th := &thief{armed: true}
	listen = th.listen
	t.Cleanup(func() {
		listen = net.Listen
		th.mu.Lock()
		defer th.mu.Unlock()
		for _, l := range th.stolen {
			l.Close()
		}
	})
	s, err := Start(Config{Addr: "127.0.0.1:0"})
	binds, stolen := th.disarm()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()
	if binds != 1 || stolen != 0 {
		t.Errorf("start bound %d listeners and released %d ports; want one bind, none released", binds, stolen)
	}
	if s.Addr() != s.ListenAddr() {
		t.Errorf("Addr %s, ListenAddr %s: want the same without an advertised address", s.Addr(), s.ListenAddr())
	}
	ping(t, s.Addr())
}

// A listener the caller bound is served as it is.
func TestServesTheGivenListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Listener: ln})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()
	if s.Addr() != ln.Addr().String() {
		t.Fatalf("Addr %s, want the listener's %s", s.Addr(), ln.Addr())
	}
	ping(t, s.Addr())
}

// Servers started in parallel on port 0 each get their own port.
func TestParallelStarts(t *testing.T) {
	const n = 8
	addrs := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := Start(Config{Addr: "127.0.0.1:0"})
			if err != nil {
				t.Errorf("start: %v", err)
				return
			}
			t.Cleanup(s.Close)
			addrs <- s.Addr()
		})
	}
	wg.Wait()
	close(addrs)
	seen := map[string]bool{}
	for a := range addrs {
		if seen[a] {
			t.Errorf("two servers on %s", a)
		}
		seen[a] = true
		ping(t, a)
	}
	if len(seen) != n {
		t.Errorf("%d servers started, want %d", len(seen), n)
	}
}

// An advertised address is what clients are told; the listen address stays
// the bound one.
func TestAdvertisedAddr(t *testing.T) {
	s, err := Start(Config{Addr: "127.0.0.1:0", AdvertisedAddr: "kafka.example:9092"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Addr() != "kafka.example:9092" {
		t.Errorf("Addr = %s, want the advertised address", s.Addr())
	}
	if _, port, err := net.SplitHostPort(s.ListenAddr()); err != nil || port == "0" {
		t.Errorf("ListenAddr = %s, want the bound port", s.ListenAddr())
	}
}
