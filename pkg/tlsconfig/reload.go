package tlsconfig

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/weft-dev/weft/pkg/observability"
)

// Reloader serves a certificate and key from two PEM files and re-reads them
// when either file's modification time or size changes, so a renewed
// certificate is served to new connections without a restart. A pair that
// does not load (a half-written file, a key that does not match the
// certificate) is logged and the previous pair kept; it is tried again when
// the files change again. Safe for concurrent use.
type Reloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp // of the files when last read (or tried)
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewReloader loads the pair; it fails when the first load fails. logger
// may be nil.
func NewReloader(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, errors.New("no certificate and key files")
	case certFile == "":
		return nil, fmt.Errorf("key file %s has no certificate file", keyFile)
	case keyFile == "":
		return nil, fmt.Errorf("certificate file %s has no key file", certFile)
	}
	if logger == nil {
		logger = observability.DiscardLogger()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, logger: logger}
	st, err := r.stamps()
	if err != nil {
		return nil, err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.stamp = &c, st
	return r, nil
}

func (r *Reloader) stamps() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("stat %s: %w", f, err)
		}
		st[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return st, nil
}

// Certificate returns the pair to serve, re-reading the files first when
// they changed.
func (r *Reloader) Certificate() *tls.Certificate {
	st, err := r.stamps()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || st == r.stamp {
		return r.cert // a file being replaced: keep serving the last pair
	}
	r.stamp = st
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.logger.Error("certificate files changed but do not load; still serving the previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "err", err)
		return r.cert
	}
	r.cert = &c
	r.logger.Info("certificate reloaded", "cert_file", r.certFile, "subject", c.Leaf.Subject.String(),
		"serial", c.Leaf.SerialNumber.String(), "not_after", c.Leaf.NotAfter)
	return r.cert
}

// GetCertificate is a tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}
