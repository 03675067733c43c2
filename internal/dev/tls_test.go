package dev

import (
	"os"
	"path/filepath"
	"testing"
)

// The Kafka password of --tls is made once, kept 0600 beside the
// certificates, and reused by the next run.
func TestKafkaPasswordKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	first, err := ensureDevTLS(dir, tlsHosts("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.KafkaPassword) < 20 {
		t.Fatalf("password %q is too short", first.KafkaPassword)
	}
	fi, err := os.Stat(first.KafkaPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", first.KafkaPasswordFile, fi.Mode().Perm())
	}
	again, err := ensureDevTLS(dir, tlsHosts("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	if again.KafkaPassword != first.KafkaPassword {
		t.Errorf("a restart made a new password")
	}
}
