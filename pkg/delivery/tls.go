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

// maxTLSClients bounds the clients kept for distinct CA sets; past it
// the cache starts over (their idle connections closed), which costs new
// TLS handshakes but never correctness.
const maxTLSClients = 256

// tlsClients holds one HTTP client per distinct destination CA set
// (Policy.CACerts), each trusting the process's roots plus that set, so
// destinations sharing a CA share keep-alive connections; on the fast path
// (fast set), one fastClient per CA set likewise. Safe for concurrent use.
type tlsClients struct {
	base  *http.Client
	roots *x509.CertPool // the process's: the system's plus --ca-file (nil: the system's)
	// fast, when set, is the fast path's client for destinations without
	// CACerts: deliveries use fastClients (getFast), not HTTP clients.
	fast *fastClient

	mu sync.Mutex
	by map[[sha256.Size]byte]*tlsClient
}

// tlsClient is a CA set's clients, each made when first needed.
type tlsClient struct {
	pool   *x509.CertPool
	client *http.Client
	fast   *fastClient
	err    error
}

// get returns the HTTP client for caPEM ("" : the base client).
func (c *tlsClients) get(caPEM string) (*http.Client, error) {
	if caPEM == "" {
		return c.base, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entryLocked(caPEM)
	if e.err == nil && e.client == nil {
		e.client = withRootCAs(c.base, e.pool)
	}
	return e.client, e.err
}

// getFast returns the fast path's client for caPEM ("" : c.fast).
func (c *tlsClients) getFast(caPEM string) (*fastClient, error) {
	if caPEM == "" {
		return c.fast, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entryLocked(caPEM)
	if e.err == nil && e.fast == nil {
		e.fast = newFastClient(e.pool)
	}
	return e.fast, e.err
}

// entryLocked returns caPEM's entry, made (its CA pool built) if need be.
func (c *tlsClients) entryLocked(caPEM string) *tlsClient {
	key := sha256.Sum256([]byte(caPEM))
	if e, ok := c.by[key]; ok {
		return e
	}
	if len(c.by) >= maxTLSClients {
		for _, e := range c.by {
			e.closeIdle()
		}
		clear(c.by)
	}
	if c.by == nil {
		c.by = map[[sha256.Size]byte]*tlsClient{}
	}
	e := &tlsClient{}
	roots := c.roots
	if roots == nil {
		roots = tlsconfig.SystemPool()
	}
	pool, err := tlsconfig.Pool(roots, []byte(caPEM))
	if err != nil {
		e.err = fmt.Errorf("%w: destination CA certificates: %w", ErrBadCACerts, err)
	} else {
		e.pool = pool
	}
	c.by[key] = e
	return e
}

func (e *tlsClient) closeIdle() {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	if e.fast != nil {
		e.fast.closeIdle()
	}
}

func (c *tlsClients) closeIdle() {
	c.base.CloseIdleConnections()
	if c.fast != nil {
		c.fast.closeIdle()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.by {
		e.closeIdle()
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
