package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// subscriber is a real HTTP CloudEvents sink that records what it receives,
// per path, in arrival order.
type subscriber struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]received
	// respond, when set, chooses the status for a request (default 200).
	respond func(path string, id string, n int) int
	// replyType maps a path to the type of the reply event it answers with.
	replyType map[string]string
}

type received struct {
	ID, Type, Source string
	Ext              map[string]any
	Data             []byte
	Traceparent      string // the request's W3C traceparent header
}

func newSubscriber(t *testing.T) *subscriber {
	s := &subscriber{got: map[string][]received{}, replyType: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) serve(w http.ResponseWriter, r *http.Request) {
	ev, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := 0
	for _, g := range s.got[r.URL.Path] {
		if g.ID == ev.ID() {
			n++
		}
	}
	code := http.StatusOK
	if s.respond != nil {
		code = s.respond(r.URL.Path, ev.ID(), n)
	}
	if code/100 == 2 {
		s.got[r.URL.Path] = append(s.got[r.URL.Path], received{ID: ev.ID(), Type: ev.Type(), Source: ev.Source(), Ext: ev.Extensions(), Data: ev.Data(),
			Traceparent: r.Header.Get("Traceparent")})
	}
	reply := s.replyType[r.URL.Path]
	s.mu.Unlock()
	if reply != "" && code == http.StatusOK {
		h := w.Header()
		h.Set("Ce-Id", "reply-to-"+ev.ID())
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Type", reply)
		h.Set("Ce-Source", "e2e-replier")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"in-reply-to":%q}`, ev.ID())
		return
	}
	w.WriteHeader(code)
	if code/100 != 2 {
		fmt.Fprintf(w, "subscriber says %d", code)
	}
}

// ids returns the ids received at path, sorted.
func (s *subscriber) ids(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, g := range s.got[path] {
		ids = append(ids, g.ID)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// count returns how many events and distinct ids arrived at path.
func (s *subscriber) count(path string) (total, distinct int, dups map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]int{}
	for _, g := range s.got[path] {
		seen[g.ID]++
	}
	dups = map[string]int{}
	for id, n := range seen {
		if n > 1 {
			dups[id] = n
		}
	}
	return len(s.got[path]), len(seen), dups
}

func (s *subscriber) list(path string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got[path]...)
}
