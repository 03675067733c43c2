package console

import (
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
	"github.com/weft-dev/weft/pkg/wire"
)

// DeliveryFigures are one egress's delivery counters, summed over the
// dispatcher processes that ran it (Backend.DeliveryFigures), and rates
// over the last 30 s (nil until there is enough history).
type DeliveryFigures struct {
	// Delivered counts events the subscriber accepted.
	Delivered uint64 `json:"delivered"`
	// Failed counts failed delivery attempts, retries included.
	Failed uint64 `json:"failed"`
	// DeadLettered counts events stored in the dead-letter sink.
	DeadLettered uint64 `json:"deadLettered"`
	// Dropped counts events that failed with no dead-letter sink.
	Dropped uint64 `json:"dropped"`
	// Rejected counts events a subscriber refused where that drops them
	// (a Parallel branch's filter).
	Rejected uint64 `json:"rejected"`
	// DeadLetterFailures counts retries of events whose dead-letter sink
	// failed.
	DeadLetterFailures uint64 `json:"deadLetterFailures"`
	// Rates, per second.
	DeliveryRate   *float64 `json:"deliveryRate"`
	FailureRate    *float64 `json:"failureRate"`
	DeadLetterRate *float64 `json:"deadLetterRate"`
}

// TriggerStats are one trigger's delivery figures: lag from Kafka (the
// committed offsets of its consumer group against its broker topic's end),
// counts from the dispatchers.
type TriggerStats struct {
	// Lag is how many events of the broker topic the trigger has not
	// finished with (nil: the group has committed nothing yet).
	Lag *int64 `json:"lag"`
	// Rate is events delivered per second: the dispatchers' counters' rate
	// (RateFrom "counters") when there is one, else events the trigger
	// finished per second since the previous sample of its committed
	// offsets (RateFrom "offsets"; nil on the first one).
	Rate     *float64 `json:"rate"`
	RateFrom string   `json:"rateFrom,omitempty"`
	// Counts are the dispatchers' counters (nil: none reported on the
	// trigger yet).
	Counts *DeliveryFigures `json:"counts,omitempty"`
	// Healthy is the DeliveryHealthy condition ("" when absent), with the
	// problems the dispatchers report (a failing dead-letter sink).
	Healthy string `json:"healthy,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// Stats is the response of /v1/console/stats, keyed by node id.
type Stats struct {
	At       time.Time               `json:"at"`
	Triggers map[string]TriggerStats `json:"triggers"`
	// Note says what the figures are and are not.
	Note  string `json:"note"`
	Error string `json:"error,omitempty"`
}

const statsNote = "lag comes from the triggers' committed Kafka offsets; delivered, failed attempts and dead-lettered " +
	"are counted by the dispatchers connected to this control-plane replica (since it started), rates over the last 30 s " +
	"(from committed offsets until the dispatchers reported)"

type statsSample struct {
	at        time.Time
	committed map[string]int64 // trigger id -> sum of committed offsets
	out       Stats
}

// minStatsInterval: more frequent requests share the last sample.
const minStatsInterval = time.Second

func (c *Console) stats(w http.ResponseWriter, r *http.Request) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	if c.closed {
		eventmesh.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "console closed"})
		return
	}
	now := time.Now()
	if c.last != nil && now.Sub(c.last.at) < minStatsInterval {
		eventmesh.WriteJSON(w, http.StatusOK, c.last.out)
		return
	}
	_, objs := c.backend.Objects()
	figures := c.backend.DeliveryFigures()
	out := Stats{At: now, Triggers: map[string]TriggerStats{}, Note: statsNote}
	groups := map[string]string{} // group -> trigger id
	topics := map[string]bool{}
	topicOf := map[string]string{} // trigger id -> topic
	for _, o := range objs {
		t, ok := o.(*apis.Trigger)
		if !ok {
			continue
		}
		id, m := nodeID(o), t.ObjectMeta
		ts := TriggerStats{}
		for _, cd := range t.Status.Conditions {
			if cd.Type == "DeliveryHealthy" {
				ts.Healthy = cd.Status
				if cd.Status != apis.ConditionTrue {
					ts.Problem = cd.Message
				}
			}
		}
		if f, ok := figures[m.UID]; ok && m.UID != "" {
			ts.Counts = &f
			if f.DeliveryRate != nil {
				ts.Rate, ts.RateFrom = f.DeliveryRate, "counters"
			}
		}
		out.Triggers[id] = ts
		groups[wire.TriggerGroup(m.Namespace, m.Name)] = id
		topic := wire.BrokerTopic(m.Namespace, t.Spec.Broker)
		topics[topic] = true
		topicOf[id] = topic
	}
	sample := &statsSample{at: now, committed: map[string]int64{}}
	if len(groups) > 0 {
		if err := c.readOffsets(r, groups, topics, topicOf, &out, sample); err != nil {
			out.Error = err.Error()
		}
	}
	sample.out = out
	c.last = sample
	eventmesh.WriteJSON(w, http.StatusOK, out)
}

func (c *Console) readOffsets(r *http.Request, groups map[string]string, topics map[string]bool, topicOf map[string]string, out *Stats, sample *statsSample) error {
	adm, err := c.kadmClient()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	var ts []string
	for t := range topics {
		ts = append(ts, t)
	}
	ends, err := adm.ListEndOffsets(ctx, ts...)
	if err != nil {
		return err
	}
	var gs []string
	for g := range groups {
		gs = append(gs, g)
	}
	fetched := adm.FetchManyOffsets(ctx, gs...)
	for g, resp := range fetched {
		id := groups[g]
		if resp.Err != nil {
			continue
		}
		var lag, sum int64
		n := 0
		resp.Fetched.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil || o.Topic != topicOf[id] || o.At < 0 {
				return
			}
			n++
			sum += o.At
			if e, ok := ends.Lookup(o.Topic, o.Partition); ok && e.Offset > o.At {
				lag += e.Offset - o.At
			}
		})
		if n == 0 {
			continue
		}
		st := out.Triggers[id]
		st.Lag = &lag
		sample.committed[id] = sum
		if c.last != nil && st.Rate == nil {
			if prev, ok := c.last.committed[id]; ok {
				rate := float64(sum-prev) / sample.at.Sub(c.last.at).Seconds()
				st.Rate, st.RateFrom = &rate, "offsets"
			}
		}
		out.Triggers[id] = st
	}
	return nil
}
