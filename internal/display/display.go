// Package display owns `weft display`: an HTTP CloudEvents sink that prints
// every event it receives (like Knative's event_display) and can answer with
// a chosen status for the first events, or reply with a new event, for demos
// of retries and reply chains.
package display

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/observability"
)

// Config configures the sink.
type Config struct {
	// Host is the interface to listen on.
	Host string
	// Port to listen on (0 picks a free one).
	Port int
	// FailFirst answers FailStatus to the first FailFirst events.
	FailFirst int
	// FailStatus is the status answered while failing.
	FailStatus int
	// ReplyType, when set, answers every accepted event with a new event of
	// this type (same data) in the response body.
	ReplyType string
	// JSON prints each event as one line of structured-mode JSON.
	JSON bool
	// OnListen, when set, receives the bound address (not a flag).
	OnListen func(net.Addr)
}

// DefaultConfig listens on 127.0.0.1:8080 and answers 202 to everything.
func DefaultConfig() Config {
	return Config{Host: "127.0.0.1", Port: 8080, FailStatus: http.StatusServiceUnavailable}
}

// AddFlags registers the display flags on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Host, "host", c.Host, "interface to listen on")
	fs.IntVar(&c.Port, "port", c.Port, "port to listen on")
	fs.IntVar(&c.FailFirst, "fail-first", c.FailFirst, "answer --fail-status to the first N events")
	fs.IntVar(&c.FailStatus, "fail-status", c.FailStatus, "status answered to the first --fail-first events")
	fs.StringVar(&c.ReplyType, "reply-type", c.ReplyType, "reply to each event with a new event of this type")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print events as JSON lines")
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	return flagcheck.Join(
		flagcheck.Between("--port", c.Port, 0, 65535),
		flagcheck.AtLeast("--fail-first", c.FailFirst, 0),
		flagcheck.Between("--fail-status", c.FailStatus, 100, 599),
	)
}

// Run serves the sink until ctx ends.
func Run(ctx context.Context, cfg Config, stdout io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	return observability.ServeHTTP(ctx, addr, NewHandler(cfg, stdout), 5*time.Second, func(a net.Addr) {
		if cfg.OnListen != nil {
			cfg.OnListen(a)
		}
		if !cfg.JSON {
			fmt.Fprintf(stdout, "weft display: listening on http://%s\n", a)
		}
	})
}

// Handler is the sink; it is safe for concurrent use.
type Handler struct {
	cfg Config
	mu  sync.Mutex // serializes out and seen
	out io.Writer
	// seen counts requests that carried events.
	seen int
}

// NewHandler returns the sink printing to out.
func NewHandler(cfg Config, out io.Writer) *Handler {
	return &Handler{cfg: cfg, out: out}
}

// ServeHTTP accepts binary, structured and batched CloudEvents.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST CloudEvents here", http.StatusMethodNotAllowed)
		return
	}
	var events []event.Event
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents-batch+json") {
		evs, err := cehttp.NewEventsFromHTTPRequest(r)
		if err != nil {
			http.Error(w, "read batch: "+err.Error(), http.StatusBadRequest)
			return
		}
		events = evs
	} else {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, "read event: "+err.Error(), http.StatusBadRequest)
			return
		}
		events = []event.Event{*ev}
	}

	h.mu.Lock()
	h.seen++
	n := h.seen
	for i := range events {
		h.print(&events[i])
	}
	fail := n <= h.cfg.FailFirst
	if fail {
		fmt.Fprintf(h.out, "-> answered %d (failure %d of %d)\n", h.cfg.FailStatus, n, h.cfg.FailFirst)
	}
	h.mu.Unlock()

	if fail {
		w.WriteHeader(h.cfg.FailStatus)
		return
	}
	if h.cfg.ReplyType != "" && len(events) == 1 {
		reply := newReply(&events[0], h.cfg.ReplyType)
		if err := cehttp.WriteResponseWriter(r.Context(), (*binding.EventMessage)(reply), http.StatusOK, w); err != nil {
			http.Error(w, "write reply: "+err.Error(), http.StatusInternalServerError)
		}
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *Handler) print(ev *event.Event) {
	if h.cfg.JSON {
		b, err := json.Marshal(ev)
		if err != nil {
			fmt.Fprintf(h.out, "{\"error\":%q}\n", err.Error())
			return
		}
		h.out.Write(append(b, '\n'))
		return
	}
	io.WriteString(h.out, ev.String())
}

func newReply(in *event.Event, typ string) *event.Event {
	out := event.New()
	out.SetID(uuid.NewString())
	out.SetSource("weft/display")
	out.SetType(typ)
	out.SetTime(time.Now())
	if in.Data() != nil {
		_ = out.SetData(in.DataContentType(), in.Data())
	}
	if pk, ok := in.Extensions()["partitionkey"]; ok {
		out.SetExtension("partitionkey", pk)
	}
	return &out
}
