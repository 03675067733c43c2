package ingress_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
)

// benchIngress is an Ingress serving /default/bench on a real kfake.
func benchIngress(b *testing.B) *ingress.Ingress {
	b.Helper()
	srv := testutil.StartKafka(b)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(b, kcfg)
	createTopic(b, adm, "weft.broker.default.bench", 4)
	cfg := testConfig(kcfg)
	cfg.ProduceTimeout = 10 * time.Second
	cfg.Compression = "none"
	in, err := ingress.New(cfg, ingress.WithLogger(testutil.Logger(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(in.Close)
	if err := in.ApplyContract(context.Background(), contractOf(1, brokerEntry("default", "bench", "weft.broker.default.bench"))); err != nil {
		b.Fatal(err)
	}
	return in
}

var benchData = bytes.Repeat([]byte("x"), 1024)

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkIngressBinary calls the handler in-process with 1 KiB binary-mode
// events from many goroutines, storing each in a real Kafka-protocol server.
func BenchmarkIngressBinary(b *testing.B) {
	in := benchIngress(b)
	h := in.Handler()
	var seq atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS concurrent requests share batches
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := &rewindBody{}
		req := httptest.NewRequest(http.MethodPost, "/default/bench", nil)
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Source", "/bench")
		req.Header.Set("Ce-Type", "bench.v1")
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(benchData))
		req.Body = body
		id := []string{""}
		req.Header["Ce-Id"] = id
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			id[0] = strconv.FormatInt(seq.Add(1), 10)
			body.Reset(benchData)
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != http.StatusAccepted {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}

// BenchmarkIngressStructured calls the handler in-process with structured
// 1 KiB events (application/cloudevents+json) from many goroutines, storing
// each in a real Kafka-protocol server.
func BenchmarkIngressStructured(b *testing.B) { benchJSON(b, 16, 0) }

// BenchmarkIngressBatch calls the handler in-process with batches of 100
// structured 1 KiB events (the batch run of weft bench), storing each in a
// real Kafka-protocol server.
func BenchmarkIngressBatch(b *testing.B) { benchJSON(b, 4, 100) }

// benchJSON posts 1 KiB events in the JSON format from parallelism
// goroutines per CPU: one structured event per request when batch is 0,
// else batches of batch events.
func benchJSON(b *testing.B, parallelism, batch int) {
	in := benchIngress(b)
	h := in.Handler()
	var seq atomic.Int64
	contentType, events := "application/cloudevents+json", 1
	if batch > 0 {
		contentType, events = "application/cloudevents-batch+json", batch
	}
	b.SetParallelism(parallelism)
	b.SetBytes(int64(events) * int64(len(benchData)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := &rewindBody{}
		req := httptest.NewRequest(http.MethodPost, "/default/bench", nil)
		req.Header.Set("Content-Type", contentType)
		req.Body = body
		w := &discardWriter{h: http.Header{}}
		var buf bytes.Buffer
		for pb.Next() {
			buf.Reset()
			if batch > 0 {
				buf.WriteByte('[')
			}
			for i := range events {
				if i > 0 {
					buf.WriteString(",\n")
				}
				buf.WriteString(`{"specversion":"1.0","id":"`)
				buf.WriteString(strconv.FormatInt(seq.Add(1), 10))
				buf.WriteString(`","type":"bench.v1","source":"/bench","datacontenttype":"application/json","data":{"d":"`)
				buf.Write(benchData)
				buf.WriteString(`"}}`)
			}
			if batch > 0 {
				buf.WriteByte(']')
			}
			req.ContentLength = int64(buf.Len())
			body.Reset(buf.Bytes())
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != http.StatusAccepted {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}

// BenchmarkHTTP compares, over real loopback HTTP with 32 keep-alive
// connections, the ingress with a bare Go server answering 202 (the
// baseline of the throughput target).
func BenchmarkHTTP(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})
	for _, bc := range []struct {
		name    string
		handler func(*testing.B) http.Handler
	}{
		{"bare202", func(*testing.B) http.Handler { return bare }},
		{"ingress", func(b *testing.B) http.Handler { return benchIngress(b).Handler() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			hs := httptest.NewServer(bc.handler(b))
			defer hs.Close()
			const conns = 32
			tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := hs.URL + "/default/bench"
			var seq atomic.Int64
			b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.SetBytes(int64(len(benchData)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(benchData))
					req.Header.Set("Ce-Specversion", "1.0")
					req.Header.Set("Ce-Id", strconv.FormatInt(seq.Add(1), 10))
					req.Header.Set("Ce-Source", "/bench")
					req.Header.Set("Ce-Type", "bench.v1")
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
