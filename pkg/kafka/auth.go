package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// AuthError is a connection to a broker that failed in its TLS handshake or
// its SASL authentication. errors.Is matches ErrSASLAuthentication or
// ErrTLSHandshake (Kind) and the underlying error.
type AuthError struct {
	// Kind is ErrSASLAuthentication or ErrTLSHandshake.
	Kind error
	// Broker is the broker's host:port.
	Broker string
	// User and Mechanism are the SASL credentials' (SASL failures only).
	User, Mechanism string
	// Err is what franz-go or crypto/tls reported.
	Err error
}

func (e *AuthError) Error() string {
	if e.Kind == ErrSASLAuthentication {
		return fmt.Sprintf("SASL authentication failed for user %s (mechanism %s) at Kafka broker %s: %v (check the user, password and mechanism)",
			e.User, e.Mechanism, e.Broker, e.Err)
	}
	hint := ""
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	if errors.As(e.Err, &ua) || (errors.As(e.Err, &cv) && errors.As(cv.Err, &ua)) {
		hint = " (the broker's certificate is not signed by the CA given: check the CA file or ca.crt)"
	}
	return fmt.Sprintf("TLS handshake with Kafka broker %s failed: %v%s", e.Broker, e.Err, hint)
}

func (e *AuthError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Explain returns err, or an *AuthError wrapping it when cl's latest
// connection attempt failed in TLS or SASL: franz-go reports such a
// failure as whatever the broker did (often just EOF when it closes the
// connection on bad credentials), which says nothing about why.
func Explain(cl *kgo.Client, err error) error {
	if err == nil || cl == nil {
		return err
	}
	if _, ok := errors.AsType[*AuthError](err); ok {
		return err
	}
	w := watchOf(cl)
	if w == nil {
		return err
	}
	if ae := w.failure(); ae != nil {
		if strings.Contains(ae.Err.Error(), err.Error()) {
			// The same failure, as the request saw it.
			c := *ae
			c.Err = err
			return &c
		}
		return fmt.Errorf("%w (%w)", ae, err)
	}
	return err
}

// Ping checks that cl reaches a broker (connecting, with TLS and SASL when
// configured), with the error Explain gives.
func Ping(ctx context.Context, cl *kgo.Client) error {
	return Explain(cl, cl.Ping(ctx))
}

// watchOf finds the watch among cl's hooks (nil without TLS or SASL).
func watchOf(cl *kgo.Client) *watch {
	v := reflect.ValueOf(cl.OptValue(kgo.WithHooks))
	if v.Kind() != reflect.Slice {
		return nil
	}
	for i := range v.Len() {
		if w, ok := v.Index(i).Interface().(*watch); ok {
			return w
		}
	}
	return nil
}

// watch is a client's hook recording why its connections fail: which
// brokers are in the middle of SASL (through the wrapped mechanism), and the
// latest connection failure that was TLS or SASL. It logs a failure once,
// when the client goes from working (or new) to failing. Safe for
// concurrent use (franz-go calls hooks from every connection).
type watch struct {
	tls        bool
	user, mech string
	logger     *slog.Logger // nil: no logs

	mu      sync.Mutex
	authing map[string]bool // broker addr: a SASL session begun, not done
	last    *AuthError      // nil after a connection succeeds
}

func newWatch(c *Config, logger *slog.Logger) *watch {
	w := &watch{tls: c.TLS, user: c.SASLUser, mech: c.SASLMechanism, authing: map[string]bool{}}
	if logger != nil {
		w.logger = logger.With("component", "kafka")
	}
	return w
}

// wrap returns m reporting its sessions' progress to w.
func (w *watch) wrap(m sasl.Mechanism) sasl.Mechanism { return &watchedMechanism{Mechanism: m, w: w} }

func (w *watch) failure() *AuthError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func (w *watch) authenticating(addr string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		w.authing[addr] = true
	} else {
		delete(w.authing, addr)
	}
}

// OnBrokerConnect implements kgo.HookBrokerConnect: err covers the dial,
// the TLS handshake, ApiVersions and SASL.
func (w *watch) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	addr := net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
	w.mu.Lock()
	inSASL := w.authing[addr]
	delete(w.authing, addr)
	if err == nil {
		w.last = nil
		w.mu.Unlock()
		return
	}
	var ae *AuthError
	switch {
	case w.mech != "" && (inSASL || isSASLError(err)):
		ae = &AuthError{Kind: ErrSASLAuthentication, Broker: addr, User: w.user, Mechanism: w.mech, Err: err}
	case w.tls && isTLSError(err):
		ae = &AuthError{Kind: ErrTLSHandshake, Broker: addr, Err: err}
	}
	if ae == nil {
		w.mu.Unlock()
		return
	}
	first := w.last == nil
	w.last = ae
	w.mu.Unlock()
	if first && w.logger != nil {
		w.logger.Error("kafka connection refused", "err", ae)
	}
}

func isSASLError(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.IllegalSaslState) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism)
}

func isTLSError(err error) bool {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		cv *tls.CertificateVerificationError
		rh tls.RecordHeaderError
	)
	if errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv) || errors.As(err, &rh) {
		return true
	}
	// An alert from the broker (e.g. "remote error: tls: certificate
	// required" when it wants a client certificate) has no exported type.
	return strings.Contains(err.Error(), "remote error: tls:")
}

// watchedMechanism tells its watch which brokers are authenticating.
type watchedMechanism struct {
	sasl.Mechanism
	w *watch
}

func (m *watchedMechanism) Authenticate(ctx context.Context, host string) (sasl.Session, []byte, error) {
	s, first, err := m.Mechanism.Authenticate(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	m.w.authenticating(host, true)
	return &watchedSession{Session: s, w: m.w, host: host}, first, nil
}

type watchedSession struct {
	sasl.Session
	w    *watch
	host string
}

func (s *watchedSession) Challenge(resp []byte) (bool, []byte, error) {
	done, next, err := s.Session.Challenge(resp)
	if done && err == nil {
		s.w.authenticating(s.host, false)
	}
	return done, next, err
}
