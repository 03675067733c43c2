package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/cekafka"
)

// The raw consume, POST loop POSTs each record once to each of posts paths
// and counts a record only once all its POSTs were answered 2xx: events
// fully delivered, not POSTs. A warm-up event is neither POSTed nor counted.
func TestRawDeliverPosts(t *testing.T) {
	srv, cl, ctx := startTestKafka(t)
	const topic, records, posts = "weft.bench.deliver.test", 20, 3
	if err := createTopic(ctx, cl, topic, 3); err != nil {
		t.Fatal(err)
	}
	failing := map[string]bool{} // ids whose second POST is refused
	for i := range records {
		e := event.New()
		e.SetID(fmt.Sprintf("r-%d", i))
		e.SetType("type-00")
		e.SetSource("weft-bench")
		if err := e.SetData("application/json", payload(64)); err != nil {
			t.Fatal(err)
		}
		rec, err := cekafka.ToRecord(topic, &e)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			failing[e.ID()] = true
		}
	}

	warm := event.New() // produced by the bench's warm-up: never delivered
	warm.SetID(warmupID)
	warm.SetType("warmup")
	warm.SetSource("weft-bench")
	rec, err := cekafka.ToRecord(topic, &warm)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}

	sub := &subscriber{seen: map[string]int{}}
	var mu sync.Mutex
	paths := map[string]int{} // path -> POSTs answered 200
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/floor-1" && failing[r.Header.Get("Ce-Id")] {
			http.Error(w, "refused", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		sub.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)

	n, elapsed, err := rawDeliverCount(ctx, srv.Addr(), topic, strings.TrimPrefix(hs.URL, "http://"), posts, 4, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(records - len(failing)); n != want {
		t.Errorf("%d records delivered %d times, want %d", n, posts, want)
	}
	if elapsed < 2*time.Second {
		t.Errorf("ran %s, want the whole 2s", elapsed)
	}
	mu.Lock()
	defer mu.Unlock()
	ok := records - len(failing)
	// A refused POST ends the record's delivery: its third is never sent.
	if want := map[string]int{"/floor-0": records, "/floor-1": ok, "/floor-2": ok}; fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("POSTs answered per path %v, want %v", paths, want)
	}
	if got, want := sub.others.Load(), int64(records+2*ok); got != want {
		t.Errorf("the subscriber counted %d deliveries, want %d", got, want)
	}

	if _, _, err := rawDeliverCount(ctx, srv.Addr(), topic, "127.0.0.1:1", 0, 4, time.Second); err == nil || !strings.Contains(err.Error(), "0 POSTs per record, want at least 1") {
		t.Errorf("posts 0: %v, want an error about the POSTs per record", err)
	}
}

// The POSTs per event of the floor follow the mesh: trigger i matches
// type-(i mod 100) of 100 types, so n triggers add n/100 deliveries per
// event on average, rounded to whole POSTs.
func TestPostsPerEvent(t *testing.T) {
	got := postsPerEvent([]int{0, 1, 10, 49, 50, 100, 150, 1000})
	if want := []int{1, 1, 1, 1, 2, 2, 3, 11}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("postsPerEvent = %v, want %v", got, want)
	}
}
