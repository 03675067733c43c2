package controlplane

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/kafka"
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
	// AuthTokenFile, when set, holds the bearer token every gRPC call must carry.
	AuthTokenFile string
	Kafka         kafka.Config

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
	fs.StringVar(&c.Store, "store", c.Store, "where the resources live: kafka (the state topic, written through the gRPC API) or kubernetes (custom resources; the gRPC API is read-only)")
	fs.StringVar(&c.BrokerClass, "broker-class", c.BrokerClass, "Kubernetes mode: the eventing.knative.dev/broker.class of the Brokers this control plane reconciles")
	fs.BoolVar(&c.DefaultBrokerClass, "default-broker-class", c.DefaultBrokerClass, "Kubernetes mode: also reconcile Brokers without a broker.class annotation")
	fs.BoolVar(&c.LeaderElect, "leader-elect", c.LeaderElect, "Kubernetes mode: elect one reconciling replica with a Lease")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", c.LeaderElectionNamespace, "Kubernetes mode: namespace of the leader-election Lease")
	fs.StringVar(&c.LeaderElectionID, "leader-election-id", c.LeaderElectionID, "Kubernetes mode: name of the leader-election Lease")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, `Kubernetes mode: kubeconfig file ("": in-cluster, or $KUBECONFIG)`)
	fs.BoolVar(&c.EventTypeAutoCreate, "eventtype-auto-create", c.EventTypeAutoCreate, `register EventTypes for the events sent to brokers and channels (Knative's eventtype-auto-create); the annotation weft.dev/eventtype-auto-create: "true"|"false" overrides it per broker or channel`)
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.HostPort("--grpc-addr", c.GRPCAddr),
		flagcheck.OptionalHostPort("--ops-addr", c.OpsAddr),
		flagcheck.Required("--state-topic", c.StateTopic),
		flagcheck.Required("--dataplane-topic", c.DataPlaneTopic),
		flagcheck.AtLeast("--broker-partitions", c.BrokerPartitions, 1),
		flagcheck.ReplicationFactor("--broker-replication-factor", c.BrokerReplicationFactor),
		flagcheck.AtLeast("--broker-max-message-bytes", c.BrokerMaxMessageBytes, 0),
		flagcheck.ReplicationFactor("--state-replication-factor", c.StateReplicationFactor),
		flagcheck.URL("--ingress-url", c.IngressURL, "http", "https"),
		flagcheck.OneOf("--store", c.Store, StoreKafka, StoreKubernetes),
		c.Kafka.Validate(),
	}
	if c.Store == StoreKubernetes {
		errs = append(errs, flagcheck.Required("--broker-class", c.BrokerClass))
		if c.LeaderElect {
			errs = append(errs, flagcheck.Required("--leader-election-namespace", c.LeaderElectionNamespace),
				flagcheck.Required("--leader-election-id", c.LeaderElectionID))
		}
	}
	if c.DataPlaneTopic != "" && c.DataPlaneTopic == c.StateTopic {
		errs = append(errs, flagcheck.Errorf("--dataplane-topic", c.DataPlaneTopic, "differ from --state-topic"))
	}
	if !strings.Contains(c.ServiceURLTemplate, "{name}") {
		errs = append(errs, flagcheck.Errorf("--service-url-template", c.ServiceURLTemplate, "contain {name}"))
	}
	return flagcheck.Join(errs...)
}

// authToken reads the token file ("" when auth is off).
func (c *Config) authToken() (string, error) {
	tok, err := wire.ReadTokenFile(c.AuthTokenFile)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	return tok, nil
}
