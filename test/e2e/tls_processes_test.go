package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/kafka"
)

// TestSeparateProcessesOverTLS runs the walk-through with every hop
// encrypted and every process its own binary: `weft kafka` serves TLS only
// and requires SCRAM-SHA-512, the control plane serves gRPC over TLS and
// requires client certificates, the ingress serves HTTPS only, and the
// subscriber is an HTTPS server with a CA of its own. A dispatcher trusting
// another CA for Kafka, one with a wrong password, and a plaintext Kafka
// client are refused, the first two with errors saying why.
func TestSeparateProcessesOverTLS(t *testing.T) {
	dir := t.TempDir()
	meshCA, err := certgen.NewCA("mesh CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, meshCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	issue := func(name string, o certgen.Options) (certFile, keyFile string) {
		t.Helper()
		p, err := meshCA.Issue(o)
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		if err := p.Write(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		return certFile, keyFile
	}
	serverCert, serverKey := issue("server", certgen.Options{CommonName: "weft", Hosts: []string{"127.0.0.1", "localhost"}, Usage: certgen.Server})
	clientCert, clientKey := issue("client", certgen.Options{CommonName: "weft-data-plane", Usage: certgen.Client})
	otherCA, err := certgen.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCAFile := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCAFile, otherCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	// The subscriber: HTTPS with a certificate of its own CA.
	sub, subCA, got := startGreetingSubscriberTLS(t)

	// A bad --sasl-user is refused naming the flag, without echoing the password.
	if out, err := exec.Command(filepath.Join(binDir, "weft"), "kafka", "--addr", "127.0.0.1:0", "--sasl-user", "weft:").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `--sasl-user: must be name:password with a non-empty name and password, got "weft:***"`) {
		t.Errorf("weft kafka --sasl-user weft: : %v\n%s", err, out)
	}

	// Kafka: TLS only, SCRAM user from the environment.
	const password = "correct horse battery staple"
	kp := startEnv(t, "kafka", []string{"WEFT_SASL_USER=weft:" + password}, "weft", "kafka", "--addr", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "kafka"), "--tls-cert-file", serverCert, "--tls-key-file", serverKey)
	kafkaAddr := kp.waitLine(t, `^kafka-protocol server listening on (\S+)`, 30*time.Second)[1]
	kp.waitLine(t, `^\s+TLS:\s+on`, 10*time.Second)
	kp.waitLine(t, `^\s+SASL:\s+required, users weft, mechanisms SCRAM-SHA-512`, 10*time.Second)
	kp.waitLine(t, `^ready`, 10*time.Second)
	if strings.Contains(kp.output(), password) {
		t.Errorf("weft kafka printed the password:\n%s", kp.output())
	}

	kafkaArgs := func(ca string) []string {
		return []string{"--bootstrap-servers", kafkaAddr, "--kafka-tls", "--kafka-ca-file", ca,
			"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", "weft"}
	}
	pwEnv := func(pw string) []string { return []string{"WEFT_KAFKA_SASL_PASSWORD=" + pw} }
	cpClient := []string{"--control-plane-ca-file", caFile, "--control-plane-cert-file", clientCert, "--control-plane-key-file", clientKey}

	cp := startEnv(t, "controlplane", pwEnv(password), "controlplane", append(kafkaArgs(caFile),
		"--grpc-addr", "127.0.0.1:0", "--ops-addr=", "--ingress-url", "https://ingress.e2e.invalid",
		"--grpc-tls-cert-file", serverCert, "--grpc-tls-key-file", serverKey, "--grpc-client-ca-file", caFile)...)
	grpcAddr := cp.waitLine(t, `"msg":"control plane serving".*"grpc":"([^"]+)"`, 30*time.Second)[1]
	in := startEnv(t, "ingress", pwEnv(password), "ingress", append(append(kafkaArgs(caFile), cpClient...),
		"--control-plane", grpcAddr, "--http-addr=", "--https-addr", "127.0.0.1:0", "--ops-addr=",
		"--tls-cert-file", serverCert, "--tls-key-file", serverKey)...)
	httpsAddr := in.waitLine(t, `"msg":"ingress listening".*"https_addr":"([^"]+)"`, 30*time.Second)[1]
	startEnv(t, "dispatcher", pwEnv(password), "dispatcher", append(append(kafkaArgs(caFile), cpClient...),
		"--control-plane", grpcAddr, "--ops-addr=", "--process-id", "dispatcher-tls")...)

	cli := func(stdin string, a ...string) string {
		t.Helper()
		return weftCLI(t, grpcAddr, stdin, append(a, cpClient...)...)
	}
	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: tlsproc}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: greetings, namespace: tlsproc}
