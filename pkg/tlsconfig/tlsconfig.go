// Package tlsconfig builds the crypto/tls configurations of every Weft
// process from PEM files: server certificates re-read when their files
// change on disk, client certificates for mTLS, and CA pools (a file's,
// a destination's PEM, the system's).
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/weft-dev/weft/pkg/observability"
)

var (
	// ErrNoCertificates: PEM data holds no CERTIFICATE block.
	ErrNoCertificates = errors.New("no PEM CERTIFICATE block found")
	// ErrClientCertRequired: the server asked for a client certificate
	// (mTLS) and none is configured.
	ErrClientCertRequired = errors.New("the server requires a client certificate and none is configured")
	// ErrClientCertNotAccepted: the configured client certificate is not
	// issued by a CA the server accepts.
	ErrClientCertNotAccepted = errors.New("the server does not accept our client certificate")
)

// ParseCerts parses every CERTIFICATE block of data. It fails on data that
// holds none, on a block that is not a certificate, and on anything but
// whitespace outside the blocks.
func ParseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE", len(certs)+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificates
	}
	for _, r := range rest {
		if r != ' ' && r != '\n' && r != '\r' && r != '\t' {
			return nil, fmt.Errorf("data after PEM block %d is not PEM", len(certs))
		}
	}
	return certs, nil
}

// Pool returns base (nil: an empty pool; SystemPool for the system's) with
// the certificates of pemData added. base is not modified.
func Pool(base *x509.CertPool, pemData []byte) (*x509.CertPool, error) {
	certs, err := ParseCerts(pemData)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if base != nil {
		p = base.Clone()
	}
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}

// SystemPool is the system's roots, or an empty pool where there are none.
func SystemPool() *x509.CertPool {
	p, err := x509.SystemCertPool()
	if err != nil || p == nil {
		return x509.NewCertPool()
	}
	return p
}

// LoadPool reads the CA certificates of file (PEM) into base's copy (see
// Pool). The error names file.
func LoadPool(base *x509.CertPool, file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	p, err := Pool(base, data)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", file, err)
	}
	return p, nil
}

// Server is a TLS server's files.
type Server struct {
	// CertFile and KeyFile hold the server's certificate (chain) and key;
	// they are re-read when they change (see Reloader).
	CertFile, KeyFile string
	// ClientCAFile, when set, makes the server require a client
	// certificate signed by one of its CAs (mTLS). It is re-read when it
	// changes: new connections are verified against the CAs it holds then.
	ClientCAFile string
}

// Config builds the server's tls.Config (TLS 1.2 or later). The first
// certificate must load; later changes are picked up by new connections.
func (s Server) Config(logger *slog.Logger) (*tls.Config, error) {
	r, err := NewReloader(s.CertFile, s.KeyFile, logger)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	if s.ClientCAFile != "" {
		if logger == nil {
			logger = observability.DiscardLogger()
		}
		file := s.ClientCAFile
		cas, err := newFileSet("client CA", logger, func() (*x509.CertPool, error) { return LoadPool(nil, file) }, file)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = cas.val, tls.RequireAndVerifyClientCert
		// Each handshake is verified against the CAs the file holds now.
		// Until it first changes, the server's own config serves (nil);
		// after, a copy of cfg with the new CAs, made again at each change.
		// A copy of cfg made by the server (gRPC's and net/http's add their
		// ALPN protocols to one) is not what is copied, so a caller sets its
		// NextProtos on cfg itself.
		var (
			mu   sync.Mutex
			last *tls.Config
		)
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool, reloaded := cas.get()
			mu.Lock()
			defer mu.Unlock()
			if reloaded {
				last = cfg.Clone()
				last.GetConfigForClient, last.ClientCAs = nil, pool
				logger.Info("client CAs reloaded", "client_ca_file", file)
			}
			return last, nil
		}
	}
	return cfg, nil
}

// Client is a TLS client's files.
type Client struct {
	// CAFile holds the CAs the server's certificate must chain to (""
	// : the system's roots).
	CAFile string
	// CertFile and KeyFile, when set, hold the client certificate presented
	// to servers that ask for one (re-read when they change).
	CertFile, KeyFile string
	// ServerName overrides the name the server's certificate is checked
	// against (default: the host dialled).
	ServerName string
}

// Config builds the client's tls.Config (TLS 1.2 or later).
func (c Client) Config(logger *slog.Logger) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := LoadPool(nil, c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	var r *Reloader
	if c.CertFile != "" || c.KeyFile != "" {
		var err error
		if r, err = NewReloader(c.CertFile, c.KeyFile, logger); err != nil {
			return nil, err
		}
	}
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return clientCertificate(r, cri)
	}
	return cfg, nil
}

// clientCertificate answers a server's request for a client certificate
// (r nil: none configured). Under TLS 1.3 a server refuses a missing or
// untrusted client certificate only after the client's handshake is over,
// and the client then sees a bare "broken pipe"; failing here instead says
// what is wrong: ErrClientCertRequired, or ErrClientCertNotAccepted naming
// the CAs the server accepts.
func clientCertificate(r *Reloader, cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if r == nil {
		return nil, ErrClientCertRequired
	}
	cert := r.Certificate()
	if len(cri.AcceptableCAs) > 0 {
		if err := cri.SupportsCertificate(cert); err != nil {
			return nil, fmt.Errorf("%w: ours is issued by %s; the server accepts %s",
				ErrClientCertNotAccepted, cert.Leaf.Issuer.String(), acceptableCAs(cri.AcceptableCAs))
		}
	}
	return cert, nil
}

func acceptableCAs(raw [][]byte) string {
	var names []string
	for _, der := range raw {
		var n pkix.RDNSequence
		if _, err := asn1.Unmarshal(der, &n); err == nil {
			var name pkix.Name
			name.FillFromRDNSequence(&n)
			names = append(names, name.String())
		}
	}
	return strings.Join(names, " or ")
}
