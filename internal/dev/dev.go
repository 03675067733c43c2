// Package dev owns `weft dev`: the whole mesh in one process — an embedded
// Kafka-protocol server (or an external Kafka), the control plane, the
// ingress and the dispatcher — for laptops, demos and tests.
package dev

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
)

// Config configures `weft dev`.
type Config struct {
	// KafkaAddr is where the embedded Kafka-protocol server listens.
	KafkaAddr string
	// BootstrapServers, when set, uses that Kafka instead of the embedded one.
	BootstrapServers []string
	// DataDir keeps the embedded server's data ("" keeps it in memory).
	DataDir  string
	GRPCAddr string
	HTTPAddr string
	// Partitions of broker topics.
	Partitions int
	// ServiceURLTemplate resolves Service refs ({name}, {namespace}).
	ServiceURLTemplate string
	// PprofAddr, when set, serves net/http/pprof there (profiling).
	PprofAddr string
	// ConsoleAddr serves the control plane's HTTP port: the web console
	// and the Event Mesh API, with a bearer token made for the run ("": off).
	ConsoleAddr string
	// TLS serves the ingress over HTTPS, the control plane over mTLS and
	// the embedded Kafka over TLS with a SCRAM-SHA-512 user, with a local
	// CA, certificates and a password kept in DataDir/tls (a temporary
	// directory without a DataDir).
	TLS bool
}

// DefaultConfig binds loopback on the usual ports.
func DefaultConfig() Config {
	return Config{
		KafkaAddr: "127.0.0.1:9092", DataDir: ".weft",
		GRPCAddr: "127.0.0.1:9090", HTTPAddr: "127.0.0.1:8080", ConsoleAddr: "127.0.0.1:8081", Partitions: 3,
		ServiceURLTemplate: compile.DefaultServiceURLTemplate,
	}
}

// AddFlags registers the flags of `weft dev`.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.KafkaAddr, "kafka-addr", c.KafkaAddr, "listen address of the embedded Kafka-protocol server")
	fs.StringSliceVar(&c.BootstrapServers, "bootstrap-servers", c.BootstrapServers, "use this Kafka instead of the embedded server")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory keeping the embedded server's topics, offsets and groups (empty: memory only)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "control plane gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "ingress HTTP listen address")
	fs.StringVar(&c.ConsoleAddr, "console-addr", c.ConsoleAddr, "listen address of the web console and the Event Mesh API (/v1/getEventMesh); the token is printed (empty: off)")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "partitions of each broker's topic")
	fs.StringVar(&c.PprofAddr, "pprof-addr", c.PprofAddr, "serve Go's /debug/pprof and the process's /metrics on this address (empty: off)")
	fs.BoolVar(&c.TLS, "tls", c.TLS, "serve the ingress over HTTPS, the control plane over TLS requiring client certificates and the embedded Kafka over TLS with a SCRAM-SHA-512 user, with a local CA, certificates and a password made in --data-dir/tls (reused across restarts)")
	fs.StringVar(&c.ServiceURLTemplate, "service-url-template", c.ServiceURLTemplate, "URL a Service ref resolves to; {name} and {namespace} are replaced (e.g. http://127.0.0.1:8090/{name})")
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.HostPort("--kafka-addr", c.KafkaAddr),
		flagcheck.HostPort("--grpc-addr", c.GRPCAddr),
		flagcheck.HostPort("--http-addr", c.HTTPAddr),
		flagcheck.OptionalHostPort("--pprof-addr", c.PprofAddr),
		flagcheck.OptionalHostPort("--console-addr", c.ConsoleAddr),
		flagcheck.AtLeast("--partitions", c.Partitions, 1),
	}
	if len(c.BootstrapServers) > 0 {
		errs = append(errs, flagcheck.HostPorts("--bootstrap-servers", c.BootstrapServers))
	}
	if !strings.Contains(c.ServiceURLTemplate, "{name}") {
		errs = append(errs, flagcheck.Errorf("--service-url-template", c.ServiceURLTemplate, "contain {name}"))
	}
	return flagcheck.Join(errs...)
}