spec:
  broker: default
  filter: {attributes: {type: greeting}}
  subscriber:
    uri: %s
    CACerts: |
%s
`, sub.URL, caCertsBlock(subCA))
	cli(manifest, "apply", "-f", "-")
	testutil.Eventually(t, 30*time.Second, "trigger Ready", func() (bool, string) {
		out := cli("", "get", "triggers", "-n", "tlsproc")
		return strings.Count(out, " True ") == 1, out
	})

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: meshCA.Pool()}}}
	defer client.CloseIdleConnections()
	postTLS := func(id string) (int, error) {
		return sendBinary(client, "https://"+httpsAddr+"/tlsproc/default", id, "greeting", "e2e", `{"msg":"hi"}`)
	}
	testutil.Eventually(t, 30*time.Second, "202 over HTTPS", func() (bool, string) {
		code, err := postTLS("g1")
		return err == nil && code == http.StatusAccepted, fmt.Sprint(code, err)
	})
	testutil.Eventually(t, 30*time.Second, "the HTTPS subscriber gets the event through Kafka over TLS+SCRAM", func() (bool, string) {
		return got.Load() >= 1, fmt.Sprint(got.Load())
	})

	// A dispatcher trusting another CA for Kafka says the broker's
	// certificate is not signed by it.
	badCA := startEnv(t, "dispatcher (wrong Kafka CA)", pwEnv(password), "dispatcher", append(append(kafkaArgs(otherCAFile), cpClient...),
		"--control-plane", grpcAddr, "--ops-addr=", "--process-id", "dispatcher-bad-ca")...)
	badCA.waitOutput(t, regexp.QuoteMeta("TLS handshake with Kafka broker "+kafkaAddr+" failed: ")+
		`.*x509: certificate signed by unknown authority.*`+regexp.QuoteMeta("(the broker's certificate is not signed by the CA given"), 60*time.Second)

	// A dispatcher with a wrong password says SASL failed for which user.
	badPW := startEnv(t, "dispatcher (wrong Kafka password)", pwEnv("wrong"), "dispatcher", append(append(kafkaArgs(caFile), cpClient...),
		"--control-plane", grpcAddr, "--ops-addr=", "--process-id", "dispatcher-bad-password")...)
	badPW.waitOutput(t, regexp.QuoteMeta("SASL authentication failed for user weft (mechanism SCRAM-SHA-512) at Kafka broker "+kafkaAddr), 60*time.Second)
	for _, p := range []*proc{badCA, badPW} {
		if strings.Contains(p.output(), password) || strings.Contains(p.output(), `"wrong"`) {
			t.Errorf("%s logged a password:\n%s", p.name, p.output())
		}
	}

	// A plaintext Kafka client gets nowhere; a TLS+SCRAM one gets in.
	plain := kafka.DefaultConfig()
	plain.BootstrapServers = []string{kafkaAddr}
	if err := kafkaPing(t, plain); err == nil {
		t.Error("a plaintext Kafka client reached the TLS listener")
	}
	plainSCRAM := plain
	plainSCRAM.SASLMechanism, plainSCRAM.SASLUser, plainSCRAM.SASLPassword = "SCRAM-SHA-512", "weft", password
	if err := kafkaPing(t, plainSCRAM); err == nil {
		t.Error("a plaintext SCRAM client reached the TLS listener")
	}
	secure := plainSCRAM
	secure.TLS, secure.CAFile = true, caFile
	if err := kafkaPing(t, secure); err != nil {
		t.Errorf("TLS+SCRAM client: %v", err)
	}

	// The mesh still delivers.
	if code, err := postTLS("g2"); err != nil || code != http.StatusAccepted {
		t.Fatalf("POST over HTTPS: %d, %v; want 202", code, err)
	}
	testutil.Eventually(t, 30*time.Second, "the second event delivered", func() (bool, string) {
		return got.Load() >= 2, fmt.Sprint(got.Load())
	})
}
