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
// request into one Kafka record (a batch request into one record per event)
// and answers 202 once Kafka has acknowledged them (acks=all, idempotent,
// the ingress's producer options), 500 when the produce fails. It does what
// any HTTP → Kafka ingress must and nothing else: no routing, no
// validation, no telemetry. `weft bench floor-server` runs it in a process
// of its own, as the ingress runs in one.
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
//
// A batch (Content-Type application/cloudevents-batch+json) is split into
// its elements by splitBatch, each produced as one structured-mode record
// (the element's bytes as the value, content-type
// application/cloudevents+json), and answered 202 once every record is
// acknowledged: the least any HTTP batch ingress does. A body that is not a
// JSON array of objects is answered 400 and nothing of it is produced.
func FloorHandler(cl *kgo.Client, topic string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if isBatch(r.Header.Get("Content-Type")) {
			produceBatch(w, r, cl, topic, body)
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

// batchMediaType is the content type of a batch of structured events, and
// structuredMediaType that of one structured event.
const (
	batchMediaType      = "application/cloudevents-batch+json"
	structuredMediaType = "application/cloudevents+json"
)

var structuredValue = []byte(structuredMediaType)

// isBatch reports whether a Content-Type header names a JSON batch,
// whatever its parameters and case.
func isBatch(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), batchMediaType)
}

// produceBatch produces each element of the batch body as one record and
// answers 202 once all are acknowledged, 400 (producing nothing) when the
// body is not a batch, 500 when a produce fails.
func produceBatch(w http.ResponseWriter, r *http.Request, cl *kgo.Client, topic string, body []byte) {
	elems, err := splitBatch(body)
	if err != nil {
		http.Error(w, "malformed batch: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(elems) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	recs := make([]*kgo.Record, len(elems))
	for i, e := range elems {
		recs[i] = &kgo.Record{Topic: topic, Value: e, Headers: []kgo.RecordHeader{{Key: cekafka.ContentTypeHeader, Value: structuredValue}}}
	}
	if err := cl.ProduceSync(r.Context(), recs...).FirstErr(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// splitBatch splits a JSON array of objects into its elements, each a
// slice of body from its '{' to its matching '}'. It is the least work that
// finds the boundaries correctly: it follows strings (with their escapes)
// and the nesting of objects and arrays, and requires commas between
// elements and nothing but whitespace around the array, but it does not
// check the grammar inside an element (the tokens between its brackets) nor
// any CloudEvents attribute. An empty array has no elements.
func splitBatch(body []byte) ([][]byte, error) {
	i := skipWS(body, 0)
	if i == len(body) {
		return nil, fmt.Errorf("empty body, want a JSON array of events")
	}
	if body[i] != '[' {
		return nil, fmt.Errorf("byte %d: want '[' opening a JSON array of events, got %q", i, body[i])
	}
	i = skipWS(body, i+1)
	var elems [][]byte
	var stack []byte // the closing bracket each open object or array awaits
	if i < len(body) && body[i] == ']' {
		return elems, trailing(body, i+1)
	}
	for {
		if i == len(body) {
			return nil, fmt.Errorf("the array is not closed: want an event or ']' at byte %d", i)
		}
		if body[i] != '{' {
			return nil, fmt.Errorf("element %d (byte %d): want a JSON object, got %q", len(elems), i, body[i])
		}
		start := i
		stack = stack[:0]
	element:
		for ; i < len(body); i++ {
			switch c := body[i]; c {
			case '"':
				end, err := stringEnd(body, i)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", len(elems), err)
				}
				i = end
			case '{':
				stack = append(stack, '}')
			case '[':
				stack = append(stack, ']')
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != c {
					return nil, fmt.Errorf("element %d (byte %d): %q closes nothing open", len(elems), i, c)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					break element
				}
			}
		}
		if i == len(body) {
			return nil, fmt.Errorf("element %d (byte %d): the object is not closed", len(elems), start)
		}
		elems = append(elems, body[start:i+1])
		i = skipWS(body, i+1)
		switch {
		case i == len(body):
			return nil, fmt.Errorf("the array is not closed: want ',' or ']' after element %d", len(elems)-1)
		case body[i] == ']':
			return elems, trailing(body, i+1)
		case body[i] != ',':
			return nil, fmt.Errorf("byte %d: want ',' or ']' after element %d, got %q", i, len(elems)-1, body[i])
		}
		i = skipWS(body, i+1)
	}
}

// stringEnd returns the index of the quote closing the JSON string whose
// opening quote is body[open], skipping escaped characters.
func stringEnd(body []byte, open int) (int, error) {
	for i := open + 1; i < len(body); i++ {
		switch body[i] {
		case '\\':
			i++ // the escaped byte, a quote or a backslash included
		case '"':
			return i, nil
		}
	}
	return 0, fmt.Errorf("the string at byte %d is not closed", open)
}

// trailing reports anything but whitespace after the array's ']'.
func trailing(body []byte, i int) error {
	if j := skipWS(body, i); j < len(body) {
		return fmt.Errorf("byte %d: %q after the array", j, body[j])
	}
	return nil
}

func skipWS(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}
