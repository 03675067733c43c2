package controlplane

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/tlsconfig"
	"github.com/weft-dev/weft/pkg/wire"
)

// Config configures a control-plane replica.
type Config struct {
	// GRPCAddr serves the resource API and the contract stream.
	GRPCAddr string
	// OpsAddr serves /healthz, /readyz and /metrics ("" disables).
	OpsAddr string
	// StateTopic is the compacted topic holding the resources.
	StateTopic string
	// DataPlaneTopic is the compacted topic where replicas share which
	// data-plane processes they serve and what those acknowledged.
	DataPlaneTopic string
	// StateReplicationFactor of the state topics (-1: the cluster's default).
	StateReplicationFactor int
	// BrokerPartitions and BrokerReplicationFactor are the defaults for
	// broker topics (annotations weft.dev/partitions and
	// weft.dev/replication-factor override them per broker).
	BrokerPartitions        int
	BrokerReplicationFactor int
	// BrokerMaxMessageBytes is max.message.bytes of broker topics: it must
	// hold the ingress's largest event plus headers (0: the cluster's default).
	BrokerMaxMessageBytes int
	// IngressURL is the externally reachable base URL of the ingress; a
	// broker's address is IngressURL/{namespace}/{name}.
	IngressURL string
	// ServiceURLTemplate resolves Service refs ({name}, {namespace}).
	ServiceURLTemplate string
	// AuthTokenFile, when set, holds the bearer token every gRPC call must
	// carry: an admin token (kept for compatibility; see AuthTokensFile).
	AuthTokenFile string
	// ConsoleAddr serves the Knative Event Mesh API (GET
	// /v1/getEventMesh) and the web console ("" disables). Not
	// --http-addr: the images set WEFT_HTTP_ADDR for the ingress.
	ConsoleAddr string
	// ConsoleTokenFile holds the bearer token of that port ("": the
	// AuthTokenFile's token; one of them is required with ConsoleAddr).
	ConsoleTokenFile string
	// AuthTokensFile, when set, holds bearer tokens with roles, one
	// "role token" per line: admin (everything), viewer (Get, List, Watch)
	// or data-plane (WatchContract). With AuthTokenFile too, both apply.
	AuthTokensFile string
	// GRPCTLSCertFile and GRPCTLSKeyFile, when set, serve gRPC over TLS with
	// that certificate (re-read when the files change).
	GRPCTLSCertFile, GRPCTLSKeyFile string
	// GRPCClientCAFile, when set, makes gRPC require a client certificate
	// signed by one of its CAs from every caller (mTLS).
	GRPCClientCAFile string
	Kafka            kafka.Config

	// Store says where the resources live: StoreKafka (the compacted state
	// topic, written through the gRPC API) or StoreKubernetes (custom
	// resources on the Kubernetes API: the leader mirrors Weft's into the
	// state topic and writes their status; the gRPC API is read-only).
	Store string
	// BrokerClass is the eventing.knative.dev/broker.class value of the
	// Brokers Weft reconciles in Kubernetes mode; with DefaultBrokerClass it
	// also reconciles Brokers without the annotation.
	BrokerClass        string
	DefaultBrokerClass bool
	// LeaderElect elects one reconciling replica with a Lease
	// (LeaderElectionID in LeaderElectionNamespace) in Kubernetes mode.
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	// Kubeconfig is the kubeconfig file of Kubernetes mode ("": the
	// in-cluster configuration, or $KUBECONFIG).
	Kubeconfig string
	// OIDCAuthentication (Knative's authentication-oidc feature, off by
	// default) makes every broker, channel, sequence, parallel and
	// KafkaSink require an OIDC token for its audience and enforces
	// EventPolicies; DefaultAuthorizationMode is what an addressable no
	// EventPolicy applies to admits (allow-all, allow-same-namespace or
	// deny-all; Knative's default-authorization-mode; "" is allow-all).
	OIDCAuthentication       bool
	DefaultAuthorizationMode string
	// EventTypeAutoCreate registers EventTypes for the events sent to
	// every Broker and Channel without the annotation
	// weft.dev/eventtype-auto-create (Knative's feature flag
	// eventtype-auto-create); off by default.
	EventTypeAutoCreate bool
}

