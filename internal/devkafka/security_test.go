package devkafka_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/kafka"
)

// pingErr is what a client configured as cfg gets from its Kafka.
func pingErr(t *testing.T, cfg kafka.Config) error {
	t.Helper()
	return testutil.PingKafka(t, cfg, 5*time.Second)
}

func start(t *testing.T, cfg devkafka.Config) *devkafka.Server {
	t.Helper()
	s, err := devkafka.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// A server with a certificate and a user serves TLS only and requires
// SASL; the user logs in with every mechanism offered.
func TestTLSAndSASL(t *testing.T) {
	ca := testutil.NewKafkaCA(t)
	srv := ca.Issue(t, "kafka-server", false)
	s := start(t, devkafka.Config{Addr: "127.0.0.1:0", TLSCertFile: srv.CertFile, TLSKeyFile: srv.KeyFile,
		Users: []devkafka.User{{Name: "weft", Password: "s3cret"}}})
	good := func() kafka.Config {
		c := kafka.DefaultConfig()
		c.BootstrapServers = []string{s.Addr()}
		c.TLS, c.CAFile = true, ca.CAFile
		c.SASLMechanism, c.SASLUser, c.SASLPassword = "SCRAM-SHA-512", "weft", "s3cret"
		return c
	}
	for _, m := range devkafka.Mechanisms {
		t.Run(m, func(t *testing.T) {
			c := good()
			c.SASLMechanism = m
			if err := pingErr(t, c); err != nil {
				t.Fatalf("ping with %s: %v", m, err)
			}
		})
	}
	cases := map[string]struct {
		edit func(*kafka.Config)
		want error
		text string
	}{
		"wrong password": {func(c *kafka.Config) { c.SASLPassword = "nope" }, kafka.ErrSASLAuthentication,
			"SASL authentication failed for user weft (mechanism SCRAM-SHA-512) at Kafka broker " + s.Addr()},
		"another CA": {func(c *kafka.Config) { c.CAFile = testutil.NewKafkaCA(t).CAFile }, kafka.ErrTLSHandshake,
			"not signed by the CA given"},
		"no SASL":   {func(c *kafka.Config) { c.SASLMechanism, c.SASLUser, c.SASLPassword = "", "", "" }, nil, ""},
		"plaintext": {func(c *kafka.Config) { c.TLS, c.CAFile = false, "" }, nil, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			err := pingErr(t, c)
			if err == nil {
				t.Fatal("ping succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("ping = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("ping = %v, want it to say %q", err, tc.text)
			}
		})
	}
}

// The configured users are the only users: a password changed between
// runs on the same data directory, or SASL turned on for a directory that
// had none, takes effect (kfake would otherwise restore the persisted ones).
func TestUsersReplacePersisted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	ping := func(s *devkafka.Server, pw string) error {
		c := kafka.DefaultConfig()
		c.BootstrapServers = []string{s.Addr()}
		c.SASLMechanism, c.SASLUser, c.SASLPassword = "SCRAM-SHA-512", "weft", pw
		return pingErr(t, c)
	}
	run := func(users ...devkafka.User) *devkafka.Server {
		s, err := devkafka.Start(devkafka.Config{Addr: "127.0.0.1:0", DataDir: dir, Users: users})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		return s
	}
	s := run()
	s.Close()
	s = run(devkafka.User{Name: "weft", Password: "one"})
	if err := ping(s, "one"); err != nil {
		t.Fatalf("SASL on a data directory that had none: %v", err)
	}
	s.Close()
	s = run(devkafka.User{Name: "weft", Password: "two"})
	defer s.Close()
	if err := ping(s, "two"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if err := ping(s, "one"); !errors.Is(err, kafka.ErrSASLAuthentication) {
		t.Fatalf("the old password: %v, want ErrSASLAuthentication", err)
	}
}

func TestParseUser(t *testing.T) {
	for in, want := range map[string]*devkafka.User{
		"weft:pw":  {Name: "weft", Password: "pw"},
		"weft:a:b": {Name: "weft", Password: "a:b"},
		"weft":     nil,
		":pw":      nil,
		"weft:":    nil,
		"":         nil,
	} {
		got, err := devkafka.ParseUser(in)
		if want == nil {
			if err == nil {
				t.Errorf("ParseUser(%q) = %+v, want an error", in, got)
			}
			continue
		}
		if err != nil || got != *want {
			t.Errorf("ParseUser(%q) = %+v, %v; want %+v", in, got, err, *want)
		}
	}
}
