package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsConfig is the TLS configuration of c: the system roots plus c's CA
// (file or PEM), and c's client certificate when it has one. franz-go sets
// ServerName to each broker's host, so certificates are checked against
// the name the client dials.
func (c *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	ca, caFrom, err := pemOf(c.CAFile, c.CAPEM, "--kafka-ca-file", "the CA certificate")
	if err != nil {
		return nil, err
	}
	if len(ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%w: %s: no PEM certificate in it", ErrInvalidAuth, caFrom)
		}
		tc.RootCAs = pool
	}
	cert, certFrom, err := pemOf(c.CertFile, c.CertPEM, "--kafka-cert-file", "the client certificate")
	if err != nil {
		return nil, err
	}
	key, keyFrom, err := pemOf(c.KeyFile, c.KeyPEM, "--kafka-key-file", "the client key")
	if err != nil {
		return nil, err
	}
	switch {
	case len(cert) > 0 && len(key) > 0:
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate (%s) and key (%s): %w", ErrInvalidAuth, certFrom, keyFrom, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	case len(cert) > 0:
		return nil, fmt.Errorf("%w: a client certificate (%s) without its key", ErrInvalidAuth, certFrom)
	case len(key) > 0:
		return nil, fmt.Errorf("%w: a client key (%s) without its certificate", ErrInvalidAuth, keyFrom)
	}
	return tc, nil
}

// pemOf is the PEM in file (read) or inline, and where it came from for
// error messages; both set is an error.
func pemOf(file, inline, flag, what string) ([]byte, string, error) {
	switch {
	case file != "" && inline != "":
		return nil, "", fmt.Errorf("%w: %s %q and %s in memory are both set; give one", ErrInvalidAuth, flag, file, what)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("%w: read %s %s: %w", ErrInvalidAuth, flag, file, err)
		}
		return b, flag + " " + file, nil
	case inline != "":
		return []byte(inline), what, nil
	}
	return nil, "", nil
}
