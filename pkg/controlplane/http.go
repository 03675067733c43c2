package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/console"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
)

// The HTTP port (Config.ConsoleAddr): the Knative Event Mesh API
// (GET /v1/getEventMesh) and the web console (/ and /v1/console/...),
// every API call behind the bearer token (eventmesh.RequireToken).

// WithHTTPListener serves the HTTP port on ln instead of listening on
// cfg.ConsoleAddr (which may then be empty).
func WithHTTPListener(ln net.Listener) Option { return func(s *Server) { s.httpLn = ln } }

// WithHTTPToken sets the HTTP port's bearer token instead of reading
// --console-token-file (weft dev makes one per run).
func WithHTTPToken(token string) Option { return func(s *Server) { s.httpToken = token } }

// setupHTTP binds the HTTP port when it is configured.
func (s *Server) setupHTTP() error {
	if s.httpLn == nil && s.cfg.ConsoleAddr == "" {
		return nil
	}
	if s.httpToken == "" {
		tok, err := s.cfg.httpToken()
		if err != nil {
			return err
		}
		if tok == "" {
			return fmt.Errorf("--console-addr %s: the HTTP port needs a bearer token: set --console-token-file (or --auth-token-file)", s.cfg.ConsoleAddr)
		}
		s.httpToken = tok
	}
	if s.httpLn == nil {
		ln, err := net.Listen("tcp", s.cfg.ConsoleAddr)
		if err != nil {
			return fmt.Errorf("listen on --console-addr %s: %w", s.cfg.ConsoleAddr, err)
		}
		s.httpLn = ln
	}
	s.console = console.New(s, console.Config{Kafka: s.cfg.Kafka, Logger: s.logger})
	return nil
}

// HTTPAddr is the bound address of the HTTP port ("" when off).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Objects implements console.Backend: every stored object with its status.
func (s *Server) Objects() (uint64, []apis.Object) {
	st := s.store.Snapshot()
	objs := st.List("", "")
	for i, o := range objs {
		objs[i] = s.withStatus(o)
	}
	return st.Version, objs
}

// DeliveryFigures implements console.Backend: the delivery counters and
// rates of every egress, by uid, from the dispatchers connected to this
// replica.
func (s *Server) DeliveryFigures() map[string]console.DeliveryFigures {
	return s.pub.stats.figures(time.Now())
}

// httpHandler routes the HTTP port.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mesh := eventmesh.Handler(func() []apis.Object { return s.store.Snapshot().List("", "") })
	mux.Handle("GET /v1/getEventMesh", eventmesh.RequireToken(s.httpToken, mesh))
	mux.Handle("GET /v1/console/", eventmesh.RequireToken(s.httpToken, s.console.API()))
	mux.Handle("GET /", console.Assets())
	return mux
}

// serveHTTP serves the HTTP port until ctx ends; open streams (live tails)
// end with ctx.
func (s *Server) serveHTTP(ctx context.Context) error {
	srv := &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.httpLn) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", s.httpLn.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down http on %s: %w", s.httpLn.Addr(), err)
	}
	return nil
}
