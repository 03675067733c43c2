package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/certgen"
)

// A server's client CA file is re-read when it changes: a client whose
// certificate the new CAs sign is let in, one signed only by the old CAs is
// refused, over real TLS handshakes on loopback, with the server's ALPN
// protocol kept. A file that no longer loads keeps the CAs last loaded.
func TestServerReloadsClientCAs(t *testing.T) {
	dir := t.TempDir()
	serverCA, oldCA, newCA := newCA(t, "server CA"), newCA(t, "old client CA"), newCA(t, "new client CA")
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := issue(t, serverCA, certgen.Options{CommonName: "server", Hosts: []string{"127.0.0.1"}, Usage: certgen.Server}).Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "clients.crt")
	writeAfter(t, caFile, oldCA.CertPEM)

	var logs bytes.Buffer
	cfg, err := Server{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile}.Config(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2"}
	addr := serve(t, cfg)

	oldClient := clientConfig(t, serverCA, issue(t, oldCA, certgen.Options{CommonName: "old", Usage: certgen.Client}))
	newClient := clientConfig(t, serverCA, issue(t, newCA, certgen.Options{CommonName: "new", Usage: certgen.Client}))
	expect := func(what string, c *tls.Config, wantIn bool) {
		t.Helper()
		err := handshake(addr, c)
		if wantIn && err != nil {
			t.Errorf("%s: refused: %v", what, err)
		}
		if !wantIn && err == nil {
			t.Errorf("%s: let in, want refused", what)
		}
	}
	expect("old CA, before the change", oldClient, true)
	expect("new CA, before the change", newClient, false)

	writeAfter(t, caFile, newCA.CertPEM)
	expect("new CA, after the change", newClient, true)
	expect("old CA, after the change", oldClient, false)
	if !strings.Contains(logs.String(), "client CAs reloaded") {
		t.Errorf("no reload logged:\n%s", logs.String())
	}

	writeAfter(t, caFile, []byte("not a certificate"))
	expect("new CA, after a broken file", newClient, true)
	expect("old CA, after a broken file", oldClient, false)
	if !strings.Contains(logs.String(), "client CA files changed but do not load") {
		t.Errorf("the broken file was not logged:\n%s", logs.String())
	}
}

func newCA(t *testing.T, cn string) *certgen.CA {
	t.Helper()
	ca, err := certgen.NewCA(cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *certgen.CA, o certgen.Options) *certgen.Pair {
	t.Helper()
	p, err := ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeAfter writes data to path with a modification time later than the
// file's last one, so that a change is seen even within the file system's
// time granularity.
func writeAfter(t *testing.T, path string, data []byte) {
	t.Helper()
	next := time.Now()
	if fi, err := os.Stat(path); err == nil && !fi.ModTime().Before(next) {
		next = fi.ModTime().Add(time.Second)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, next, next); err != nil {
		t.Fatal(err)
	}
}

// serve accepts TLS connections on loopback with cfg and writes "ok" on
// each whose handshake succeeds.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func clientConfig(t *testing.T, serverCA *certgen.CA, p *certgen.Pair) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: serverCA.Pool(), Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
}

// handshake connects to addr with c and reads the server's "ok": nil when
// the server let the client in (and the two agreed on h2).
func handshake(addr string, c *tls.Config) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return fmt.Errorf("the server answered %q, want \"ok\"", b)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("negotiated protocol %q, want h2", p)
	}
	return nil
}
