package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/kafka"
)

var topics atomic.Int64

// roundTrip creates a topic, produces a record and reads it back through
// clients made from cfg: every kind of request goes over the secured
// connection.
func roundTrip(t *testing.T, cfg kafka.Config) {
	t.Helper()
	topic := fmt.Sprintf("secured-%d", topics.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := cfg.NewClient(testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := kafka.Ping(ctx, cl); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons, err := cfg.NewClient(nil, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Fatalf("fetched %v, want the one record", recs)
	}
}

// pingErr is what a client configured as cfg gets from its Kafka.
func pingErr(t *testing.T, cfg kafka.Config) error {
	t.Helper()
	return testutil.PingKafka(t, cfg, 20*time.Second)
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			k := testutil.StartKafkaSASL(t, testutil.KafkaUser{Mechanism: mech, User: "alice", Password: "s3cret"})
			roundTrip(t, k.Config())

			t.Run("wrong password", func(t *testing.T) {
				cfg := k.Config()
				cfg.SASLPassword = "wrong"
				err := pingErr(t, cfg)
				if !errors.Is(err, kafka.ErrSASLAuthentication) {
					t.Fatalf("Ping = %v, want ErrSASLAuthentication", err)
				}
				t.Logf("wrong password: %v", err)
				want := "SASL authentication failed for user alice (mechanism " + mech + ") at Kafka broker " + k.Addr()
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
				if strings.Contains(err.Error(), "wrong") {
					t.Errorf("error %q shows the password", err)
				}
			})
			t.Run("no SASL", func(t *testing.T) {
				cfg := k.Config()
				cfg.SASLMechanism = ""
				if err := pingErr(t, cfg); err == nil {
					t.Fatal("Ping without SASL succeeded against a SASL cluster")
				}
			})
		})
	}
	t.Run("mechanism the user lacks", func(t *testing.T) {
		k := testutil.StartKafkaSASL(t, testutil.KafkaUser{Mechanism: "SCRAM-SHA-256", User: "alice", Password: "s3cret"})
		cfg := k.Config()
		cfg.SASLMechanism = "SCRAM-SHA-512"
		if err := pingErr(t, cfg); !errors.Is(err, kafka.ErrSASLAuthentication) {
			t.Fatalf("Ping = %v, want ErrSASLAuthentication", err)
		}
	})
}

func TestTLS(t *testing.T) {
	k := testutil.StartKafkaTLS(t, false)
	t.Run("right CA", func(t *testing.T) { roundTrip(t, k.Config()) })
	t.Run("right CA in memory", func(t *testing.T) {
		cfg := k.Config()
		cfg.CAFile, cfg.CAPEM = "", string(k.CA.CertPEM)
		roundTrip(t, cfg)
	})
	t.Run("wrong CA", func(t *testing.T) {
		cfg := k.Config()
		cfg.CAFile = testutil.NewKafkaCA(t).CAFile
		err := pingErr(t, cfg)
		if !errors.Is(err, kafka.ErrTLSHandshake) {
			t.Fatalf("Ping = %v, want ErrTLSHandshake", err)
		}
		t.Logf("wrong CA: %v", err)
		for _, want := range []string{"TLS handshake with Kafka broker " + k.Addr() + " failed", "x509", "not signed by the CA given"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("plaintext client", func(t *testing.T) {
		cfg := k.Config()
		cfg.TLS, cfg.CAFile = false, ""
		if err := pingErr(t, cfg); err == nil {
			t.Fatal("a plaintext client reached a TLS-only broker")
		}
	})
}

func TestMutualTLS(t *testing.T) {
	k := testutil.StartKafkaTLS(t, true)
	t.Run("client certificate", func(t *testing.T) { roundTrip(t, k.Config()) })
	t.Run("client certificate in memory", func(t *testing.T) {
		cfg := k.Config()
		cfg.CertFile, cfg.KeyFile = "", ""
		cfg.CertPEM, cfg.KeyPEM = string(k.Client.CertPEM), string(k.Client.KeyPEM)
		roundTrip(t, cfg)
	})
	t.Run("no client certificate", func(t *testing.T) {
		cfg := k.Config()
		cfg.CertFile, cfg.KeyFile = "", ""
		err := pingErr(t, cfg)
		t.Logf("no client certificate: %v", err)
		if !errors.Is(err, kafka.ErrTLSHandshake) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Ping = %v, want ErrTLSHandshake about the certificate", err)
		}
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		other := testutil.NewKafkaCA(t).Issue(t, "intruder", true)
		cfg := k.Config()
		cfg.CertFile, cfg.KeyFile = other.CertFile, other.KeyFile
		if err := pingErr(t, cfg); !errors.Is(err, kafka.ErrTLSHandshake) {
			t.Fatalf("Ping = %v, want ErrTLSHandshake", err)
		}
	})
}

func TestTLSAndSCRAM(t *testing.T) {
	k := testutil.StartKafkaSecure(t, testutil.KafkaSecurity{TLS: true, Users: []testutil.KafkaUser{{Mechanism: "SCRAM-SHA-512", User: "weft", Password: "pw"}}})
	roundTrip(t, k.Config())
	cfg := k.Config()
	cfg.SASLPassword = "nope"
	if err := pingErr(t, cfg); !errors.Is(err, kafka.ErrSASLAuthentication) {
		t.Fatalf("Ping = %v, want ErrSASLAuthentication", err)
	}
}
