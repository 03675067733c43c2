package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
)

// ServeBare is the HTTP ceiling: a plain net/http server that reads each
// request and answers 202, doing nothing else. `weft bench bare-server` runs
// it in a process of its own, as the ingress runs in one.
func ServeBare(ctx context.Context, addr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
		}),
	}
	fmt.Fprintf(out, "ready: bare 202 server on %s\n", ln.Addr())
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// rawProduce is the Kafka ceiling: a franz-go producer (acks=all,
// idempotent, the ingress's settings) writing the records the ingress would
// write, with as many records in flight as the load has connections.
func rawProduce(ctx context.Context, bootstrap string, partitions, inFlight, payloadBytes int, d time.Duration) (perSec float64, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(4<<20))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	topic := fmt.Sprintf("weft.bench.raw.%d", time.Now().UnixNano())
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, int32(partitions), -1, map[string]*string{"max.message.bytes": ptr("2097152")}, topic); err != nil {
		return 0, fmt.Errorf("create %s: %w", topic, err)
	}
	defer adm.DeleteTopics(context.Background(), topic)
	data := payload(payloadBytes)
	var acked atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; time.Now().Before(deadline) && ctx.Err() == nil; seq++ {
				e := event.New()
				e.SetID(eventID("raw", w, seq, time.Now()))
				e.SetType("type-00")
				e.SetSource("weft-bench")
				e.SetExtension("knativearrivaltime", time.Now().UTC().Format(time.RFC3339Nano))
				if err := e.SetData("application/json", data); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				rec, err := cekafka.ToRecord(topic, &e)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				acked.Add(1)
			}
		}(w)
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok && e != nil {
		return 0, fmt.Errorf("raw produce: %w", e)
	}
	return float64(acked.Load()) / time.Since(start).Seconds(), nil
}

func ptr[T any](v T) *T { return &v }