// The stores a control plane runs on (Config.Store).
const (
	StoreKafka      = "kafka"
	StoreKubernetes = "kubernetes"
)

// DefaultConfig is a local, single-node set-up.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:                "127.0.0.1:9090",
		OpsAddr:                 "127.0.0.1:9091",
		StateTopic:              "weft.controlplane.state",
		DataPlaneTopic:          "weft.controlplane.dataplane",
		StateReplicationFactor:  -1,
		BrokerPartitions:        3,
		BrokerReplicationFactor: -1,
		BrokerMaxMessageBytes:   2 << 20,
		IngressURL:              "http://127.0.0.1:8080",
		ServiceURLTemplate:      compile.DefaultServiceURLTemplate,
		Kafka:                   kafka.DefaultConfig(),
		Store:                   StoreKafka,
		BrokerClass:             "Weft",
		LeaderElectionNamespace: "weft-system",
		LeaderElectionID:        "weft-controlplane",
	}
}

// AddFlags registers the control plane's flags.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "gRPC listen address (resource API and contract stream)")
	fs.StringVar(&c.OpsAddr, "ops-addr", c.OpsAddr, `address of /healthz, /readyz and /metrics ("" disables)`)
	fs.StringVar(&c.StateTopic, "state-topic", c.StateTopic, "compacted Kafka topic holding the resources")
	fs.StringVar(&c.DataPlaneTopic, "dataplane-topic", c.DataPlaneTopic, "compacted Kafka topic where replicas share data-plane acknowledgements")
	fs.IntVar(&c.StateReplicationFactor, "state-replication-factor", c.StateReplicationFactor, "replication factor of the state topics (-1: cluster default)")
	fs.IntVar(&c.BrokerPartitions, "broker-partitions", c.BrokerPartitions, "partitions of a broker's topic (annotation weft.dev/partitions overrides)")
	fs.IntVar(&c.BrokerReplicationFactor, "broker-replication-factor", c.BrokerReplicationFactor, "replication factor of a broker's topic (-1: cluster default; annotation weft.dev/replication-factor overrides)")
	fs.IntVar(&c.BrokerMaxMessageBytes, "broker-max-message-bytes", c.BrokerMaxMessageBytes, "max.message.bytes of broker topics: the largest event the ingress accepts plus headers (0: cluster default)")
	fs.StringVar(&c.IngressURL, "ingress-url", c.IngressURL, "base URL brokers are addressed at")
	fs.StringVar(&c.ServiceURLTemplate, "service-url-template", c.ServiceURLTemplate, "URL a Service ref resolves to; {name} and {namespace} are replaced")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, `file holding the bearer token gRPC callers must present ("" : no authentication)`)
	fs.StringVar(&c.ConsoleAddr, "console-addr", c.ConsoleAddr, `address of the Event Mesh API (/v1/getEventMesh) and the web console ("" disables)`)
	fs.StringVar(&c.ConsoleTokenFile, "console-token-file", c.ConsoleTokenFile, `file holding the bearer token of --console-addr ("": --auth-token-file's token)`)
	fs.StringVar(&c.AuthTokensFile, "auth-tokens-file", c.AuthTokensFile, `file of bearer tokens with roles, one "role token" a line; roles: admin, viewer (Get/List/Watch), data-plane (WatchContract) ("": none)`)
	fs.StringVar(&c.GRPCTLSCertFile, "grpc-tls-cert-file", c.GRPCTLSCertFile, `PEM certificate (chain) gRPC is served with over TLS; re-read when it changes ("" : plaintext gRPC)`)
	fs.StringVar(&c.GRPCTLSKeyFile, "grpc-tls-key-file", c.GRPCTLSKeyFile, "PEM private key of --grpc-tls-cert-file")
	fs.StringVar(&c.GRPCClientCAFile, "grpc-client-ca-file", c.GRPCClientCAFile, `PEM CA certificates; when set, every gRPC caller (data plane, CLI) must present a client certificate they signed (mTLS; needs --grpc-tls-cert-file)`)
	fs.StringVar(&c.Store, "store", c.Store, "where the resources live: kafka (the state topic, written through the gRPC API) or kubernetes (custom resources; the gRPC API is read-only)")
	fs.StringVar(&c.BrokerClass, "broker-class", c.BrokerClass, "Kubernetes mode: the eventing.knative.dev/broker.class of the Brokers this control plane reconciles")
	fs.BoolVar(&c.DefaultBrokerClass, "default-broker-class", c.DefaultBrokerClass, "Kubernetes mode: also reconcile Brokers without a broker.class annotation")
	fs.BoolVar(&c.LeaderElect, "leader-elect", c.LeaderElect, "Kubernetes mode: elect one reconciling replica with a Lease")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", c.LeaderElectionNamespace, "Kubernetes mode: namespace of the leader-election Lease")
	fs.StringVar(&c.LeaderElectionID, "leader-election-id", c.LeaderElectionID, "Kubernetes mode: name of the leader-election Lease")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, `Kubernetes mode: kubeconfig file ("": in-cluster, or $KUBECONFIG)`)
	fs.BoolVar(&c.OIDCAuthentication, "oidc-authentication", c.OIDCAuthentication, "require OIDC tokens from senders to brokers, channels, sequences, parallels and KafkaSinks, and enforce EventPolicies (Knative's authentication-oidc)")
	fs.StringVar(&c.DefaultAuthorizationMode, "default-authorization-mode", cmp.Or(c.DefaultAuthorizationMode, compile.AuthAllowAll), "with --oidc-authentication, what an addressable no EventPolicy applies to admits: allow-all, allow-same-namespace or deny-all")
	fs.BoolVar(&c.EventTypeAutoCreate, "eventtype-auto-create", c.EventTypeAutoCreate, `register EventTypes for the events sent to brokers and channels (Knative's eventtype-auto-create); the annotation weft.dev/eventtype-auto-create: "true"|"false" overrides it per broker or channel`)
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.HostPort("--grpc-addr", c.GRPCAddr),
		flagcheck.OptionalHostPort("--ops-addr", c.OpsAddr),
		flagcheck.OptionalHostPort("--console-addr", c.ConsoleAddr),
		flagcheck.Required("--state-topic", c.StateTopic),
		flagcheck.Required("--dataplane-topic", c.DataPlaneTopic),
		flagcheck.AtLeast("--broker-partitions", c.BrokerPartitions, 1),
		flagcheck.ReplicationFactor("--broker-replication-factor", c.BrokerReplicationFactor),
		flagcheck.AtLeast("--broker-max-message-bytes", c.BrokerMaxMessageBytes, 0),
		flagcheck.ReplicationFactor("--state-replication-factor", c.StateReplicationFactor),
		flagcheck.URL("--ingress-url", c.IngressURL, "http", "https"),
		flagcheck.OneOf("--store", c.Store, StoreKafka, StoreKubernetes),
		flagcheck.OneOf("--default-authorization-mode", cmp.Or(c.DefaultAuthorizationMode, compile.AuthAllowAll), compile.AuthModes...),
		c.Kafka.Validate(),
	}
	switch {
	case c.GRPCTLSCertFile != "" && c.GRPCTLSKeyFile == "":
		errs = append(errs, flagcheck.Errorf("--grpc-tls-key-file", c.GRPCTLSKeyFile, "be set with --grpc-tls-cert-file"))
	case c.GRPCTLSKeyFile != "" && c.GRPCTLSCertFile == "":
		errs = append(errs, flagcheck.Errorf("--grpc-tls-cert-file", c.GRPCTLSCertFile, "be set with --grpc-tls-key-file"))
	}
	if c.GRPCClientCAFile != "" && c.GRPCTLSCertFile == "" {
		errs = append(errs, flagcheck.Errorf("--grpc-client-ca-file", c.GRPCClientCAFile, "be used with --grpc-tls-cert-file and --grpc-tls-key-file (client certificates need TLS)"))
	}
	if c.Store == StoreKubernetes {
		errs = append(errs, flagcheck.Required("--broker-class", c.BrokerClass))
		if c.LeaderElect {
			errs = append(errs, flagcheck.Required("--leader-election-namespace", c.LeaderElectionNamespace),
				flagcheck.Required("--leader-election-id", c.LeaderElectionID))
		}
	}
	if c.ConsoleAddr != "" && c.ConsoleTokenFile == "" && c.AuthTokenFile == "" {
		errs = append(errs, flagcheck.Errorf("--console-token-file", c.ConsoleTokenFile, "name a token file when --console-addr is set (or set --auth-token-file): the Event Mesh API and the console require a bearer token"))
	}
	if c.DataPlaneTopic != "" && c.DataPlaneTopic == c.StateTopic {
		errs = append(errs, flagcheck.Errorf("--dataplane-topic", c.DataPlaneTopic, "differ from --state-topic"))
	}
	if !strings.Contains(c.ServiceURLTemplate, "{name}") {
		errs = append(errs, flagcheck.Errorf("--service-url-template", c.ServiceURLTemplate, "contain {name}"))
	}
	return flagcheck.Join(errs...)
}