// Addrs are where a running dev process serves.
type Addrs struct {
	Kafka, GRPC, HTTP string
	// Pprof is empty unless --pprof-addr is set.
	Pprof string
	// Console is the console's host:port and ConsoleToken its bearer token
	// (empty unless --console-addr is set).
	Console, ConsoleToken string
	// With --tls: the CA file clients must trust, and the client
	// certificate the control plane accepts (empty without --tls).
	CAFile, ClientCert, ClientKey string
	// With --tls and the embedded Kafka: the SASL user (SCRAM-SHA-512)
	// and the file holding its password.
	KafkaUser, KafkaPasswordFile string
}

// Run runs everything until ctx ends. Every component records its spans and
// metrics through tel (nil: no tracing, private metrics). ready, when
// non-nil, is called with the bound addresses once every component serves.
// Progress goes to out.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, tel *observability.Telemetry, out io.Writer, ready func(Addrs)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.DataDir != "" && len(cfg.BootstrapServers) == 0 {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("create --data-dir: %w", err)
		}
	}
	var addrs Addrs
	var pki *devTLS
	if cfg.TLS {
		dir := ""
		if cfg.DataDir != "" {
			dir = filepath.Join(cfg.DataDir, "tls")
		} else {
			tmp, err := os.MkdirTemp("", "weft-dev-tls-")
			if err != nil {
				return fmt.Errorf("weft dev --tls: %w", err)
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		var err error
		if pki, err = ensureDevTLS(dir, tlsHosts(cfg.HTTPAddr, cfg.GRPCAddr, cfg.KafkaAddr)); err != nil {
			return err
		}
		addrs.CAFile, addrs.ClientCert, addrs.ClientKey = pki.CAFile, pki.ClientCert, pki.ClientKey
		if len(cfg.BootstrapServers) == 0 {
			addrs.KafkaUser, addrs.KafkaPasswordFile = devKafkaUser, pki.KafkaPasswordFile
		}
	}

	kcfg := kafka.DefaultConfig()
	if len(cfg.BootstrapServers) > 0 {
		kcfg.BootstrapServers = cfg.BootstrapServers
		addrs.Kafka = cfg.BootstrapServers[0]
	} else {
		kc := devkafka.Config{Addr: cfg.KafkaAddr, DataDir: kafkaDir(cfg.DataDir), DefaultPartitions: cfg.Partitions}
		if pki != nil {
			// TLS and SCRAM on the Kafka hop too: the embedded server
			// serves the dev CA's certificate and knows one user, whose
			// password is kept beside the certificates.
			kc.TLSCertFile, kc.TLSKeyFile = pki.ServerCert, pki.ServerKey
			kc.Users = []devkafka.User{{Name: devKafkaUser, Password: pki.KafkaPassword}}
		}
		emb, err := devkafka.Start(kc)
		if err != nil {
			return err
		}
		defer emb.Close()
		kcfg.BootstrapServers = []string{emb.Addr()}
		addrs.Kafka = emb.Addr()
		if pki != nil {
			kcfg.TLS, kcfg.CAFile = true, pki.CAFile
			kcfg.SASLMechanism, kcfg.SASLUser, kcfg.SASLPassword = devKafkaMechanism, devKafkaUser, pki.KafkaPassword
		}
	}

	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
	}
	addrs.HTTP = httpLn.Addr().String()
	grpcLn, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		httpLn.Close()
		return fmt.Errorf("listen on --grpc-addr %s: %w", cfg.GRPCAddr, err)
	}
	addrs.GRPC = grpcLn.Addr().String()

	cpCfg := controlplane.DefaultConfig()
	cpCfg.Kafka = kcfg
	cpCfg.GRPCAddr = addrs.GRPC
	cpCfg.OpsAddr = ""
	cpCfg.BrokerPartitions = cfg.Partitions
	cpCfg.IngressURL = "http://" + addrs.HTTP
	if pki != nil {
		cpCfg.IngressURL = "https://" + addrs.HTTP
		cpCfg.GRPCTLSCertFile, cpCfg.GRPCTLSKeyFile, cpCfg.GRPCClientCAFile = pki.ServerCert, pki.ServerKey, pki.CAFile
	}
	cpCfg.ServiceURLTemplate = cfg.ServiceURLTemplate
	cpOpts := []controlplane.Option{controlplane.WithLogger(logger), controlplane.WithListener(grpcLn)}
	if cfg.ConsoleAddr != "" {
		consoleLn, err := net.Listen("tcp", cfg.ConsoleAddr)
		if err != nil {
			httpLn.Close()
			grpcLn.Close()
			return fmt.Errorf("listen on --console-addr %s: %w", cfg.ConsoleAddr, err)
		}
		addrs.Console, addrs.ConsoleToken = consoleLn.Addr().String(), rand.Text()
		cpOpts = append(cpOpts, controlplane.WithHTTPListener(consoleLn), controlplane.WithHTTPToken(addrs.ConsoleToken))
	}
	if tel != nil {
		cpOpts = append(cpOpts, controlplane.WithMetrics(tel.Metrics), controlplane.WithTracerProvider(tel.TracerProvider))
	}
	cp, err := controlplane.New(ctx, cpCfg, cpOpts...)
	if err != nil {
		httpLn.Close()
		grpcLn.Close()
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	if cfg.PprofAddr != "" {
		var m *observability.Metrics
		if tel != nil {
			m = tel.Metrics
		}
		stop, addr, err := servePprof(cfg.PprofAddr, m)
		if err != nil {
			httpLn.Close()
			grpcLn.Close()
			return err
		}
		defer stop()
		addrs.Pprof = addr
	}
	g.Go(func() error { return cp.Run(gctx) })
	env := dataPlaneEnv{Kafka: kcfg, ControlPlane: addrs.GRPC, HTTP: httpLn, Logger: logger, Telemetry: tel, TLS: pki}
	g.Go(func() error { return runIngress(gctx, env) })
	g.Go(func() error { return runDispatcher(gctx, env) })

	g.Go(func() error {
		if err := cp.WaitForDataPlane(gctx, wire.RoleIngress, wire.RoleDispatcher); err != nil {
			return nil // stopping before we were ready
		}
		if pki == nil {
			fmt.Fprintf(out, "weft dev\n  kafka:         %s\n  control plane: %s  (weft --server %s)\n  ingress:       http://%s/{namespace}/{broker}\n", addrs.Kafka, addrs.GRPC, addrs.GRPC, addrs.HTTP)
		} else {
			printTLS(out, addrs, pki)
		}
		if addrs.Console != "" {
			fmt.Fprintf(out, "  console:       http://%s/#token=%s\n  event mesh:    http://%s/v1/getEventMesh  (Authorization: Bearer %s)\n",
				addrs.Console, addrs.ConsoleToken, addrs.Console, addrs.ConsoleToken)
		}
		if addrs.Pprof != "" {
			fmt.Fprintf(out, "  pprof:         http://%s/debug/pprof/\n", addrs.Pprof)
		}
		if cfg.DataDir != "" && len(cfg.BootstrapServers) == 0 {
			abs, _ := filepath.Abs(cfg.DataDir)
			fmt.Fprintf(out, "  data dir:      %s\n", abs)
		}
		fmt.Fprintln(out, "ready: press Ctrl-C to stop")
		if ready != nil {
			ready(addrs)
		}
		return nil
	})
	err = g.Wait()
	fmt.Fprintln(out, "stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// servePprof serves the runtime profiles, and the process's metrics when m
// is set, on addr until stop is called.
func servePprof(addr string, m *observability.Metrics) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on --pprof-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	srv := observability.NewServer(mux)
	go srv.Serve(ln)
	return func() { srv.Close() }, ln.Addr().String(), nil
}

func kafkaDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "kafka")
}

// dataPlaneEnv is what an embedded data-plane component gets.
type dataPlaneEnv struct {
	Kafka        kafka.Config
	ControlPlane string
	// HTTP is the ingress listener (only the ingress uses it).
	HTTP      net.Listener
	Logger    *slog.Logger
	Telemetry *observability.Telemetry // nil: none
	// TLS is the local PKI of --tls (nil: plaintext): the ingress serves
	// HTTPS on HTTP, and both components reach the control plane with its
	// client certificate.
	TLS *devTLS
}
