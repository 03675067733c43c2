// Package console owns the web console the control plane serves on its
// HTTP port: the page (plain ES modules embedded in the binary) and its JSON
// and SSE endpoints under /v1/console/ — the topology graph, per-trigger
// delivery figures from Kafka, a live tail of a broker's or channel's
// events, the event-type catalog and resource detail.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/observability"
)

//go:embed web
var webFS embed.FS

// Backend is the control plane as the console reads it. Objects must be
// safe for concurrent use and must not block on I/O.
type Backend interface {
	// Objects returns every stored object with its status computed, and
	// the state version they were read at. Callers must not modify them.
	Objects() (version uint64, objs []apis.Object)
	// DeliveryFigures returns the delivery counters and rates the
	// dispatchers report, by egress uid (a Trigger's uid); an egress no
	// dispatcher reported on is absent.
	DeliveryFigures() map[string]DeliveryFigures
}

// Config configures a Console.
type Config struct {
	// Kafka is how the console reaches the cluster (tails and lag).
	Kafka kafka.Config
	// MaxTails bounds the live tails served at once (0: 16); one more is
	// refused with 503.
	MaxTails int
	// Logger (nil: discard).
	Logger *slog.Logger
}

// Console serves the web console. Close releases its Kafka client.
type Console struct {
	cfg     Config
	backend Backend
	logger  *slog.Logger
	tails   chan struct{} // a slot per running tail

	statsMu sync.Mutex
	adm     *kadm.Client // lazily made; closed by Close
	admCl   *kgo.Client
	last    *statsSample
	closed  bool
}

// New returns a console reading from b.
func New(b Backend, cfg Config) *Console {
	if cfg.MaxTails <= 0 {
		cfg.MaxTails = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = observability.DiscardLogger()
	}
	return &Console{cfg: cfg, backend: b, logger: cfg.Logger, tails: make(chan struct{}, cfg.MaxTails)}
}

// Close releases the Kafka client the lag figures use.
func (c *Console) Close() {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.closed = true
	if c.admCl != nil {
		c.admCl.Close()
	}
}

// Assets serves the page and its modules (no data in them: served without
// a token).
func Assets() http.Handler {
	sub, _ := fs.Sub(webFS, "web")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		files.ServeHTTP(w, r)
	})
}

// API returns the handler of the /v1/console/ endpoints (the caller puts
// authentication in front of it).
func (c *Console) API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/console/graph", c.graph)
	mux.HandleFunc("GET /v1/console/stats", c.stats)
	mux.HandleFunc("GET /v1/console/catalog", c.catalog)
	mux.HandleFunc("GET /v1/console/resource", c.resource)
	mux.HandleFunc("GET /v1/console/tail", c.tail)
	return mux
}

func (c *Console) graph(w http.ResponseWriter, r *http.Request) {
	v, objs := c.backend.Objects()
	eventmesh.WriteJSON(w, http.StatusOK, BuildGraph(v, objs))
}

func (c *Console) catalog(w http.ResponseWriter, r *http.Request) {
	_, objs := c.backend.Objects()
	eventmesh.WriteJSON(w, http.StatusOK, BuildCatalog(objs))
}

// Resource is a resource's detail.
type Resource struct {
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace"`
	Name       string           `json:"name"`
	Conditions []apis.Condition `json:"conditions"`
	YAML       string           `json:"yaml"`
}

// resource serves ?kind=&namespace=&name= (kind as stored: a node's id part).
func (c *Console) resource(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind, ns, name := q.Get("kind"), q.Get("namespace"), q.Get("name")
	_, objs := c.backend.Objects()
	for _, o := range objs {
		m := o.GetObjectMeta()
		if apis.KindOf(o) != kind || m.Namespace != ns || m.Name != name {
			continue
		}
		if _, secret := o.(*apis.Secret); secret {
			break // never shown
		}
		o = apis.DeepCopy(o)
		for k := range o.GetObjectMeta().Annotations {
			if strings.HasPrefix(k, apis.InternalAnnotationPrefix) {
				delete(o.GetObjectMeta().Annotations, k)
			}
		}
		b, err := apis.Marshal(o)
		if err == nil {
			b, err = yaml.JSONToYAML(b)
		}
		if err != nil {
			eventmesh.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "encode " + kind + " " + ns + "/" + name + ": " + err.Error()})
			return
		}
		conds := o.GetConditions()
		if conds == nil {
			conds = []apis.Condition{}
		}
		eventmesh.WriteJSON(w, http.StatusOK, Resource{Kind: kind, Namespace: ns, Name: name, Conditions: conds, YAML: string(b)})
		return
	}
	eventmesh.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no " + kind + " " + ns + "/" + name + " (kind is the stored kind: Broker, Trigger, Channel, ...)"})
}

// kadmClient returns the admin client, making it on first use.
func (c *Console) kadmClient() (*kadm.Client, error) {
	if c.adm != nil {
		return c.adm, nil
	}
	cl, err := c.cfg.Kafka.NewClient(c.logger)
	if err != nil {
		return nil, err
	}
	c.admCl, c.adm = cl, kadm.NewClient(cl)
	return c.adm, nil
}

// withTimeout bounds a request's Kafka calls.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 5*time.Second)
}

func withTimeoutDur(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