// authTokens reads the token files: --auth-token-file's token is an
// admin's (none when neither file is set: authentication is off).
func (c *Config) authTokens() ([]roleToken, error) {
	tok, err := wire.ReadTokenFile(c.AuthTokenFile)
	if err != nil {
		return nil, fmt.Errorf("--auth-token-file: %w", err)
	}
	var tokens []roleToken
	if c.AuthTokensFile != "" {
		if tokens, err = readTokensFile(c.AuthTokensFile); err != nil {
			return nil, fmt.Errorf("--auth-tokens-file: %w", err)
		}
	}
	if tok != "" {
		for _, t := range tokens {
			if string(t.token) == tok && t.role != RoleAdmin {
				return nil, fmt.Errorf("--auth-tokens-file: the token of --auth-token-file (an admin's) has the role %s there: a token has one role", t.role)
			}
		}
		tokens = append(tokens, roleToken{token: []byte(tok), role: RoleAdmin})
	}
	return tokens, nil
}

// httpToken reads the HTTP port's token: --console-token-file, else
// --auth-token-file ("" when neither is set).
func (c *Config) httpToken() (string, error) {
	file, flag := c.ConsoleTokenFile, "--console-token-file"
	if file == "" {
		file, flag = c.AuthTokenFile, "--auth-token-file"
	}
	if file == "" {
		return "", nil
	}
	tok, err := wire.ReadTokenFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return tok, nil
}

// grpcTLS is the gRPC server's TLS configuration (nil: plaintext).
func (c *Config) grpcTLS(logger *slog.Logger) (*tls.Config, error) {
	if c.GRPCTLSCertFile == "" {
		return nil, nil
	}
	cfg, err := tlsconfig.Server{CertFile: c.GRPCTLSCertFile, KeyFile: c.GRPCTLSKeyFile, ClientCAFile: c.GRPCClientCAFile}.Config(logger)
	if err != nil {
		return nil, fmt.Errorf("gRPC TLS (--grpc-tls-cert-file, --grpc-tls-key-file, --grpc-client-ca-file): %w", err)
	}
	// gRPC adds h2 to a copy of cfg; the copy made when the client CA file
	// changes is of cfg itself (tlsconfig.Server).
	cfg.NextProtos = []string{"h2"}
	return cfg, nil
}
