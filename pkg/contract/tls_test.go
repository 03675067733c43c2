package contract_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/weft-dev/weft/internal/certgen"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

type applier struct{ got chan uint64 }

func (a *applier) ApplyContract(_ context.Context, c *weftv1.Contract) error {
	select {
	case a.got <- c.GetVersion():
	default:
	}
	return nil
}

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written to dir.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func makePKI(t *testing.T, name string) pki {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	ca, err := certgen.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{
		ca: filepath.Join(dir, "ca.pem"), serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem"),
	}
	if err := certgen.WriteFile(p.ca, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o         certgen.Options
		cert, key string
	}{
		{certgen.Options{CommonName: "control plane", Hosts: []string{"127.0.0.1"}, Usage: certgen.Server}, p.serverCert, p.serverKey},
		{certgen.Options{CommonName: "dispatcher-1", Usage: certgen.Client}, p.clientCert, p.clientKey},
	} {
		pair, err := ca.Issue(c.o)
		if err != nil {
			t.Fatal(err)
		}
		if err := pair.Write(c.cert, c.key); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestMTLS runs a control plane serving gRPC over TLS and requiring client
// certificates: a data-plane client with a certificate from the CA gets the
// contract; one without a client certificate, or trusting another CA, is
// refused with an error saying so.
func TestMTLS(t *testing.T) {
	p := makePKI(t, "weft CA")
	other := makePKI(t, "other CA")
	cfg := controlplane.DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(testutil.StartKafka(t))
	cfg.GRPCAddr, cfg.OpsAddr = "127.0.0.1:0", ""
	cfg.GRPCTLSCertFile, cfg.GRPCTLSKeyFile, cfg.GRPCClientCAFile = p.serverCert, p.serverKey, p.ca
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := controlplane.New(ctx, cfg, controlplane.WithLogger(testutil.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("control plane Run: %v", err)
		}
	}()

	t.Run("mTLS", func(t *testing.T) {
		// The CLI's path: apply a Broker over mTLS.
		opt, err := (contract.TLS{CAFile: p.ca, CertFile: p.clientCert, KeyFile: p.clientKey}).DialOption(nil)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(srv.Addr(), opt)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		broker := `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"b","namespace":"default"}}`
		if _, err := weftv1.NewControlPlaneClient(conn).Apply(ctx, &weftv1.ApplyRequest{Objects: []*weftv1.Object{{
			ApiVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "b", Namespace: "default", Json: []byte(broker),
		}}}); err != nil {
			t.Fatalf("apply over mTLS: %v", err)
		}
		a := &applier{got: make(chan uint64, 1)}
		cl := contract.NewClient(contract.ClientConfig{
			Server: srv.Addr(), Role: wire.RoleDispatcher, ProcessID: "d1",
			TLS: contract.TLS{CAFile: p.ca, CertFile: p.clientCert, KeyFile: p.clientKey},
		}, a, testutil.Logger(t))
		cctx, ccancel := context.WithCancel(ctx)
		cdone := make(chan error, 1)
		go func() { cdone <- cl.Run(cctx) }()
		select {
		case <-cl.Ready():
		case <-time.After(30 * time.Second):
			t.Fatal("no contract over mTLS")
		}
		ccancel()
		if err := <-cdone; err != nil {
			t.Fatal(err)
		}
	})

	for name, tc := range map[string]struct {
		tls  contract.TLS
		want string
	}{
		"no client certificate":            {contract.TLS{CAFile: p.ca}, "the server requires a client certificate and none is configured"},
		"client certificate of another CA": {contract.TLS{CAFile: p.ca, CertFile: other.clientCert, KeyFile: other.clientKey}, "the server does not accept our client certificate: ours is issued by CN=other CA,O=Weft; the server accepts CN=weft CA,O=Weft"},
		"server of another CA":             {contract.TLS{CAFile: other.ca, CertFile: p.clientCert, KeyFile: p.clientKey}, "x509: certificate signed by unknown authority"},
		"plaintext":                        {contract.TLS{}, "connection"},
	} {
		t.Run(name, func(t *testing.T) {
			opt, err := tc.tls.DialOption(nil)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := grpc.NewClient(srv.Addr(), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			err = func() error {
				st, err := weftv1.NewContractServiceClient(conn).WatchContract(cctx)
				if err != nil {
					return err
				}
				if err := st.Send(&weftv1.WatchContractRequest{ProcessId: "x", Role: string(wire.RoleIngress)}); err != nil {
					_, err = st.Recv()
					return err
				}
				_, err = st.Recv()
				return err
			}()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestTLSValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		tls  contract.TLS
		want string
	}{
		"cert without key": {contract.TLS{CertFile: "c.pem"}, "--control-plane-key-file: must be set with --control-plane-cert-file"},
		"key without cert": {contract.TLS{KeyFile: "k.pem"}, "--control-plane-cert-file: must be set with --control-plane-key-file"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.tls.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := (contract.TLS{CAFile: "/nonexistent/ca.pem"}).DialOption(nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Fatalf("DialOption with a missing CA file: %v, want an error naming it", err)
	}
}
