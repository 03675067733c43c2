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
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/wire"
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

// rawProduce is the Kafka ceiling: a franz-go producer with the ingress's
// options (acks=all, idempotent) writing the records the ingress would
// write, with inFlight ProduceSync calls of batch records each — one per
// connection of the load, and batch as many as a request of the batch run
// carries. It returns records acknowledged per second and leaves them in
// topic, which the caller deletes.
func rawProduce(ctx context.Context, bootstrap, topic string, partitions, inFlight, batch, payloadBytes int, d time.Duration) (perSec float64, err error) {
	cl, err := ingressProducer(bootstrap)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := createTopic(ctx, cl, topic, partitions); err != nil {
		return 0, err
	}
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
			recs := make([]*kgo.Record, batch)
			for seq := 0; time.Now().Before(deadline) && ctx.Err() == nil; seq++ {
				now := time.Now()
				arrival := now.UTC().Format(wire.ArrivalTimeLayout)
				for i := range recs {
					e := event.New()
					e.SetID(eventID("raw", w, seq*batch+i, now))
					e.SetType("type-00")
					e.SetSource("weft-bench")
					e.SetExtension(wire.ExtArrivalTime, arrival)
					e.SetExtension(wire.ExtBrokerTTL, wire.DefaultTTL)
					if err := e.SetData("application/json", data); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					rec, err := cekafka.ToRecord(topic, &e)
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					recs[i] = rec
				}
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				acked.Add(int64(batch))
			}
		}(w)
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok && e != nil {
		return 0, fmt.Errorf("raw produce: %w", e)
	}
	return float64(acked.Load()) / time.Since(start).Seconds(), nil
}

// ingressProducer is a franz-go client with the ingress's producer options.
func ingressProducer(bootstrap string) (*kgo.Client, error) {
	cfg := ingress.DefaultConfig()
	cfg.Kafka.BootstrapServers = []string{bootstrap}
	opts, err := cfg.ProducerOpts()
	if err != nil {
		return nil, err
	}
	return cfg.Kafka.NewClient(nil, opts...)
}

// createTopic creates a topic of the bench's own, sized like a broker's.
func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int) error {
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, int32(partitions), -1, map[string]*string{"max.message.bytes": ptr("2097152")}, topic); err != nil {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// rawDeliver is the delivery floor: a franz-go consumer reading topic (as
// rawProduce left it) and POSTing each record, as a binary-mode CloudEvent,
// posts times to the bench's subscriber (paths /floor-0 … /floor-{posts-1},
// one per trigger a fan-out would deliver it to) with workers requests in
// flight over keep-alive connections — the least a consume, POST loop does
// per delivery, with no filtering, retries or offset tracking. It runs for
// d and returns records whose posts POSTs were all answered 2xx, per
// second: the events fully delivered, not the POSTs.
func rawDeliver(ctx context.Context, bootstrap, topic, subscriber string, posts, workers int, d time.Duration) (perSec float64, err error) {
	n, elapsed, err := rawDeliverCount(ctx, bootstrap, topic, subscriber, posts, workers, d)
	if err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// rawDeliverCount is rawDeliver returning the records POSTed posts times
// and the time it ran (d, and the last POSTs' answers).
func rawDeliverCount(ctx context.Context, bootstrap, topic, subscriber string, posts, workers int, d time.Duration) (delivered int64, elapsed time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	err = rawDeliverLoop(ctx, bootstrap, topic, subscriber, posts, workers, func(n int64) { delivered = max(delivered, n) })
	return delivered, time.Since(start), err
}

// rawDeliverLoop is the loop of rawDeliver, running until ctx ends. It
// calls onDelivered, from one goroutine at a time, with the number of
// records fully delivered so far each time one more is. Warm-up events
// (warmupID) are skipped and not counted.
func rawDeliverLoop(ctx context.Context, bootstrap, topic, subscriber string, posts, workers int, onDelivered func(n int64)) error {
	if posts < 1 {
		return fmt.Errorf("raw deliver: %d POSTs per record, want at least 1", posts)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(8<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	defer httpc.CloseIdleConnections()
	urls := make([]string, posts)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/floor-%d", subscriber, i)
	}
	recs := make(chan *kgo.Record, 2*workers)
	var (
		mu       sync.Mutex
		done     int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for rec := range recs {
				ev, err := cekafka.FromRecord(rec)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if ev.ID() == warmupID {
					continue
				}
				ok := 0
				for _, u := range urls {
					req, err := cehttp.NewHTTPRequestFromEvent(ctx, u, *ev)
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						break
					}
					resp, err := httpc.Do(req)
					if err != nil {
						break // the end of the run
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						break
					}
					ok++
				}
				if ok == posts {
					mu.Lock()
					done++
					onDelivered(done)
					mu.Unlock()
				}
			}
		})
	}
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			select {
			case recs <- r:
			case <-ctx.Done():
			}
		})
	}
	close(recs)
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok && e != nil {
		return fmt.Errorf("raw deliver: %w", e)
	}
	return nil
}
