package bench

import (
	"fmt"
	"io"
	"slices"
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
		x := ratio(many.DeliveredPerSec(), one.DeliveredPerSec())
		ts = append(ts, Target{"1,000 triggers vs 1 trigger, delivered/s of the all-matching trigger", ">= 25%", pct(x), x >= 0.25, true, false})
	}
	return ts
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
	if r.Ingest != nil || batch {
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
		if many := r.triggerRun(1000); many != nil && r.RawDeliver > 0 {
			// Each event goes to the all-matching trigger and to the ten
			// triggers of its type: the floor is the raw loop's POSTs/s over
			// the deliveries per event.
			per := float64(many.Delivered.Distinct+many.Delivered.Duplicates+int(many.Delivered.Others)) / float64(max(many.Delivered.Distinct, 1))
			floor := r.RawDeliver / per
			d := many.DeliveredPerSec()
			fmt.Fprintf(w, "| delivered, all-matching trigger beside 1,000 others (ev/s) | %.0f | raw consume -> POST loop / %.1f deliveries per event | %.0f | %s |\n", d, per, floor, pct(ratio(d, floor)))
		}
	}
	if batch {
		x := r.BatchIngest.Load.AcceptedPerSec()
		fmt.Fprintf(w, "| batch mode, %d events per request, ingest only (ev/s) | %.0f | raw franz-go producer, %d records per ProduceSync, %d in flight | %.0f | %s |\n", c.BatchSize, x, c.BatchSize, c.Connections, r.RawBatch, pct(ratio(x, r.RawBatch)))
	}
	if r.Ingest != nil || batch {
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
	out = append(out, r.Brokers...)
	return append(out, r.Payload...)
}
