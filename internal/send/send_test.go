package send_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/send"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// captured is one request received by the test server.
type captured struct {
	path   string
	header http.Header
	body   []byte
}

// recorder is a real HTTP server that answers code and body and remembers
// what it received.
func recorder(t *testing.T, code int, body string) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.URL.Path, r.Header.Clone(), b})
		mu.Unlock()
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs, func() []captured { mu.Lock(); defer mu.Unlock(); return append([]captured(nil), got...) }
}

func parse(t *testing.T, args ...string) send.Config {
	t.Helper()
	cfg := send.DefaultConfig()
	fs := pflag.NewFlagSet("send", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSendBinary(t *testing.T) {
	hs, got := recorder(t, http.StatusAccepted, "event stored\n")
	cfg := parse(t, "--ingress", hs.URL, "-n", "ns1", "--broker", "b1", "--type", "com.example.t", "--source", "/me",
		"--id", "id-1", "--subject", "sub", "--data", `{"a":1}`, "--extension", "myext=x=y", "--extension", "other=2")
	var stdout, stderr bytes.Buffer
	if err := send.Run(context.Background(), cfg, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if want := "202 Accepted: event id-1 sent to " + hs.URL + "/ns1/b1\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "id-1", "Ce-Source": "/me", "Ce-Type": "com.example.t", "Ce-Subject": "sub",
		"Ce-Myext": "x=y", "Ce-Other": "2", "Content-Type": "application/json",
	} {
		if r.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, r.header.Get(k), v)
		}
	}
	if r.header.Get("Ce-Time") == "" {
		t.Error("no Ce-Time")
	}
	if r.path != "/ns1/b1" || string(r.body) != `{"a":1}` {
		t.Errorf("posted %s %q", r.path, r.body)
	}
}

func TestSendStructured(t *testing.T) {
	hs, got := recorder(t, http.StatusAccepted, "")
	dataFile := filepath.Join(t.TempDir(), "data.bin")
	data := []byte{0, 1, 2, 0xff}
	if err := os.WriteFile(dataFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, "--url", hs.URL+"/any/where", "--type", "t", "--data-file", dataFile, "--mode", "structured")
	var stdout bytes.Buffer
	if err := send.Run(context.Background(), cfg, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.path != "/any/where" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/cloudevents+json") {
		t.Fatalf("posted %s with %q", r.path, r.header.Get("Content-Type"))
	}
	var ev map[string]any
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatal(err)
	}
	id, _ := ev["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("default id %q is not a UUID", id)
	}
	if ev["type"] != "t" || ev["source"] != "weft-send" || ev["datacontenttype"] != "application/octet-stream" || ev["data_base64"] != "AAEC/w==" {
		t.Errorf("structured event %v", ev)
	}
	if !strings.Contains(stdout.String(), "event "+id+" sent to") {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestSendFailure(t *testing.T) {
	for _, tc := range []struct {
		code      int
		body      string
		wantInErr []string
	}{
		{404, "no such broker at /default/b\n", []string{"404 Not Found", "no such broker at /default/b"}},
		{400, "not a valid CloudEvent: type: MUST be a non-empty string\n", []string{"400 Bad Request", "type: MUST"}},
		{503, "kafka is unreachable\n", []string{"503 Service Unavailable", "kafka is unreachable"}},
		{500, "", []string{"500 Internal Server Error", "(no body)"}},
	} {
		hs, _ := recorder(t, tc.code, tc.body)
		cfg := parse(t, "--ingress", hs.URL, "--broker", "b", "--type", "t", "--id", "e1")
		var stdout, stderr bytes.Buffer
		err := send.Run(context.Background(), cfg, &stdout, &stderr)
		if err == nil {
			t.Fatalf("%d: no error", tc.code)
		}
		for _, w := range append(tc.wantInErr, "e1", hs.URL+"/default/b") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%d: error %q lacks %q", tc.code, err, w)
			}
		}
		if stdout.Len() != 0 {
			t.Errorf("%d: stdout %q on failure", tc.code, stdout.String())
		}
		if tc.code == 503 && !strings.Contains(stderr.String(), "retry after 1") {
			t.Errorf("503: stderr %q lacks the Retry-After hint", stderr.String())
		}
	}

	// Nobody listening.
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	cfg := parse(t, "--url", url, "--type", "t", "--timeout", "2s")
	if err := send.Run(context.Background(), cfg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("unreachable: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--broker", "b"}, "--type"},
		{[]string{"--type", "t"}, "--broker"},
		{[]string{"--type", "t", "--broker", "b", "-n", ""}, "--namespace"},
		{[]string{"--type", "t", "--broker", "b", "--ingress", "localhost:8080"}, "--ingress"},
		{[]string{"--type", "t", "--url", "ftp://x/y"}, "--url"},
		{[]string{"--type", "t", "--broker", "b", "--data", "x", "--data-file", "f"}, "--data"},
		{[]string{"--type", "t", "--broker", "b", "--extension", "novalue"}, "--extension"},
		{[]string{"--type", "t", "--broker", "b", "--extension", "Bad-Name=v"}, "--extension"},
		{[]string{"--type", "t", "--broker", "b", "--mode", "batch"}, "--mode"},
		{[]string{"--type", "t", "--broker", "b", "--timeout", "0s"}, "--timeout"},
		{[]string{"--type", "t", "--broker", "b", "--source", ""}, "--source"},
	} {
		cfg := parse(t, tc.args...)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	cfg := parse(t, "--type", "t", "--broker", "b")
	if err := cfg.Validate(); err != nil {
		t.Errorf("minimal flags: %v", err)
	}
	if got := cfg.Target(); got != "http://127.0.0.1:8080/default/b" {
		t.Errorf("default target %s", got)
	}
	cfg = parse(t, "--type", "t", "--broker", "b", "--data-file", filepath.Join(t.TempDir(), "missing"))
	if err := send.Run(context.Background(), cfg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--data-file") {
		t.Errorf("missing data file: %v", err)
	}
}

