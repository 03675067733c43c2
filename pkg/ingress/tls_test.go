package ingress_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
)

// TestHTTPS serves events over HTTPS only: a client trusting the CA gets
// 202, a renewed certificate written over the files is served to new
// connections without a restart (a half-written pair is not), and a client
// trusting another CA fails on x509.
func TestHTTPS(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, "weft.broker.default.tls", 1)

	ca, err := certgen.NewCA("ingress test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := issue(t, ca, certFile, keyFile)

	cfg := testConfig(kcfg)
	cfg.HTTPAddr = "" // plain HTTP off
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	in, err := ingress.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ApplyContract(context.Background(), contractOf(1, brokerEntry("default", "tls", "weft.broker.default.tls"))); err != nil {
		t.Fatal(err)
	}
	ctx := run(t, in)
	if in.Addr() != nil {
		t.Errorf("plain HTTP serves on %v with --http-addr \"\"", in.Addr())
	}
	url := "https://" + in.TLSAddr().String() + "/default/tls"

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	// post sends one event on a new connection and returns the serial of
	// the certificate the server presented.
	post := func(roots *x509.CertPool, id string) (int, string, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		var serial string
		tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}
		code, _, _, err := binaryPost(ctx, &http.Client{Transport: tr, Timeout: 10 * time.Second}, url, id)
		return code, serial, err
	}
	testutil.Eventually(t, 10*time.Second, "202 over HTTPS", func() (bool, string) {
		code, serial, err := post(pool, "e1")
		if err != nil {
			return false, err.Error()
		}
		if serial != first.SerialNumber.String() {
			t.Fatalf("served serial %s, want %s", serial, first.SerialNumber)
		}
		return code == http.StatusAccepted, http.StatusText(code)
	})

	// A half-written pair (a new certificate beside the old key) is not
	// served: the old pair stays.
	renewed, err := ca.Issue(certgen.Options{CommonName: "ingress", Hosts: []string{"127.0.0.1"}, Usage: certgen.Server})
	if err != nil {
		t.Fatal(err)
	}
	if err := certgen.WriteFile(certFile, renewed.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, serial, err := post(pool, "e2"); err != nil || code != http.StatusAccepted || serial != first.SerialNumber.String() {
		t.Fatalf("with a mismatched pair on disk: %d, serial %s, %v; want 202 with the old serial %s", code, serial, err, first.SerialNumber)
	}
	// The key arrives: the new certificate is served, no restart.
	if err := certgen.WriteFile(keyFile, renewed.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	code, serial, err := post(pool, "e3")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("after the renewal: %d, %v", code, err)
	}
	if serial != renewed.Cert.SerialNumber.String() {
		t.Fatalf("after the renewal the served serial is %s, want the new %s", serial, renewed.Cert.SerialNumber)
	}

	other, err := certgen.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := x509.NewCertPool()
	wrong.AddCert(other.Cert)
	_, _, err = post(wrong, "e4")
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("a client trusting another CA: %v, want an x509.UnknownAuthorityError", err)
	}

	r := newTopicReader(t, kcfg, adm, "weft.broker.default.tls")
	var ids []string
	testutil.Eventually(t, 10*time.Second, "the events over HTTPS in Kafka", func() (bool, string) {
		ids = append(ids, idsOf(t, r.next())...)
		return strings.Join(ids, ",") == "e1,e2,e3", strings.Join(ids, ",")
	})
}

func issue(t *testing.T, ca *certgen.CA, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	p, err := ca.Issue(certgen.Options{CommonName: "ingress", Hosts: []string{"127.0.0.1", "localhost"}, Usage: certgen.Server})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return p.Cert
}

func TestHTTPSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mod  func(*ingress.Config)
		want string
	}{
		"no listener":        {func(c *ingress.Config) { c.HTTPAddr = "" }, "--http-addr: must be set when --https-addr is not"},
		"https without key":  {func(c *ingress.Config) { c.HTTPSAddr, c.TLSCertFile = ":8443", bad }, "--tls-key-file: must be set"},
		"cert without https": {func(c *ingress.Config) { c.TLSCertFile = bad }, `--tls-cert-file: must be used with --https-addr, got`},
		"bad pair":           {func(c *ingress.Config) { c.HTTPSAddr, c.TLSCertFile, c.TLSKeyFile = ":8443", bad, bad }, "--tls-cert-file, --tls-key-file: load certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(testutil.KafkaConfig(testutil.StartKafka(t)))
			tc.mod(&cfg)
			_, err := ingress.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}
