package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// EventType auto-registration through `weft dev`: the walk-through's Broker
// with weft.dev/eventtype-auto-create: "true", its three events sent
// several times each, and `weft eventtype list` shows one EventType per
// (type, source): greeting and not-greeting with their sources, each once.
func TestEventTypesAutoCreatedThroughWeftDev(t *testing.T) {
	sub := newSubscriber(t)
	d := startDev(t, sub.srv.URL+"/{name}")
	manifest, err := os.ReadFile(filepath.Join("..", "..", "pkg", "apis", "testdata", "walkthrough.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	auto := strings.Replace(string(manifest), "  name: default\n  namespace: event-example\n",
		"  name: default\n  namespace: event-example\n  annotations:\n    weft.dev/eventtype-auto-create: \"true\"\n", 1)
	if auto == string(manifest) {
		t.Fatal("the walk-through's Broker was not found")
	}
	weftCLI(t, d.grpc, auto, "apply", "-f", "-")
	waitReady(t, d.grpc, "event-example", 2)

	url := d.url("event-example", "default")
	for range 5 {
		for _, code := range []int{
			post(t, url, "say-hello", "greeting", "not-sendoff", `{"msg":"Hello Knative!"}`),
			post(t, url, "say-goodbye", "not-greeting", "sendoff", `{"msg":"Goodbye Knative!"}`),
			postStructured(t, url, "say-hello-goodbye", "greeting", "sendoff"),
		} {
			if code != http.StatusAccepted {
				t.Fatalf("post: %d", code)
			}
		}
	}
	want := []string{"greeting not-sendoff", "greeting sendoff", "not-greeting sendoff"}
	var rows []string
	testutil.Eventually(t, 30*time.Second, "the three EventTypes, Ready", func() (bool, string) {
		out := weftCLI(t, d.grpc, "", "eventtype", "list", "-n", "event-example")
		rows = nil
		ready := true
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			// NAME TYPE SOURCE REFERENCE-NAME REFERENCE-KIND DESCRIPTION... READY
			if len(f) < 5 || !strings.HasPrefix(f[0], "et-default-") || f[3] != "default" || f[4] != "Broker" {
				return false, out
			}
			rows = append(rows, f[1]+" "+f[2])
			ready = ready && f[len(f)-1] == "True"
		}
		slices.Sort(rows)
		return ready && slices.Equal(rows, want), out
	})
	// Sent again, nothing new: the set of EventTypes stays as it is.
	post(t, url, "again", "greeting", "not-sendoff", `{}`)
	post(t, url, "last", "last", "/last", `{}`)
	testutil.Eventually(t, 30*time.Second, "the last event's EventType", func() (bool, string) {
		out := weftCLI(t, d.grpc, "", "get", "eventtypes", "-n", "event-example")
		return strings.Count(out, "et-default-") == 4 && strings.Contains(out, " last "), out
	})
	out := weftCLI(t, d.grpc, "", "eventtype", "list", "-n", "event-example")
	for _, w := range want {
		f := strings.Fields(w)
		if n := countRows(out, f[0], f[1]); n != 1 {
			t.Errorf("%s listed %d times:\n%s", w, n, out)
		}
	}
}

// countRows counts the table rows whose TYPE and SOURCE are typ and source.
func countRows(table, typ, source string) int {
	n := 0
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == typ && f[2] == source {
			n++
		}
	}
	return n
}