// TestSendToIngress sends through the real ingress into a Kafka-protocol
// server, in both modes, and to a broker that does not exist.
func TestSendToIngress(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const topic = "weft.broker.default.send"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	icfg := ingress.DefaultConfig()
	icfg.Kafka = kcfg
	icfg.ControlPlane, icfg.OpsAddr = "", ""
	in, err := ingress.New(icfg, ingress.WithLogger(observability.DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.ApplyContract(ctx, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		{Kind: "Broker", Namespace: "default", Name: "send", Path: "/default/send", Topic: topic},
	}}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(in.Handler())
	defer hs.Close()

	for _, mode := range []string{"binary", "structured"} {
		cfg := parse(t, "--ingress", hs.URL, "--broker", "send", "--type", "dev.weft.test", "--id", mode,
			"--data", `{"hello":"world"}`, "--extension", "partitionkey=k1", "--mode", mode)
		var stdout bytes.Buffer
		if err := send.Run(ctx, cfg, &stdout, io.Discard); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !strings.HasPrefix(stdout.String(), "202 Accepted: event "+mode+" sent to ") {
			t.Errorf("%s: stdout %q", mode, stdout.String())
		}
	}
	cfg := parse(t, "--ingress", hs.URL, "--broker", "nope", "--type", "t")
	err = send.Run(ctx, cfg, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: no such broker at /default/nope") {
		t.Errorf("unknown broker: %v", err)
	}

	consumer, err := kcfg.NewClient(nil, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got []*kgo.Record
	for len(got) < 2 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records", len(got))
		}
		got = append(got, fs.Records()...)
	}
	for i, mode := range []string{"binary", "structured"} {
		e, err := cekafka.FromRecord(got[i])
		if err != nil {
			t.Fatal(err)
		}
		if e.ID() != mode || e.Type() != "dev.weft.test" || string(e.Data()) != `{"hello":"world"}` ||
			e.DataContentType() != "application/json" || string(got[i].Key) != "k1" {
			t.Errorf("%s: stored %v key %q", mode, e, got[i].Key)
		}
	}
}
