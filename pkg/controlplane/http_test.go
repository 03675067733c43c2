package controlplane

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/controlplane/console"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func httpGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestHTTPPort runs the Event Mesh API and the console's endpoints on a
// control plane holding the walk-through, and tails the broker's topic.
func TestHTTPPort(t *testing.T) {
	k := testutil.StartKafka(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("console-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, k, func(c *Config) { c.ConsoleAddr = "127.0.0.1:0"; c.ConsoleTokenFile = tokenFile })
	base := "http://" + r.srv.HTTPAddr()
	walk, err := os.ReadFile("../apis/testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, string(walk))}); err != nil {
		t.Fatal(err)
	}

	t.Run("auth", func(t *testing.T) {
		if code, body := httpGet(t, base+"/v1/getEventMesh", ""); code != 401 || string(body) != eventmesh.MissingTokenMessage+"\n" {
			t.Errorf("no token: %d %q", code, body)
		}
		if code, body := httpGet(t, base+"/v1/console/graph", "wrong"); code != 401 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("wrong token: %d %q", code, body)
		}
		if code, body := httpGet(t, base+"/", ""); code != 200 || !strings.Contains(string(body), `<svg id="graph"`) {
			t.Errorf("page: %d %.80q", code, body)
		}
	})

	t.Run("getEventMesh", func(t *testing.T) {
		code, body := httpGet(t, base+"/v1/getEventMesh", "console-token")
		var m eventmesh.EventMesh
		if err := json.Unmarshal(body, &m); code != 200 || err != nil {
			t.Fatalf("%d %v %s", code, err, body)
		}
		if len(m.Brokers) != 1 || m.Brokers[0].Name != "default" || m.Brokers[0].UID == "" || len(m.EventTypes) != 0 {
			t.Errorf("mesh = %s", body)
		}
	})

	t.Run("graph", func(t *testing.T) {
		testutil.Eventually(t, 20*time.Second, "the walk-through's graph", func() (bool, string) {
			_, body := httpGet(t, base+"/v1/console/graph", "console-token")
			var g console.Graph
			if err := json.Unmarshal(body, &g); err != nil {
				return false, err.Error()
			}
			edges := map[string]bool{}
			for _, e := range g.Edges {
				edges[e.From+" -> "+e.To] = true
			}
			for _, want := range []string{
				"Broker/event-example/default -> Trigger/event-example/hello-display",
				"Broker/event-example/default -> Trigger/event-example/goodbye-display",
				"Trigger/event-example/hello-display -> ref:Service/event-example/hello-display",
				"Trigger/event-example/goodbye-display -> ref:Service/event-example/goodbye-display",
			} {
				if !edges[want] {
					return false, "no edge " + want + " in " + string(body)
				}
			}
			return true, ""
		})
	})

	t.Run("resource", func(t *testing.T) {
		code, body := httpGet(t, base+"/v1/console/resource?kind=Trigger&namespace=event-example&name=hello-display", "console-token")
		var res console.Resource
		if err := json.Unmarshal(body, &res); code != 200 || err != nil || !strings.Contains(res.YAML, "type: greeting") || len(res.Conditions) == 0 {
			t.Errorf("%d %v %s", code, err, body)
		}
		if code, _ := httpGet(t, base+"/v1/console/resource?kind=Trigger&namespace=event-example&name=nope", "console-token"); code != 404 {
			t.Errorf("missing resource: %d", code)
		}
	})

	t.Run("stats", func(t *testing.T) {
		code, body := httpGet(t, base+"/v1/console/stats", "console-token")
		var s console.Stats
		if err := json.Unmarshal(body, &s); code != 200 || err != nil || len(s.Triggers) != 2 || s.Note == "" {
			t.Errorf("%d %v %s", code, err, body)
		}
	})

	t.Run("tail", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(tctx, http.MethodGet, base+"/v1/console/tail?namespace=event-example&name=default&type=greeting", nil)
		req.Header.Set("Authorization", "Bearer console-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		lines := bufio.NewScanner(resp.Body)
		next := func(prefix string) string {
			for lines.Scan() {
				if strings.HasPrefix(lines.Text(), prefix) {
					return lines.Text()
				}
			}
			t.Fatalf("stream ended before %q: %v", prefix, lines.Err())
			return ""
		}
		next("event: ready")
		kcfg := testutil.KafkaConfig(k)
		cl, err := kcfg.NewClient(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for _, typ := range []string{"not-greeting", "greeting"} {
			e := cloudevent.New()
			e.SetID("id-" + typ)
			e.SetType(typ)
			e.SetSource("sendoff")
			_ = e.SetData("application/json", map[string]string{"msg": "hi"})
			rec, err := cekafka.ToRecord(wire.BrokerTopic("event-example", "default"), &e)
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		next("event: event")
		var te console.TailEvent
		if err := json.Unmarshal([]byte(strings.TrimPrefix(next("data: "), "data: ")), &te); err != nil || te.ID != "id-greeting" || te.Data != `{"msg":"hi"}` {
			t.Errorf("tail event %+v %v (the not-greeting one must be filtered out)", te, err)
		}
	})
}

func TestHTTPAddrNeedsToken(t *testing.T) {
	c := DefaultConfig()
	c.ConsoleAddr = "127.0.0.1:0"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "--console-token-file") {
		t.Fatalf("Validate = %v, want an error naming --console-token-file", err)
	}
	c.AuthTokenFile = "/some/file"
	if err := c.Validate(); err != nil {
		t.Fatalf("with --auth-token-file: %v", err)
	}
}
