package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
	"github.com/weft-dev/weft/pkg/wire"
)

// TailEvent is one event of a live tail (an SSE "event" message's data).
type TailEvent struct {
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	Source          string    `json:"source"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time,omitzero"`
	DataContentType string    `json:"datacontenttype,omitempty"`
	// Data is the start of the event's data (maxTailData bytes).
	Data      string `json:"data,omitempty"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

const (
	maxTailData    = 4 << 10
	tailKeepAlive  = 15 * time.Second
	tailFetchBytes = 1 << 20
)

// tail streams the events stored in a broker's (kind=Broker, the default)
// or channel's (kind=Channel) topic from now on, as Server-Sent Events:
// "ready" once reading, then one "event" per CloudEvent whose type and
// source equal the type and source parameters when given. It reads with
// its own client from the topic's end, in no group, committing nothing.
func (c *Console) tail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, name, kind := q.Get("namespace"), q.Get("name"), q.Get("kind")
	wantType, wantSource := q.Get("type"), q.Get("source")
	var topic string
	switch kind {
	case "", "Broker":
		topic = wire.BrokerTopic(ns, name)
	case "Channel":
		topic = wire.ChannelTopic(ns, name)
	default:
		eventmesh.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("kind %q: want Broker or Channel", kind)})
		return
	}
	if ns == "" || name == "" {
		eventmesh.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "namespace and name are required"})
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		eventmesh.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "streaming unsupported"})
		return
	}
	select {
	case c.tails <- struct{}{}:
		defer func() { <-c.tails }()
	default:
		eventmesh.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("%d live tails already run; close one", cap(c.tails))})
		return
	}

	c.statsMu.Lock()
	adm, err := c.kadmClient()
	c.statsMu.Unlock()
	if err != nil {
		eventmesh.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	ctx, cancel := withTimeout(r.Context())
	ends, err := adm.ListEndOffsets(ctx, topic)
	cancel()
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) || (err == nil && len(ends[topic]) == 0) {
		eventmesh.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no topic " + topic + " (is the " + kind + " " + ns + "/" + name + " created?)"})
		return
	}
	if err != nil {
		eventmesh.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "list offsets of " + topic + ": " + err.Error()})
		return
	}
	offsets := map[int32]kgo.Offset{}
	for p, o := range ends[topic] {
		offsets[p] = kgo.NewOffset().At(o.Offset)
	}
	cl, err := c.cfg.Kafka.NewClient(c.logger,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchMaxBytes(tailFetchBytes), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		eventmesh.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	defer cl.Close()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "event: ready\ndata: {\"topic\":%q}\n\n", topic)
	flusher.Flush()

	// PollFetches returns at least every keep-alive so a quiet topic still
	// proves the stream alive (and a closed browser is noticed).
	for {
		pctx, cancel := withTimeoutDur(r.Context(), tailKeepAlive)
		fetches := cl.PollFetches(pctx)
		cancel()
		if r.Context().Err() != nil {
			return
		}
		n := 0
		fetches.EachRecord(func(rec *kgo.Record) {
			ev, err := cekafka.FromRecord(rec)
			if err != nil {
				return
			}
			if (wantType != "" && ev.Type() != wantType) || (wantSource != "" && ev.Source() != wantSource) {
				return
			}
			te := TailEvent{ID: ev.ID(), Type: ev.Type(), Source: ev.Source(), Subject: ev.Subject(), Time: ev.Time(),
				DataContentType: ev.DataContentType(), Partition: rec.Partition, Offset: rec.Offset}
			data := ev.Data()
			if len(data) > maxTailData {
				data = data[:maxTailData]
			}
			te.Data = string(data)
			b, _ := json.Marshal(te)
			fmt.Fprintf(w, "event: event\ndata: %s\n\n", b)
			n++
		})
		if n == 0 {
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		flusher.Flush()
	}
}
