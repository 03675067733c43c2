package dev

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/tlsconfig"
)

// devTLS is the local PKI of `weft dev --tls`: a CA, a server certificate
// for the ingress, the control plane and the embedded Kafka, a client
// certificate for the data plane and the CLI (mTLS), and the password of the
// embedded Kafka's SCRAM user. The files live in a directory that is reused
// across restarts, so a CA a user trusted once stays trusted.
type devTLS struct {
	Dir                   string
	CAFile                string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	// KafkaPasswordFile holds KafkaPassword, the password of the embedded
	// Kafka's user devKafkaUser (made once, 0600).
	KafkaPasswordFile, KafkaPassword string
}

// The embedded Kafka's SASL user under --tls.
const (
	devKafkaUser      = "weft"
	devKafkaMechanism = "SCRAM-SHA-512"
)

// renewBefore re-issues a leaf certificate that expires sooner than this.
const renewBefore = 30 * 24 * time.Hour

// ensureDevTLS loads the PKI in dir, making what is missing: the CA once,
// the server certificate whenever it does not cover hosts or is near its
// end, the client certificate when missing or near its end.
func ensureDevTLS(dir string, hosts []string) (*devTLS, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	t := &devTLS{
		Dir: dir, CAFile: filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
		KafkaPasswordFile: filepath.Join(dir, "kafka-password"),
	}
	caKey := filepath.Join(dir, "ca-key.pem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create TLS dir: %w", err)
	}
	ca, err := certgen.LoadCA(t.CAFile, caKey)
	fresh := false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("weft dev --tls: %s: %w (remove the directory to start over)", dir, err)
		}
		if ca, err = certgen.NewCA("weft dev CA"); err != nil {
			return nil, err
		}
		if err := ca.WriteCA(t.CAFile, caKey); err != nil {
			return nil, fmt.Errorf("write CA: %w", err)
		}
		fresh = true
	}
	if fresh || !leafOK(t.ServerCert, ca, hosts) {
		p, err := ca.Issue(certgen.Options{CommonName: "weft dev", Hosts: hosts, Usage: certgen.Server | certgen.Client})
		if err != nil {
			return nil, err
		}
		if err := p.Write(t.ServerCert, t.ServerKey); err != nil {
			return nil, fmt.Errorf("write server certificate: %w", err)
		}
	}
	if fresh || !leafOK(t.ClientCert, ca, nil) {
		p, err := ca.Issue(certgen.Options{CommonName: "weft-client", Usage: certgen.Client})
		if err != nil {
			return nil, err
		}
		if err := p.Write(t.ClientCert, t.ClientKey); err != nil {
			return nil, fmt.Errorf("write client certificate: %w", err)
		}
	}
	if err := t.ensureKafkaPassword(); err != nil {
		return nil, err
	}
	return t, nil
}

// ensureKafkaPassword reads the Kafka user's password, making it when the
// file is missing or empty.
func (t *devTLS) ensureKafkaPassword() error {
	data, err := os.ReadFile(t.KafkaPasswordFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("weft dev --tls: read the Kafka password: %w", err)
	}
	if pw := strings.TrimSpace(string(data)); pw != "" {
		t.KafkaPassword = pw
		return nil
	}
	t.KafkaPassword = rand.Text()
	if err := certgen.WriteFile(t.KafkaPasswordFile, []byte(t.KafkaPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("weft dev --tls: write the Kafka password: %w", err)
	}
	return nil
}

// leafOK says whether the certificate in file is signed by ca, valid for
// renewBefore more and covers hosts.
func leafOK(file string, ca *certgen.CA, hosts []string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	certs, err := tlsconfig.ParseCerts(data)
	if err != nil {
		return false
	}
	c := certs[0]
	if time.Until(c.NotAfter) < renewBefore {
		return false
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return false
	}
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// tlsHosts are the names the server certificate covers: the loopback names
// and the hosts of addrs (a wildcard address adds nothing).
func tlsHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil || h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			continue
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// printTLS is the banner of `weft dev --tls`: where everything is and how
// to reach it with curl and the CLI.
func printTLS(out io.Writer, a Addrs, t *devTLS) {
	if a.KafkaUser != "" {
		fmt.Fprintf(out, "weft dev (TLS)\n  kafka:         %s  (TLS, SASL %s user %s, password in %s)\n", a.Kafka, devKafkaMechanism, a.KafkaUser, a.KafkaPasswordFile)
	} else {
		fmt.Fprintf(out, "weft dev (TLS)\n  kafka:         %s  (--bootstrap-servers: plaintext, not covered by --tls)\n", a.Kafka)
	}
	fmt.Fprintf(out, "  control plane: %s  (TLS, client certificates required)\n  ingress:       https://%s/{namespace}/{broker}\n", a.GRPC, a.HTTP)
	fmt.Fprintf(out, "  CA:            %s\n  client cert:   %s\n  client key:    %s\n", t.CAFile, t.ClientCert, t.ClientKey)
	fmt.Fprintf(out, "  CLI:           export WEFT_SERVER=%s WEFT_CONTROL_PLANE_CA_FILE=%s WEFT_CONTROL_PLANE_CERT_FILE=%s WEFT_CONTROL_PLANE_KEY_FILE=%s\n",
		a.GRPC, t.CAFile, t.ClientCert, t.ClientKey)
	fmt.Fprintf(out, "                 weft apply -f broker.yaml; weft get brokers\n")
	fmt.Fprintf(out, "                 weft send --ingress https://%s --ca-file %s --broker default --type demo --data '{}'\n", a.HTTP, t.CAFile)
	if a.KafkaUser != "" {
		fmt.Fprintf(out, "  kafka client:  --bootstrap-servers %s --kafka-tls --kafka-ca-file %s --kafka-sasl-mechanism %s --kafka-sasl-user %s  (WEFT_KAFKA_SASL_PASSWORD=$(cat %s))\n",
			a.Kafka, t.CAFile, devKafkaMechanism, a.KafkaUser, a.KafkaPasswordFile)
	}
	fmt.Fprintf(out, "  curl:          curl --cacert %s -X POST https://%s/default/default -H 'Ce-Specversion: 1.0' -H 'Ce-Id: 1' -H 'Ce-Type: demo' -H 'Ce-Source: curl' -H 'Content-Type: application/json' -d '{}'\n",
		t.CAFile, a.HTTP)
}

// clientFiles are how an embedded component reaches the control plane.
func (t *devTLS) clientFiles() contract.TLS {
	return contract.TLS{CAFile: t.CAFile, CertFile: t.ClientCert, KeyFile: t.ClientKey}
}
