package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/kafka"
)

// TestWalkthroughOverTLS runs the walk-through through `weft dev --tls`:
// the ingress serves HTTPS only, the embedded Kafka serves TLS only and
// requires a SCRAM-SHA-512 user, the control plane serves gRPC over TLS and
// requires client certificates (the embedded ingress and dispatcher and the
// CLI present the dev CA's client certificate), and the trigger's subscriber
// is an HTTPS server with a CA of its own, trusted through the subscriber's
// CACerts. A client trusting another CA, and a CLI without a client
// certificate, fail with errors that say why. A restart reuses the CA.
func TestWalkthroughOverTLS(t *testing.T) {
	sub, subCA, got := startGreetingSubscriberTLS(t)

	dataDir := filepath.Join(t.TempDir(), "data")
	args := []string{"dev", "--tls", "--data-dir", dataDir, "--kafka-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "info"}
	p := start(t, "weft dev --tls", "weft", args...)
	kafkaLine := p.waitLine(t, `^\s+kafka:\s+(\S+)\s+\(TLS, SASL SCRAM-SHA-512 user (\S+), password in (\S+)\)`, 60*time.Second)
	grpcAddr := p.waitLine(t, `^\s+control plane:\s+(\S+)`, 10*time.Second)[1]
	httpsAddr := p.waitLine(t, `^\s+ingress:\s+https://([^/]+)/`, 10*time.Second)[1]
	caFile := p.waitLine(t, `^\s+CA:\s+(\S+)`, 10*time.Second)[1]
	clientCert := p.waitLine(t, `^\s+client cert:\s+(\S+)`, 10*time.Second)[1]
	clientKey := p.waitLine(t, `^\s+client key:\s+(\S+)`, 10*time.Second)[1]
	p.waitLine(t, `^\s+kafka client:\s+--bootstrap-servers `+kafkaLine[1]+` --kafka-tls --kafka-ca-file `+caFile+` --kafka-sasl-mechanism SCRAM-SHA-512 --kafka-sasl-user `+kafkaLine[2], 10*time.Second)
	p.waitLine(t, `^\s+curl:\s+curl --cacert `+caFile, 10*time.Second)
	p.waitLine(t, `^ready`, 30*time.Second)
	// The embedded Kafka serves TLS with the dev CA and requires the SCRAM
	// user: the banner's credentials get in, a plaintext client does not.
	kafkaPassword, err := os.ReadFile(kafkaLine[3])
	if err != nil {
		t.Fatal(err)
	}
	kc := kafka.DefaultConfig()
	kc.BootstrapServers = []string{kafkaLine[1]}
	if err := kafkaPing(t, kc); err == nil {
		t.Error("a plaintext client reached the embedded Kafka of weft dev --tls")
	}
	kc.TLS, kc.CAFile = true, caFile
	kc.SASLMechanism, kc.SASLUser, kc.SASLPassword = "SCRAM-SHA-512", kafkaLine[2], strings.TrimSpace(string(kafkaPassword))
	if err := kafkaPing(t, kc); err != nil {
		t.Errorf("the banner's Kafka credentials: %v", err)
	}
	tlsArgs := []string{"--control-plane-ca-file", caFile, "--control-plane-cert-file", clientCert, "--control-plane-key-file", clientKey}
	cli := func(stdin string, a ...string) string {
		t.Helper()
		return weftCLI(t, grpcAddr, stdin, append(a, tlsArgs...)...)
	}

	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: tls
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: greetings
  namespace: tls
spec:
  broker: default
  filter:
    attributes:
      type: greeting
  subscriber:
    uri: %s
    CACerts: |
%s
`, sub.URL, caCertsBlock(subCA))
	cli(manifest, "apply", "-f", "-")
	testutil.Eventually(t, 30*time.Second, "trigger Ready", func() (bool, string) {
		out := cli("", "get", "triggers", "-n", "tls")
		return strings.Count(out, " True ") == 1, out
	})
	if out := cli("", "get", "brokers", "-n", "tls"); !strings.Contains(out, "https://"+httpsAddr+"/tls/default") {
		t.Errorf("the broker's address is not the HTTPS ingress:\n%s", out)
	}

	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	devPool := x509.NewCertPool()
	if !devPool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	postTLS := func(roots *x509.CertPool, id string) (int, error) {
		cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		defer cl.CloseIdleConnections()
		return sendBinary(cl, "https://"+httpsAddr+"/tls/default", id, "greeting", "e2e", `{"msg":"hi"}`)
	}
	if code, err := postTLS(devPool, "g1"); err != nil || code != http.StatusAccepted {
		t.Fatalf("POST over HTTPS trusting the dev CA: %d, %v; want 202", code, err)
	}
	testutil.Eventually(t, 30*time.Second, "the HTTPS subscriber gets the event", func() (bool, string) {
		return got.Load() >= 1, fmt.Sprint(got.Load())
	})

	// weft send with the CA, as the banner says.
	send := exec.Command(filepath.Join(binDir, "weft"), "send", "--ingress", "https://"+httpsAddr, "--ca-file", caFile, "-n", "tls", "--broker", "default", "--type", "greeting", "--data", `{"n":2}`)
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("weft send over HTTPS: %v\n%s", err, out)
	}
	testutil.Eventually(t, 30*time.Second, "the event of weft send", func() (bool, string) {
		return got.Load() >= 2, fmt.Sprint(got.Load())
	})

	// A client trusting another CA is refused by x509.
	_, err = postTLS(subCA.Pool(), "g3")
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("POST trusting another CA: %v, want x509: certificate signed by unknown authority", err)
	}
	// A CLI without a client certificate, or trusting another CA, fails clearly.
	out, err := runWeftCLI(grpcAddr, "", "get", "brokers", "--control-plane-ca-file", caFile)
	if err == nil || !strings.Contains(out, "requires a client certificate") || !strings.Contains(out, "--control-plane-cert-file") {
		t.Errorf("CLI without a client certificate: %v\n%s", err, out)
	}
	subCAFile := filepath.Join(t.TempDir(), "sub-ca.pem")
	if err := os.WriteFile(subCAFile, subCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runWeftCLI(grpcAddr, "", "get", "brokers", "--control-plane-ca-file", subCAFile, "--control-plane-cert-file", clientCert, "--control-plane-key-file", clientKey)
	if err == nil || !strings.Contains(out, "x509: certificate signed by unknown authority") || !strings.Contains(out, "--control-plane-ca-file") {
		t.Errorf("CLI trusting another CA: %v\n%s", err, out)
	}
	out, err = runWeftCLI(grpcAddr, "", "get", "brokers")
	if err == nil {
		t.Errorf("a plaintext CLI reached the TLS control plane:\n%s", out)
	}

	// A restart reuses the CA: a client trusting it keeps working.
	p.stop(syscall.SIGTERM)
	p = start(t, "weft dev --tls (restarted)", "weft", args...)
	httpsAddr = p.waitLine(t, `^\s+ingress:\s+https://([^/]+)/`, 60*time.Second)[1]
	if again := p.waitLine(t, `^\s+CA:\s+(\S+)`, 10*time.Second)[1]; again != caFile {
		t.Errorf("CA after a restart %s, want %s", again, caFile)
	}
	p.waitLine(t, `^ready`, 30*time.Second)
	testutil.Eventually(t, 30*time.Second, "202 after a restart with the same CA", func() (bool, string) {
		code, err := postTLS(devPool, "g4")
		return err == nil && code == http.StatusAccepted, fmt.Sprint(code, err)
	})
}

// kafkaPing is what a client configured as c gets from its Kafka.
func kafkaPing(t *testing.T, c kafka.Config) error {
	t.Helper()
	return testutil.PingKafka(t, c, 5*time.Second)
}

// startGreetingSubscriberTLS starts an HTTPS subscriber whose certificate a
// CA of its own signed (returned, for the trigger's CACerts); it counts the
// "greeting" events it gets.
func startGreetingSubscriberTLS(t *testing.T) (*httptest.Server, *certgen.CA, *atomic.Int32) {
	t.Helper()
	subCA, err := certgen.NewCA("subscriber CA")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := subCA.Issue(certgen.Options{CommonName: "subscriber", Hosts: []string{"127.0.0.1"}, Usage: certgen.Server})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	got := &atomic.Int32{}
	sub := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Ce-Type") == "greeting" {
			got.Add(1)
		}
	}))
	sub.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	sub.StartTLS()
	t.Cleanup(sub.Close)
	return sub, subCA, got
}

// caCertsBlock is ca's certificate indented as a YAML block under a
// subscriber's CACerts.
func caCertsBlock(ca *certgen.CA) string {
	return "        " + strings.ReplaceAll(strings.TrimSpace(string(ca.CertPEM)), "\n", "\n        ")
}
