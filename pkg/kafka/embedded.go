package kafka

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// EmbeddedConfig configures the embedded Kafka-protocol server.
type EmbeddedConfig struct {
	// Addr is host:port to listen on ("127.0.0.1:0" picks a free port).
	Addr string
	// DataDir persists topics, offsets and groups across restarts ("" keeps them in memory).
	DataDir string
	// DefaultPartitions for auto-created topics.
	DefaultPartitions int
	// SyncWrites fsyncs every produced batch before acknowledging it.
	SyncWrites bool
	// AdvertisedAddr is the host:port clients are told to connect to
	// ("" : the listen address). Containers advertise their service name.
	AdvertisedAddr string
}

// advertisedListener reports another address than the one it listens on:
// the server advertises its listener's address in metadata responses.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

type hostPortAddr string

func (a hostPortAddr) Network() string { return "tcp" }
func (a hostPortAddr) String() string  { return string(a) }

// Embedded is a running Kafka-protocol server (franz-go's kfake) on a real TCP port.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
}

// StartEmbedded starts the server; Close stops it.
func StartEmbedded(cfg EmbeddedConfig, extra ...kfake.Opt) (*Embedded, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parse kafka address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("parse kafka port %q: %w", portStr, err)
	}
	if port == 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil || cfg.AdvertisedAddr == "" {
				return ln, err
			}
			return advertisedListener{Listener: ln, addr: hostPortAddr(cfg.AdvertisedAddr)}, nil
		}),
	}
	if cfg.DefaultPartitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(cfg.DefaultPartitions))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka on %s: %w", addr, err)
	}
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	if cfg.AdvertisedAddr != "" {
		addr = cfg.AdvertisedAddr
	}
	return &Embedded{cluster: c, addr: addr}, nil
}

// Addr is the host:port clients bootstrap from.
func (e *Embedded) Addr() string { return e.addr }

// Cluster exposes the underlying kfake cluster (tests inject faults through it).
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the server, flushing persisted state.
func (e *Embedded) Close() { e.cluster.Close() }
