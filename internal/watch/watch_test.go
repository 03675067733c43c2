package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
)

func produce(t *testing.T, cl *kgo.Client, topic string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		e := event.New()
		e.SetID(id)
		e.SetSource("/watch-test")
		e.SetType("greeting")
		_ = e.SetData("text/plain", []byte("hi "+id))
		r, err := cekafka.ToRecord(topic, &e)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// A record that is not a CloudEvent is skipped, not fatal.
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte("junk")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitOutput waits until out holds every one of wants, failing at once
// when Run returns early.
func waitOutput(t *testing.T, out *testutil.SyncBuffer, errc <-chan error, wants ...string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, "watch output", func() (bool, string) {
		select {
		case err := <-errc:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		got := out.String()
		for _, w := range wants {
			if !strings.Contains(got, w) {
				return false, fmt.Sprintf("output lacks %q:\n%s", w, got)
			}
		}
		return true, ""
	})
}

func TestWatch(t *testing.T) {
	k := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(k)
	cl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topic := "weft.broker.ns1.default"
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, topic, "before-1", "before-2")

	tests := map[string]struct {
		fromBeginning bool
		output        string
		want          []string
		notWant       string
	}{
		"live only": {output: "text", want: []string{"id: live-1", "source: /watch-test"}, notWant: "before-1"},
		"from the beginning as json": {
			fromBeginning: true, output: "json",
			want: []string{`"id":"before-1"`, `"id":"before-2"`, `"id":"live-1"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := DefaultConfig()
			cfg.Broker, cfg.Namespace, cfg.Kafka = "default", "ns1", kcfg
			cfg.FromBeginning, cfg.Output = tc.fromBeginning, tc.output
			started := make(chan struct{})
			cfg.OnStart = func() { close(started) }
			var out testutil.SyncBuffer
			errc := make(chan error, 1)
			go func() { errc <- Run(ctx, cfg, &out) }()
			select {
			case <-started:
			case err := <-errc:
				t.Fatalf("Run: %v", err)
			}
			produce(t, cl, topic, "live-1")
			waitOutput(t, &out, errc, tc.want...)
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
			if tc.notWant != "" && strings.Contains(out.String(), tc.notWant) {
				t.Errorf("live watch printed an older event %q", tc.notWant)
			}
		})
	}
}

func TestWatchMissingTopic(t *testing.T) {
	k := testutil.StartKafka(t)
	cfg := DefaultConfig()
	cfg.Broker, cfg.Kafka = "nope", testutil.KafkaConfig(k)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := Run(ctx, cfg, &testutil.SyncBuffer{})
	if !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("Run = %v, want ErrTopicNotFound", err)
	}
}
