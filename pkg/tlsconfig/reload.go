package tlsconfig

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
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
	certFile string
	pair     *fileSet[*tls.Certificate]
	logger   *slog.Logger
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
	pair, err := newFileSet("certificate", logger, func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s and key %s: %w", certFile, keyFile, err)
		}
		return &c, nil
	}, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &Reloader{certFile: certFile, pair: pair, logger: logger}, nil
}

// Certificate returns the pair to serve, re-reading the files first when
// they changed.
func (r *Reloader) Certificate() *tls.Certificate {
	c, reloaded := r.pair.get()
	if reloaded {
		r.logger.Info("certificate reloaded", "cert_file", r.certFile, "subject", c.Leaf.Subject.String(),
			"serial", c.Leaf.SerialNumber.String(), "not_after", c.Leaf.NotAfter)
	}
	return c
}

// GetCertificate is a tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// fileSet is a value loaded from files, loaded again when one of them
// changes (its modification time or size). A load that fails after the
// first is logged and the previous value kept; it is tried again when the
// files change again. Safe for concurrent use.
type fileSet[T any] struct {
	what   string // what the files hold, for the log
	files  []string
	load   func() (T, error)
	logger *slog.Logger

	mu    sync.Mutex
	val   T
	stamp []fileStamp // of the files when last read (or tried)
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// newFileSet loads files with load; it fails when that first load fails.
func newFileSet[T any](what string, logger *slog.Logger, load func() (T, error), files ...string) (*fileSet[T], error) {
	s := &fileSet[T]{what: what, files: files, load: load, logger: logger}
	st, err := s.stamps()
	if err != nil {
		return nil, err
	}
	if s.val, err = load(); err != nil {
		return nil, err
	}
	s.stamp = st
	return s, nil
}

func (s *fileSet[T]) stamps() ([]fileStamp, error) {
	st := make([]fileStamp, len(s.files))
	for i, f := range s.files {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", f, err)
		}
		st[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return st, nil
}

// get returns the value, loading the files again first when they changed;
// reloaded says whether it is a new value.
func (s *fileSet[T]) get() (v T, reloaded bool) {
	st, err := s.stamps()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || slices.Equal(st, s.stamp) {
		return s.val, false // a file being replaced: keep the last value
	}
	s.stamp = st
	v, err = s.load()
	if err != nil {
		s.logger.Error(s.what+" files changed but do not load; still using the previous "+s.what,
			"files", s.files, "err", err)
		return s.val, false
	}
	s.val = v
	return v, true
}
