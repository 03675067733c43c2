package delivery

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"

	"github.com/weft-dev/weft/pkg/tlsconfig"
)

// maxTLSClients bounds the HTTP clients kept for distinct CA sets; past it
// the cache starts over (their idle connections closed), which costs new
// TLS handshakes but never correctness.
const maxTLSClients = 256

// tlsClients holds one HTTP client per distinct destination CA set
// (Policy.CACerts), each trusting the process's roots plus that set, so
// destinations sharing a CA share keep-alive connections. Safe for
// concurrent use.
type tlsClients struct {
	base  *http.Client
	roots *x509.CertPool // the process's: the system's plus --ca-file (nil: the system's)

	mu sync.Mutex
	by map[[sha256.Size]byte]tlsClient
}

type tlsClient struct {
	client *http.Client
	err    error
}

// get returns the client for caPEM ("" : the base client).
func (c *tlsClients) get(caPEM string) (*http.Client, error) {
	if caPEM == "" {
		return c.base, nil
	}
	key := sha256.Sum256([]byte(caPEM))
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.by[key]; ok {
		return e.client, e.err
	}
	if len(c.by) >= maxTLSClients {
		for _, e := range c.by {
			if e.client != nil {
				e.client.CloseIdleConnections()
			}
		}
		clear(c.by)
	}
	if c.by == nil {
		c.by = map[[sha256.Size]byte]tlsClient{}
	}
	var e tlsClient
	roots := c.roots
	if roots == nil {
		roots = tlsconfig.SystemPool()
	}
	pool, err := tlsconfig.Pool(roots, []byte(caPEM))
	if err != nil {
		e.err = fmt.Errorf("%w: destination CA certificates: %w", ErrBadCACerts, err)
	} else {
		e.client = withRootCAs(c.base, pool)
	}
	c.by[key] = e
	return e.client, e.err
}

func (c *tlsClients) closeIdle() {
	c.base.CloseIdleConnections()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.by {
		if e.client != nil {
			e.client.CloseIdleConnections()
		}
	}
}

// withRootCAs is a copy of cl whose transport trusts pool. A transport
// that is not an *http.Transport is replaced by the default one.
func withRootCAs(cl *http.Client, pool *x509.CertPool) *http.Client {
	var t *http.Transport
	if ht, ok := cl.Transport.(*http.Transport); ok {
		t = ht.Clone()
	} else {
		t = newHTTPClient().Transport.(*http.Transport)
	}
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.RootCAs = pool
	cp := *cl
	cp.Transport = t
	return &cp
}
