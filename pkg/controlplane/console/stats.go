package console

import (
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
	"github.com/weft-dev/weft/pkg/wire"
)

// TriggerStats are one trigger's delivery figures, read from Kafka: the
// committed offsets of its consumer group against its broker topic's end.
type TriggerStats struct {
	// Lag is how many events of the broker topic the trigger has not
	// finished with (nil: the group has committed nothing yet).
	Lag *int64 `json:"lag"`
	// Rate is events the trigger finished per second since the previous
	// sample (nil on the first one).
	Rate *float64 `json:"rate"`
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

const statsNote = "lag and rate come from the triggers' committed Kafka offsets; " +
	"failed deliveries and dead-lettered counts are counted by the dispatchers (weft.dispatcher.events.dead_lettered, .dropped and dead_letter.failures on their /metrics), not by the control plane"

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
		if c.last != nil {
			if prev, ok := c.last.committed[id]; ok {
				rate := float64(sum-prev) / sample.at.Sub(c.last.at).Seconds()
				st.Rate = &rate
			}
		}
		out.Triggers[id] = st
	}
	return nil
}
