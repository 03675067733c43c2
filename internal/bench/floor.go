package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/wire"
)

// FloorConfig configures `weft bench floor-server`.
type FloorConfig struct {
	// Addr is the listen address.
	Addr string
	// Bootstrap is the Kafka bootstrap server.
	Bootstrap string
	// Topic receives every record (it must exist).
	Topic string
}

// ServeFloor is the architecture's floor: a net/http server that turns each
// request into one Kafka record and answers 202 once Kafka has acknowledged
// it (acks=all, idempotent, the ingress's producer options), 500 when the
// produce fails. It does what any HTTP → Kafka ingress must and nothing
// else: no routing, no validation, no telemetry. `weft bench floor-server`
// runs it in a process of its own, as the ingress runs in one.
func ServeFloor(ctx context.Context, cfg FloorConfig, out io.Writer) error {
	icfg := ingress.DefaultConfig()
	icfg.Kafka.BootstrapServers = []string{cfg.Bootstrap}
	opts, err := icfg.ProducerOpts()
	if err != nil {
		return err
	}
	cl, err := icfg.Kafka.NewClient(nil, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: FloorHandler(cl, cfg.Topic)}
	fmt.Fprintf(out, "ready: floor server on %s\n", ln.Addr())
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

var ttlValue = []byte(strconv.Itoa(int(wire.DefaultTTL)))

// FloorHandler produces each request to topic through cl as a binary-mode
// CloudEvents record — every Ce-* header as a ce_ header, Content-Type as
// content-type, the body as the value, plus the two extensions the ingress
// stamps (arrival time, broker TTL) so the record is the ingress's size —
// and answers 202 after the produce is acknowledged, 500 when it fails.
func FloorHandler(cl *kgo.Client, topic string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rec := &kgo.Record{Topic: topic, Headers: make([]kgo.RecordHeader, 0, len(r.Header)+2)}
		if len(body) > 0 {
			rec.Value = body
		}
		for k, vs := range r.Header {
			switch {
			case len(k) > 3 && strings.EqualFold(k[:3], "ce-"):
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: cekafka.HeaderPrefix + strings.ToLower(k[3:]), Value: []byte(vs[0])})
			case k == "Content-Type":
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: cekafka.ContentTypeHeader, Value: []byte(vs[0])})
			}
		}
		rec.Headers = append(rec.Headers,
			kgo.RecordHeader{Key: cekafka.HeaderPrefix + wire.ExtArrivalTime, Value: time.Now().UTC().AppendFormat(nil, wire.ArrivalTimeLayout)},
			kgo.RecordHeader{Key: cekafka.HeaderPrefix + wire.ExtBrokerTTL, Value: ttlValue})
		if err := cl.ProduceSync(r.Context(), rec).FirstErr(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
