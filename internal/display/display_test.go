package display

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weft-dev/weft/internal/testutil"
)

func testEvent(id string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetSource("/test")
	e.SetType("greeting")
	e.SetExtension("myext", "v1")
	_ = e.SetData("application/json", map[string]string{"msg": "hello"})
	return e
}

func post(t *testing.T, url string, e event.Event) *http.Response {
	t.Helper()
	req, err := cehttp.NewHTTPRequestFromEvent(context.Background(), url, e)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandler(t *testing.T) {
	tests := map[string]struct {
		cfg      Config
		statuses []int
		want     []string
	}{
		"prints attributes, extensions and data": {
			cfg:      DefaultConfig(),
			statuses: []int{http.StatusAccepted},
			want:     []string{"type: greeting", "source: /test", "id: e1", "myext: v1", `"msg": "hello"`},
		},
		"fails the first events": {
			cfg:      Config{FailFirst: 2, FailStatus: 503},
			statuses: []int{503, 503, http.StatusAccepted},
			want:     []string{"answered 503 (failure 1 of 2)", "answered 503 (failure 2 of 2)"},
		},
		"json lines": {
			cfg:      Config{JSON: true, FailStatus: 503},
			statuses: []int{http.StatusAccepted},
			want:     []string{`"type":"greeting"`, `"myext":"v1"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out testutil.SyncBuffer
			srv := httptest.NewServer(NewHandler(tc.cfg, &out))
			defer srv.Close()
			for i, want := range tc.statuses {
				resp := post(t, srv.URL, testEvent("e1"))
				if resp.StatusCode != want {
					t.Fatalf("request %d: status %d, want %d", i+1, resp.StatusCode, want)
				}
			}
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if tc.cfg.JSON {
				var m map[string]any
				if err := json.Unmarshal([]byte(strings.TrimSpace(got)), &m); err != nil {
					t.Errorf("output is not one JSON line: %v\n%s", err, got)
				}
			}
		})
	}
}

func TestHandlerReply(t *testing.T) {
	var out testutil.SyncBuffer
	srv := httptest.NewServer(NewHandler(Config{ReplyType: "greeting.reply", FailStatus: 503}, &out))
	defer srv.Close()
	resp := post(t, srv.URL, testEvent("e1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	reply, err := cehttp.NewEventFromHTTPResponse(resp)
	if err != nil {
		t.Fatalf("response is not an event: %v", err)
	}
	if reply.Type() != "greeting.reply" || reply.ID() == "e1" || !strings.Contains(string(reply.Data()), "hello") {
		t.Errorf("reply = %s", reply)
	}
}

func TestHandlerRejects(t *testing.T) {
	srv := httptest.NewServer(NewHandler(DefaultConfig(), &testutil.SyncBuffer{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("not an event"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-event: status %d, want 400", resp.StatusCode)
	}
}

func TestHandlerBatch(t *testing.T) {
	var out testutil.SyncBuffer
	srv := httptest.NewServer(NewHandler(DefaultConfig(), &out))
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), srv.URL, []event.Event{testEvent("b1"), testEvent("b2")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := out.String(); !strings.Contains(got, "id: b1") || !strings.Contains(got, "id: b2") {
		t.Errorf("output lacks the batch:\n%s", got)
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	cfg := DefaultConfig()
	cfg.Port = 0
	cfg.OnListen = func(a net.Addr) { addrc <- a }
	var out testutil.SyncBuffer
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, &out) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not listen")
	}
	resp := post(t, "http://"+addr.String(), testEvent("r1"))
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
	if !strings.Contains(out.String(), "id: r1") {
		t.Errorf("output lacks the event:\n%s", out.String())
	}
}

func TestValidate(t *testing.T) {
	for name, cfg := range map[string]Config{
		"port":        {Port: 70000, FailStatus: 503},
		"fail-first":  {FailFirst: -1, FailStatus: 503},
		"fail-status": {FailStatus: 42},
	} {
		t.Run(name, func(t *testing.T) {
			if err := cfg.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}
