package kafka

import (
	"strings"
	"testing"
)

func TestValidateTLSFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		mod  func(*Config)
		want string // "" valid
	}{
		"defaults":               {func(*Config) {}, ""},
		"cert and key":           {func(c *Config) { c.TLS, c.CertFile, c.KeyFile = true, "c.pem", "k.pem" }, ""},
		"cert without key":       {func(c *Config) { c.TLS, c.CertFile = true, "c.pem" }, "--kafka-cert-file and --kafka-key-file: set both or neither"},
		"key without cert":       {func(c *Config) { c.TLS, c.KeyFile = true, "k.pem" }, "--kafka-cert-file and --kafka-key-file: set both or neither"},
		"cert without TLS":       {func(c *Config) { c.CertFile, c.KeyFile = "c.pem", "k.pem" }, "--kafka-cert-file: must come with --kafka-tls"},
		"unknown mechanism":      {func(c *Config) { c.SASLMechanism, c.SASLUser = "GSSAPI", "u" }, "--kafka-sasl-mechanism"},
		"mechanism without user": {func(c *Config) { c.SASLMechanism = "PLAIN" }, "--kafka-sasl-user: must be set"},
	} {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestOptsBadPEM(t *testing.T) {
	for name, c := range map[string]Config{
		"CA not PEM":       {TLS: true, CAPEM: "nope"},
		"cert without key": {TLS: true, CertPEM: "x"},
		"missing CA file":  {TLS: true, CAFile: "/does/not/exist.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Opts(nil); err == nil {
				t.Fatal("Opts succeeded")
			}
		})
	}
}
