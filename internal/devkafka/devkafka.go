// Package devkafka runs the development Kafka-protocol server (franz-go's
// kfake) on a real TCP listener: what `weft dev` embeds, what `weft kafka`
// serves on its own, and what tests talk to. Production code never imports it;
// it reaches Kafka only through pkg/kafka.
package devkafka

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weft-dev/weft/pkg/tlsconfig"
)

// Config configures the server.
type Config struct {
	// Addr is host:port to listen on ("127.0.0.1:0" lets the kernel pick a
	// free port; Server.Addr then says which). Ignored when Listener is set.
	Addr string
	// Listener, when set, is served as it is: a caller that bound it holds
	// the port from the start, so no one else can take it in between.
	Listener net.Listener
	// DataDir persists topics, offsets and groups across restarts ("" keeps them in memory).
	DataDir string
	// DefaultPartitions for auto-created topics.
	DefaultPartitions int
	// SyncWrites fsyncs every produced batch before acknowledging it.
	SyncWrites bool
	// AdvertisedAddr is the host:port clients are told to connect to
	// ("": the listen address). Containers advertise their service name.
	AdvertisedAddr string
	// TLSCertFile and TLSKeyFile, when set, make the listener TLS only
	// (TLS 1.2 or later); the files are re-read when they change.
	TLSCertFile, TLSKeyFile string
	// Users, when set, require SASL authentication: each user may log in
	// with any of Mechanisms. They are the only users: users persisted in
	// DataDir by an earlier run are replaced.
	Users []User
}

// Mechanisms are the SASL mechanisms every configured user may use.
var Mechanisms = []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}

// User is a SASL user of the server.
type User struct {
	Name, Password string
}

// ParseUser parses "name:password" (the password may contain ':').
func ParseUser(s string) (User, error) {
	name, pass, ok := strings.Cut(s, ":")
	if !ok || name == "" || pass == "" {
		return User{}, errors.New("must be name:password with a non-empty name and password")
	}
	return User{Name: name, Password: pass}, nil
}

// securityOpts are the kfake options for cfg's TLS and SASL settings.
func securityOpts(cfg Config) ([]kfake.Opt, error) {
	var opts []kfake.Opt
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, fmt.Errorf("start kafka-protocol server: set both TLS certificate and key files or neither, got cert %q and key %q", cfg.TLSCertFile, cfg.TLSKeyFile)
	}
	if cfg.TLSCertFile != "" {
		tc, err := tlsconfig.Server{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile}.Config(nil)
		if err != nil {
			return nil, fmt.Errorf("start kafka-protocol server: %w", err)
		}
		opts = append(opts, kfake.TLS(tc))
	}
	if len(cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			for _, m := range Mechanisms {
				opts = append(opts, kfake.Superuser(m, u.Name, u.Password))
			}
		}
		// kfake restores persisted users over the configured ones: drop
		// them, so a changed password (or SASL turned on for a data
		// directory that had none) takes effect.
		if cfg.DataDir != "" {
			if err := os.Remove(filepath.Join(cfg.DataDir, "sasl.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("start kafka-protocol server: reset persisted SASL users: %w", err)
			}
		}
	}
	return opts, nil
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

// listen binds a listener (a variable so tests can watch every bind).
var listen = net.Listen

// Server is a running Kafka-protocol server with one broker.
type Server struct {
	cluster    *kfake.Cluster
	addr       string
	listenAddr string
}

// Start binds the listener (unless Config.Listener is given) and starts the
// server on it; Close stops it. The listener is bound exactly once and handed
// to the server, so a port picked by the kernel cannot be lost to another
// process between picking and serving.
func Start(cfg Config, extra ...kfake.Opt) (*Server, error) {
	secOpts, err := securityOpts(cfg)
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if ln, err = listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("start kafka-protocol server: listen on %s: %w", addr, err)
		}
	}
	served := ln
	if cfg.AdvertisedAddr != "" {
		served = advertisedListener{Listener: ln, addr: hostPortAddr(cfg.AdvertisedAddr)}
	}
	var once sync.Once
	listen := func(string, string) (net.Listener, error) {
		var out net.Listener
		once.Do(func() { out = served })
		if out == nil {
			return nil, errors.New("the development server runs one broker on one listener")
		}
		return out, nil
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.ListenFn(listen)}
	if cfg.DefaultPartitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(cfg.DefaultPartitions))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	opts = append(opts, secOpts...)
	c, err := kfake.NewCluster(append(opts, extra...)...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start kafka-protocol server on %s: %w", ln.Addr(), err)
	}
	return &Server{cluster: c, addr: served.Addr().String(), listenAddr: ln.Addr().String()}, nil
}

// Addr is the host:port clients bootstrap from (the advertised address when
// one is set).
func (s *Server) Addr() string { return s.addr }

// ListenAddr is the address the server listens on (the port the kernel
// picked when Config.Addr asked for port 0).
func (s *Server) ListenAddr() string { return s.listenAddr }

// Cluster exposes the underlying kfake cluster (tests inject faults through it).
func (s *Server) Cluster() *kfake.Cluster { return s.cluster }

// Close stops the server, flushing persisted state.
func (s *Server) Close() { s.cluster.Close() }
