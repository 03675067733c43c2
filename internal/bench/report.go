package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Target is one of the figures Weft aims for.
type Target struct {
	What, Want, Got string
	Met             bool
	// Measured is false when the run behind it was not part of this run.
	Measured bool
	// Info marks a figure shown for context, with no goal: Met is unused.
	Info bool
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Targets compares the report with the goals of the benchmark issue.
func (r *Report) Targets() []Target {
	var ts []Target
	if r.Ingest != nil && r.BareHTTP > 0 {
		x := ratio(r.Ingest.Load.AcceptedPerSec(), r.BareHTTP)
		ts = append(ts, Target{"ingest vs bare HTTP (" + r.Config.Mode + ", " + size(r.Config.Payload) + ", " + fmt.Sprint(r.Config.Connections) + " connections)", ">= 70%", pct(x), x >= 0.70, true, false})
	}
	if r.Ingest != nil && r.FloorHTTP > 0 {
		// Informational: the floor has no target of its own, the ratio is
		// Weft's own overhead over what any HTTP → Kafka ingress costs.
		x := ratio(r.Ingest.Load.AcceptedPerSec(), r.FloorHTTP)
		ts = append(ts, Target{What: "ingest vs floor server (HTTP → produce acks=all → 202)",
			Want: fmt.Sprintf("informational: the floor is %s of bare HTTP", pct(ratio(r.FloorHTTP, r.BareHTTP))),
			Got:  pct(x), Measured: true, Info: true})
	}
	if r.Ingest != nil && r.Deliver != nil {
		x := ratio(r.Deliver.DeliveredPerSec(), r.Ingest.Load.AcceptedPerSec())
		ts = append(ts, Target{"delivered/s with one matching trigger vs ingest", ">= 60%", pct(x), x >= 0.60, true, false})
	}
	if r.FloorHTTP > 0 && r.FloorDelivered > 0 {
		// Informational: the same ratio for the floor, what any ingress and
		// consume, POST loop sharing this machine reach.
		ts = append(ts, Target{What: "end-to-end floor: delivered while ingesting vs the floor server's ingest alone",
			Want: "informational: the floor of the target above", Got: pct(ratio(r.FloorDelivered, r.FloorHTTP)), Measured: true, Info: true})
	}
	if r.Latency != nil {
		p99 := ms(r.Latency.Delivered.P99)
		ts = append(ts, Target{fmt.Sprintf("p99 end-to-end latency at %d ev/s", r.Config.LatencyRate), "<= 50 ms", fmt.Sprintf("%.1f ms (at %.0f ev/s)", p99, r.Latency.Load.AcceptedPerSec()), p99 <= 50 && p99 > 0, true, false})
	}
	if r.BatchIngest != nil && r.RawBatch > 0 {
		x := ratio(r.BatchIngest.Load.AcceptedPerSec(), r.RawBatch)
		ts = append(ts, Target{fmt.Sprintf("batch mode vs raw producer, same batch size (%d events per request / per ProduceSync, %s each)", r.Config.BatchSize, size(r.Config.Payload)), ">= 70%", pct(x), x >= 0.70, true, false})
	}
	if r.BatchIngest != nil && r.FloorBatch > 0 && r.RawBatch > 0 {
		// Informational: Weft's batch ingest over the batch floor, and
		// whether the 70% target is within the floor's reach at all.
		fr := ratio(r.FloorBatch, r.RawBatch)
		want := fmt.Sprintf("informational: the batch floor is %s of the raw producer", pct(fr))
		if fr < 0.70 {
			want += ": the 70% target lies above the floor on this machine"
		}
		ts = append(ts, Target{What: "batch mode vs batch floor server (HTTP batch → split → produce each, acks=all → 202), same load",
			Want: want, Got: pct(ratio(r.BatchIngest.Load.AcceptedPerSec(), r.FloorBatch)), Measured: true, Info: true})
	}
	if r.IsolationSolo != nil && r.Isolation != nil {
		x := ratio(r.Isolation.DeliveredPerSec(), r.IsolationSolo.DeliveredPerSec())
		ts = append(ts, Target{fmt.Sprintf("a trigger beside one whose subscriber answers in 200 ms vs alone, delivered/s at %d ev/s", r.Config.LatencyRate), ">= 90%",
			fmt.Sprintf("%s (p99 %.1f ms beside, %.1f ms alone)", pct(x), ms(r.Isolation.Delivered.P99), ms(r.IsolationSolo.Delivered.P99)), x >= 0.90, true, false})
	}
	if r.Sequence != nil && r.SeqTrigger != nil {
		// Informational: each event crosses Kafka four times (the sequence's
		// three topics and the delivery) and is POSTed three times more.
		x := ratio(r.Sequence.DeliveredPerSec(), r.SeqTrigger.DeliveredPerSec())
		ts = append(ts, Target{What: "3-step Sequence vs one Trigger, delivered/s (saturating load)", Want: "informational: three more Kafka hops and HTTP calls per event",
			Got: fmt.Sprintf("%s (%.0f vs %.0f ev/s)", pct(x), r.Sequence.DeliveredPerSec(), r.SeqTrigger.DeliveredPerSec()), Measured: true, Info: true})
	}
	if r.SequenceLatency != nil && r.SeqTriggerLatency != nil {
		ts = append(ts, Target{What: fmt.Sprintf("3-step Sequence vs one Trigger, p99 end-to-end at %d ev/s", r.Config.LatencyRate), Want: "informational",
			Got: fmt.Sprintf("%.1f ms vs %.1f ms", ms(r.SequenceLatency.Delivered.P99), ms(r.SeqTriggerLatency.Delivered.P99)), Measured: true, Info: true})
	}
	if one, many := r.triggerRun(1), r.triggerRun(1000); one != nil && many != nil {
		x, got := ratio(many.DeliveredPerSec(), one.DeliveredPerSec()), ""
		if len(r.TriggerPairs) > 1 {
			x = r.pairsMedian()
			got = fmt.Sprintf(" (median of %d pairs: %s)", len(r.TriggerPairs), r.pairRatios())
		}
		ts = append(ts, Target{"1,000 triggers vs 1 trigger, delivered/s of the all-matching trigger", ">= 25%", pct(x) + got, x >= 0.25, true, false})
	}
	if one, many, k := r.fanoutFloor(1), r.fanoutFloor(manyPosts), manyPosts; one != nil && many != nil && one.Delivered > 0 {
		// Informational: the same ratio for the end-to-end floor, what any
		// ingress and consume, POST loop sharing this machine reach.
		fr := ratio(many.Delivered, one.Delivered)
		want := fmt.Sprintf("informational: the floor's own 1,000-trigger ratio is %s (%d vs 1 POSTs per event)", pct(fr), k)
		if fr < 0.25 {
			want += ": the 25% target lies above the floor on this machine"
		}
		got := fmt.Sprintf("%.0f vs %.0f ev/s", many.Delivered, one.Delivered)
		if w := r.triggerRun(1000); w != nil {
			got = fmt.Sprintf("Weft %s of the %d-POST floor (%.0f vs %.0f ev/s)", pct(ratio(w.DeliveredPerSec(), many.Delivered)), k, w.DeliveredPerSec(), many.Delivered)
		}
		ts = append(ts, Target{What: fmt.Sprintf("1,000 triggers: all-matching delivered/s vs the end-to-end floor delivering each event %d times", k),
			Want: want, Got: got, Measured: true, Info: true})
	}
	return ts
}

// pairsMedian is the median of the trigger pairs' ratios.
func (r *Report) pairsMedian() float64 {
	xs := make([]float64, len(r.TriggerPairs))
	for i, p := range r.TriggerPairs {
		xs[i] = p.Ratio()
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// pairRatios lists the trigger pairs' ratios in the order measured.
func (r *Report) pairRatios() string {
	s := make([]string, len(r.TriggerPairs))
	for i, p := range r.TriggerPairs {
		s[i] = pct(p.Ratio())
	}
	return strings.Join(s, ", ")
}

// manyPosts is the POSTs per event of the 1,000-trigger fan-out.
var manyPosts = postsPerEvent([]int{1000})[0]

// fanoutFloor is the end-to-end floor measured with posts POSTs per event,
// nil when it was not.
func (r *Report) fanoutFloor(posts int) *FanoutFloor {
	for i := range r.FanoutFloors {
		if r.FanoutFloors[i].Posts == posts {
			return &r.FanoutFloors[i]
		}
	}
	return nil
}

func (r *Report) triggerRun(n int) *Run {
	for i, c := range r.TriggerCounts {
		if c == n {
			return r.Triggers[i]
		}
	}
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// Markdown writes the report as markdown tables.
func (r *Report) Markdown(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "Machine: %s. Each run %s, %d keep-alive connections, %s events unless said; Weft is `weft dev` against `weft kafka` (separate processes), all on this machine.\n\n",
		r.Machine, c.Duration, c.Connections, size(c.Payload))
	batch := r.BatchIngest != nil && r.RawBatch > 0
	many, manyFloor := r.triggerRun(1000), r.fanoutFloor(manyPosts)
	fan := many != nil && manyFloor != nil && manyFloor.Delivered > 0
	if r.Ingest != nil || batch || fan {
		fmt.Fprintf(w, "| measure | Weft | baseline | baseline figure | ratio |\n|---|---:|---|---:|---:|\n")
	}
	if r.Ingest != nil {
		in := r.Ingest.Load.AcceptedPerSec()
		if r.BareHTTP > 0 {
			fmt.Fprintf(w, "| ingest, %s mode (ev/s) | %.0f | bare Go HTTP server answering 202 | %.0f | %s |\n", c.Mode, in, r.BareHTTP, pct(ratio(in, r.BareHTTP)))
		}
		if r.FloorHTTP > 0 {
			fmt.Fprintf(w, "| ingest, %s mode (ev/s) | %.0f | floor server (HTTP → produce acks=all → 202) | %.0f | %s |\n", c.Mode, in, r.FloorHTTP, pct(ratio(in, r.FloorHTTP)))
		}
		if r.RawKafka > 0 {
			fmt.Fprintf(w, "| ingest, %s mode (ev/s) | %.0f | raw franz-go producer, acks=all, %d in flight | %.0f | %s |\n", c.Mode, in, c.Connections, r.RawKafka, pct(ratio(in, r.RawKafka)))
		}
		if r.Deliver != nil {
			d := r.Deliver.DeliveredPerSec()
			fmt.Fprintf(w, "| delivered, one matching trigger (ev/s) | %.0f | Weft's ingest alone | %.0f | %s |\n", d, in, pct(ratio(d, in)))
			if r.RawDeliver > 0 {
				fmt.Fprintf(w, "| delivered, one matching trigger (ev/s) | %.0f | raw consume -> POST loop, %d in flight (no ingest beside it) | %.0f | %s |\n", d, c.Connections, r.RawDeliver, pct(ratio(d, r.RawDeliver)))
			}
			if r.FloorDelivered > 0 {
				fmt.Fprintf(w, "| delivered, one matching trigger (ev/s) | %.0f | end-to-end floor: the raw loop delivering while the floor server takes the load | %.0f | %s |\n", d, r.FloorDelivered, pct(ratio(d, r.FloorDelivered)))
			}
		}
		if many != nil && r.RawDeliver > 0 {
			// Each event goes to the all-matching trigger and to the ten
			// triggers of its type: the floor is the raw loop's POSTs/s over
			// the deliveries per event.
			per := float64(many.Delivered.Distinct+many.Delivered.Duplicates+int(many.Delivered.Others)) / float64(max(many.Delivered.Distinct, 1))
			floor := r.RawDeliver / per
			d := many.DeliveredPerSec()
			fmt.Fprintf(w, "| delivered, all-matching trigger beside 1,000 others (ev/s) | %.0f | raw consume -> POST loop / %.1f deliveries per event | %.0f | %s |\n", d, per, floor, pct(ratio(d, floor)))
		}
	}
	if fan {
		d := many.DeliveredPerSec()
		fmt.Fprintf(w, "| delivered, all-matching trigger beside 1,000 others (ev/s) | %.0f | end-to-end floor: the raw loop POSTing each event %d times while the floor server takes the load | %.0f | %s |\n",
			d, manyFloor.Posts, manyFloor.Delivered, pct(ratio(d, manyFloor.Delivered)))
	}
	if batch {
		x := r.BatchIngest.Load.AcceptedPerSec()
		fmt.Fprintf(w, "| batch mode, %d events per request, ingest only (ev/s) | %.0f | raw franz-go producer, %d records per ProduceSync, %d in flight | %.0f | %s |\n", c.BatchSize, x, c.BatchSize, c.Connections, r.RawBatch, pct(ratio(x, r.RawBatch)))
		if r.FloorBatch > 0 {
			fmt.Fprintf(w, "| batch mode, %d events per request, ingest only (ev/s) | %.0f | batch floor server (HTTP batch → split → produce each, acks=all → 202), same load | %.0f | %s |\n", c.BatchSize, x, r.FloorBatch, pct(ratio(x, r.FloorBatch)))
		}
	}
	if r.Ingest != nil || batch || fan {
		fmt.Fprintln(w)
	}
	if r.Ingest != nil && r.FloorHTTP > 0 && r.BareHTTP > 0 {
		fb := ratio(r.FloorHTTP, r.BareHTTP)
		fmt.Fprintf(w, "Floor / bare HTTP: %s. An ingress that answers only after Kafka's acknowledgement is bounded by the floor server; Weft's own overhead is its ratio to the floor (%s).",
			pct(fb), pct(ratio(r.Ingest.Load.AcceptedPerSec(), r.FloorHTTP)))
		if fb < 0.70 {
			fmt.Fprintf(w, " The target of 70%% of bare HTTP lies above the floor on this machine.")
		}
		fmt.Fprintf(w, "\n\n")
	}
	if batch && r.FloorBatch > 0 {
		fr := ratio(r.FloorBatch, r.RawBatch)
		fmt.Fprintf(w, "Batch floor / raw producer (%d per call): %s. An HTTP batch ingress must read the body, split the array into its events and produce each with acks=all before answering, which the raw producer, handed ready records, does not; Weft's batch overhead is its ratio to the batch floor (%s).",
			c.BatchSize, pct(fr), pct(ratio(r.BatchIngest.Load.AcceptedPerSec(), r.FloorBatch)))
		if fr < 0.70 {
			fmt.Fprintf(w, " The target of 70%% of the raw producer lies above the floor on this machine.")
		}
		fmt.Fprintf(w, "\n\n")
	}
	if runs := r.singleRuns(); len(runs) > 0 {
		fmt.Fprintf(w, "| run | accepted ev/s | delivered ev/s | p50 ms | p90 ms | p99 ms | max ms | lost | duplicates | errors | Weft CPU ms / 1k events | Weft peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
		for _, x := range runs {
			d := x.Delivered
			delivery := "no trigger | – | – | – | – | – | –"
			if x.Delivers {
				delivery = fmt.Sprintf("%.0f | %.1f | %.1f | %.1f | %.1f | %d | %d", x.DeliveredPerSec(), ms(d.P50), ms(d.P90), ms(d.P99), ms(d.Max), d.Lost, d.Duplicates)
			}
			fmt.Fprintf(w, "| %s | %.0f | %s | %s | %.1f | %.0f |\n", x.Name, x.Load.AcceptedPerSec(), delivery,
				x.Load.Errors(), ms(x.CPUPer1k()), mib(x.WeftPeakRSS))
		}
		fmt.Fprintln(w)
	}
	if len(r.Triggers)+len(r.Brokers)+len(r.Payload) > 0 {
		fmt.Fprintf(w, "Cost growth (each trigger beyond the all-matching one matches 1%% of events):\n\n")
		fmt.Fprintf(w, "| dimension | accepted ev/s | delivered ev/s (all-matching trigger) | all deliveries/s | Weft CPU ms / 1k events | Kafka CPU ms / 1k events | Kafka fetch KiB / 1k events | Weft peak RSS MiB | p99 ms | lost |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, x := range append(append(append([]*Run{}, r.Triggers...), r.Brokers...), r.Payload...) {
			all := float64(x.Delivered.Distinct+x.Delivered.Duplicates) + float64(x.Delivered.Others)
			span := x.Load.Elapsed.Seconds()
			if s := x.Delivered.Last.Sub(x.Load.Start).Seconds(); s > span {
				span = s
			}
			kafka1k, fetch1k := 0.0, "–"
			if n := len(x.Load.Acked); n > 0 {
				kafka1k = ms(x.KafkaCPU) * 1000 / float64(n)
				if x.FetchBytes >= 0 {
					fetch1k = fmt.Sprintf("%.0f", float64(x.FetchBytes)/1024*1000/float64(n))
				}
			}
			fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.1f | %.1f | %s | %.0f | %.1f | %d |\n", x.Name, x.Load.AcceptedPerSec(), x.DeliveredPerSec(), all/span,
				ms(x.CPUPer1k()), kafka1k, fetch1k, mib(x.WeftPeakRSS), ms(x.Delivered.P99), x.Delivered.Lost)
		}
		fmt.Fprintln(w)
	}
	r.fanoutMarkdown(w)
	r.pairsMarkdown(w)
	if ts := r.Targets(); len(ts) > 0 {
		fmt.Fprintf(w, "| target | wanted | measured | |\n|---|---|---|---|\n")
		for _, t := range ts {
			mark := "missed"
			switch {
			case t.Info:
				mark = "–"
			case t.Met:
				mark = "met"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.What, t.Want, t.Got, mark)
		}
		fmt.Fprintln(w)
	}
}

// fanoutMarkdown writes the end-to-end floor of each fan-out the triggers
// section measured beside Weft's figures, and whether the 25% target lies
// above the floor.
func (r *Report) fanoutMarkdown(w io.Writer) {
	one := r.fanoutFloor(1)
	if one == nil || one.Delivered <= 0 {
		return
	}
	weftOne := r.triggerRun(1)
	fmt.Fprintf(w, "End-to-end floor of each fan-out: the floor server takes the load while the raw consume → POST loop POSTs each event k times (k = the deliveries per event of the mesh, rounded), counting events POSTed all k times:\n\n")
	fmt.Fprintf(w, "| triggers | k | floor accepted ev/s | floor delivered ev/s | floor vs k = 1 | Weft delivered ev/s (all-matching) | Weft vs 1 trigger | Weft vs floor |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	counts, ks := r.TriggerCounts, postsPerEvent(r.TriggerCounts)
	if weftOne == nil { // the k = 1 floor was measured as the baseline all the same
		counts, ks = append([]int{-1}, counts...), append([]int{1}, ks...)
	}
	for i, n := range counts {
		f := r.fanoutFloor(ks[i])
		if f == nil {
			continue
		}
		label, weft, vsOne, vsFloor := "– (baseline)", "–", "–", "–"
		if n >= 0 {
			x := r.triggerRun(n)
			label, weft = fmt.Sprintf("%d + 1", n), fmt.Sprintf("%.0f", x.DeliveredPerSec())
			vsFloor = pct(ratio(x.DeliveredPerSec(), f.Delivered))
			if weftOne != nil {
				vsOne = pct(ratio(x.DeliveredPerSec(), weftOne.DeliveredPerSec()))
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %s | %s | %s | %s |\n", label, f.Posts, f.Accepted, f.Delivered, pct(ratio(f.Delivered, one.Delivered)), weft, vsOne, vsFloor)
	}
	fmt.Fprintln(w)
	if many := r.fanoutFloor(manyPosts); many != nil {
		fr := ratio(many.Delivered, one.Delivered)
		fmt.Fprintf(w, "Fan-out floor: %.0f events/s delivered with 1 POST per event, %.0f with %d: the floor's own 1,000-trigger ratio is %s.",
			one.Delivered, many.Delivered, many.Posts, pct(fr))
		if x := r.triggerRun(1000); x != nil {
			fmt.Fprintf(w, " Weft's all-matching trigger beside 1,000 others delivers %.0f events/s, %s of the %d-POST floor.", x.DeliveredPerSec(), pct(ratio(x.DeliveredPerSec(), many.Delivered)), many.Posts)
		}
		if fr < 0.25 {
			fmt.Fprintf(w, " The target of 25%% of the one-trigger rate lies above the floor on this machine.")
		}
		fmt.Fprintf(w, "\n\n")
	}
}

// pairsMarkdown lists the trigger pairs, when more than one was measured.
func (r *Report) pairsMarkdown(w io.Writer) {
	if len(r.TriggerPairs) > 1 {
		fmt.Fprintf(w, "The 1-trigger and 1,000-trigger runs, measured as %d pairs (the first is the table's; later pairs alternate which runs first), all-matching trigger's delivered ev/s:\n\n", len(r.TriggerPairs))
		fmt.Fprintf(w, "| pair | 1 trigger + 1 | 1000 triggers + 1 | ratio |\n|---:|---:|---:|---:|\n")
		for i, p := range r.TriggerPairs {
			fmt.Fprintf(w, "| %d | %.0f | %.0f | %s |\n", i+1, p.One.DeliveredPerSec(), p.Many.DeliveredPerSec(), pct(p.Ratio()))
		}
		fmt.Fprintf(w, "\nMedian ratio: %s.\n\n", pct(r.pairsMedian()))
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// Lost sums the acknowledged events never delivered over every run.
func (r *Report) Lost() int {
	n := 0
	for _, x := range r.all() {
		n += x.Delivered.Lost
	}
	return n
}

// singleRuns are the runs outside the cost-growth sections, each once.
func (r *Report) singleRuns() []*Run {
	var out []*Run
	for _, x := range []*Run{r.Ingest, r.Deliver, r.Latency, r.BatchIngest, r.BatchRun, r.IsolationSolo, r.Isolation,
		r.SeqTrigger, r.Sequence, r.SeqTriggerLatency, r.SequenceLatency} {
		if x != nil && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (r *Report) all() []*Run {
	out := r.singleRuns()
	out = append(out, r.Triggers...)
	for _, p := range r.TriggerPairs[min(1, len(r.TriggerPairs)):] { // the first pair is in Triggers
		out = append(out, p.One, p.Many)
	}
	out = append(out, r.Brokers...)
	return append(out, r.Payload...)
}
