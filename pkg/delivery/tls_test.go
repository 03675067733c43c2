package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/pkg/tlsconfig"
	"github.com/weft-dev/weft/pkg/wire"
)

// tlsSubscriber is an HTTPS subscriber whose certificate is signed by a CA
// of its own; it counts the events it received and answers code.
type tlsSubscriber struct {
	*httptest.Server
	ca  *certgen.CA
	got atomic.Int32
}

func newTLSSubscriber(t *testing.T, code int) *tlsSubscriber {
	t.Helper()
	ca, err := certgen.NewCA("subscriber CA")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Issue(certgen.Options{CommonName: "subscriber", Hosts: []string{"127.0.0.1"}, Usage: certgen.Server})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsSubscriber{ca: ca}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.got.Add(1)
		w.WriteHeader(code)
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestHTTPSDelivery(t *testing.T) {
	ctx := context.Background()
	sub := newTLSSubscriber(t, http.StatusOK)
	caPEM := string(sub.ca.CertPEM)

	t.Run("destination CACerts", func(t *testing.T) {
		s := newTestSender(t)
		res, err := s.Send(ctx, testEvent(), sub.URL, Policy{CACerts: caPEM}, nil)
		if err != nil || res.Outcome != OutcomeDelivered {
			t.Fatalf("Send: %+v, %v; want delivered", res, err)
		}
		// A second destination with the same CA set shares the client.
		c1, _ := s.clients.get(caPEM)
		c2, _ := s.clients.get(caPEM)
		if c1 != c2 || c1 == s.client {
			t.Errorf("clients for one CA set: %p %p (base %p), want one cached client of its own", c1, c2, s.client)
		}
	})

	t.Run("process CA", func(t *testing.T) {
		pool, err := tlsconfig.Pool(tlsconfig.SystemPool(), sub.ca.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		s := newTestSender(t, WithRootCAs(pool))
		res, err := s.Send(ctx, testEvent(), sub.URL, Policy{}, nil)
		if err != nil || res.Outcome != OutcomeDelivered {
			t.Fatalf("Send: %+v, %v; want delivered", res, err)
		}
		// A destination's CA set adds to the process's roots.
		other := newTLSSubscriber(t, http.StatusOK)
		res, err = s.Send(ctx, testEvent(), other.URL, Policy{CACerts: string(other.ca.CertPEM)}, nil)
		if err != nil || res.Outcome != OutcomeDelivered {
			t.Fatalf("Send with the process CA and a destination CA: %+v, %v", res, err)
		}
	})

	t.Run("untrusted: retried then dead-lettered with the TLS error", func(t *testing.T) {
		before := sub.got.Load()
		dls := newServer(t, nil)
		s := newTestSender(t)
		// The dead-letter sink is plain HTTP: only the subscriber's TLS fails.
		res, err := s.Send(ctx, testEvent(), sub.URL, Policy{Retry: 2, DeadLetterURL: dls.URL}, nil)
		if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 3 {
			t.Fatalf("Send: %+v, %v; want dead-lettered after 3 attempts", res, err)
		}
		var uerr x509.UnknownAuthorityError
		if !errors.As(res.Err, &uerr) {
			t.Fatalf("error %v, want an x509.UnknownAuthorityError", res.Err)
		}
		if sub.got.Load() != before {
			t.Errorf("the subscriber got an event over an untrusted connection")
		}
		reqs := dls.requests()
		if len(reqs) != 1 {
			t.Fatalf("dead-letter sink got %d requests, want 1", len(reqs))
		}
		data, _ := base64.StdEncoding.DecodeString(reqs[0].header.Get("Ce-" + wire.ExtErrorData))
		if !strings.Contains(string(data), "x509: certificate signed by unknown authority") {
			t.Errorf("knativeerrordata %q, want the TLS error", data)
		}
	})

	t.Run("wrong CA given", func(t *testing.T) {
		other, err := certgen.NewCA("other")
		if err != nil {
			t.Fatal(err)
		}
		res, err := newTestSender(t).Send(ctx, testEvent(), sub.URL, Policy{CACerts: string(other.CertPEM)}, nil)
		var uerr x509.UnknownAuthorityError
		if err != nil || res.Outcome != OutcomeDropped || !errors.As(res.Err, &uerr) {
			t.Fatalf("Send: %+v, %v; want dropped with an x509.UnknownAuthorityError", res, err)
		}
	})

	t.Run("bad PEM", func(t *testing.T) {
		res, err := newTestSender(t).Send(ctx, testEvent(), sub.URL, Policy{CACerts: "not PEM", Retry: 3}, nil)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 1 || !errors.Is(res.Err, ErrBadCACerts) {
			t.Fatalf("Send: %+v, %v; want dropped after 1 attempt with ErrBadCACerts", res, err)
		}
	})
}
