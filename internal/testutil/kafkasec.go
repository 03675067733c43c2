package testutil

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/pkg/kafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// KafkaCA is a certificate authority made for one test: it signs Kafka
// brokers' and clients' certificates.
type KafkaCA struct {
	// CertPEM is the CA certificate; CAFile holds it on disk.
	CertPEM []byte
	CAFile  string
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	dir     string
}

// NewKafkaCA makes a CA (in t.TempDir()).
func NewKafkaCA(t testing.TB) *KafkaCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "weft test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &KafkaCA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key, dir: t.TempDir()}
	ca.CAFile = writeFile(t, ca.dir, "ca.crt", ca.CertPEM)
	return ca
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// KafkaCert is a certificate the CA signed, in PEM and on disk.
type KafkaCert struct {
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// Issue signs a certificate for cn: a server certificate valid for
// 127.0.0.1, ::1 and localhost, or (client) a client certificate.
func (ca *KafkaCA) Issue(t testing.TB, cn string, client bool) KafkaCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := KafkaCert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
	c.CertFile = writeFile(t, ca.dir, cn+".crt", c.CertPEM)
	c.KeyFile = writeFile(t, ca.dir, cn+".key", c.KeyPEM)
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatal(err)
	}
	return c
}

// KafkaUser is a SASL user of a test Kafka.
type KafkaUser struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism, User, Password string
}

// KafkaSecurity says how StartKafkaSecure secures its server.
type KafkaSecurity struct {
	// TLS serves TLS only, with a certificate from a CA made for the test.
	TLS bool
	// ClientCerts requires client certificates signed by that CA (mTLS;
	// implies TLS).
	ClientCerts bool
	// Users enables SASL with these users (none: no SASL).
	Users []KafkaUser
}

// SecureKafka is a test Kafka with TLS and/or SASL.
type SecureKafka struct {
	*devkafka.Server
	Security KafkaSecurity
	// CA signed the server's certificate and Client (nil/empty without TLS).
	CA     *KafkaCA
	Client KafkaCert
}

// StartKafkaSecure starts a Kafka-protocol server (kfake, on a loopback
// TCP port) secured as sec says, stopped when the test ends.
func StartKafkaSecure(t testing.TB, sec KafkaSecurity, extra ...kfake.Opt) *SecureKafka {
	t.Helper()
	s := &SecureKafka{Security: sec}
	var opts []kfake.Opt
	if sec.TLS || sec.ClientCerts {
		s.Security.TLS = true
		s.CA = NewKafkaCA(t)
		srv := s.CA.Issue(t, "kafka-server", false)
		tc := &tls.Config{Certificates: []tls.Certificate{srv.TLS}, MinVersion: tls.VersionTLS12}
		s.Client = s.CA.Issue(t, "weft-client", true)
		if sec.ClientCerts {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(s.CA.CertPEM)
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		opts = append(opts, kfake.TLS(tc))
	}
	if len(sec.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range sec.Users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.User, u.Password))
		}
	}
	s.Server = StartKafka(t, append(opts, extra...)...)
	return s
}

// StartKafkaSASL starts a test Kafka in plaintext with SASL for users.
func StartKafkaSASL(t testing.TB, users ...KafkaUser) *SecureKafka {
	t.Helper()
	return StartKafkaSecure(t, KafkaSecurity{Users: users})
}

// StartKafkaTLS starts a test Kafka serving TLS (requiring client
// certificates when clientCerts).
func StartKafkaTLS(t testing.TB, clientCerts bool) *SecureKafka {
	t.Helper()
	return StartKafkaSecure(t, KafkaSecurity{TLS: true, ClientCerts: clientCerts})
}

// Config is a client Config that reaches s: TLS with s's CA file (and the
// client certificate when s requires one), and SASL as the first user.
func (s *SecureKafka) Config() kafka.Config {
	c := KafkaConfig(s.Server)
	if s.Security.TLS {
		c.TLS, c.CAFile = true, s.CA.CAFile
		if s.Security.ClientCerts {
			c.CertFile, c.KeyFile = s.Client.CertFile, s.Client.KeyFile
		}
	}
	if len(s.Security.Users) > 0 {
		u := s.Security.Users[0]
		c.SASLMechanism, c.SASLUser, c.SASLPassword = u.Mechanism, u.User, u.Password
	}
	return c
}

// Auth is the contract's KafkaAuth that reaches s (what a KafkaSink's or a
// KafkaSource's Secret compiles to), PEM in memory.
func (s *SecureKafka) Auth() *weftv1.KafkaAuth {
	a := &weftv1.KafkaAuth{}
	if s.Security.TLS {
		a.Tls, a.CaCert = true, string(s.CA.CertPEM)
		if s.Security.ClientCerts {
			a.Cert, a.Key = string(s.Client.CertPEM), string(s.Client.KeyPEM)
		}
	}
	if len(s.Security.Users) > 0 {
		u := s.Security.Users[0]
		a.SaslMechanism, a.SaslUser, a.SaslPassword = u.Mechanism, u.User, u.Password
	}
	return a
}

// PingKafka is the error a client made from cfg gets when it asks its Kafka
// for metadata within timeout (nil: it could).
func PingKafka(t testing.TB, cfg kafka.Config, timeout time.Duration) error {
	t.Helper()
	cl, err := cfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return kafka.Ping(ctx, cl)
}
