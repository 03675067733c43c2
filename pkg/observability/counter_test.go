package observability

import (
	"maps"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestCounterReportsEachSeriesSum(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c, err := NewCounter(mp.Meter("test"), "things")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Series(attribute.NewSet(attribute.String("k", "a")))
	b := c.Series(attribute.NewSet(attribute.String("k", "b"), attribute.Int("n", 1)))
	c.Series(attribute.NewSet(attribute.String("k", "idle"))) // counts nothing
	if again := c.Series(attribute.NewSet(attribute.Int("n", 1), attribute.String("k", "b"))); again != b {
		t.Errorf("an equal attribute set got a series of its own")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				a.Add(1)
			}
		})
	}
	wg.Wait()
	b.Add(5)
	b.Add(-3) // ignored: monotonic
	if got, want := collectSums(t, reader), map[string]int64{"a": 8000, "b": 5}; !maps.Equal(got, want) {
		t.Errorf("first collection %v, want %v", got, want)
	}
	// Cumulative, as a synchronous counter's.
	b.Add(2)
	if got, want := collectSums(t, reader), map[string]int64{"a": 8000, "b": 7}; !maps.Equal(got, want) {
		t.Errorf("second collection %v, want %v", got, want)
	}
}

// collectSums is the monotonic cumulative sums of "things" by attribute k.
func collectSums(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "things" || !ok || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
				t.Fatalf("metric %s: %T %+v, want a monotonic cumulative int64 sum named things", m.Name, m.Data, m.Data)
			}
			for _, dp := range sum.DataPoints {
				k, _ := dp.Attributes.Value("k")
				got[k.AsString()] += dp.Value
			}
		}
	}
	return got
}
