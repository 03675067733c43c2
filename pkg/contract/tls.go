package contract

import (
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/tlsconfig"
)

// TLS is how a process reaches the control plane's gRPC over TLS: the
// ingress, the dispatcher and the CLI share these flags. The zero TLS dials
// in plaintext.
type TLS struct {
	// CAFile holds the CAs the control plane's certificate must chain to
	// ("" with a client certificate: the system's roots).
	CAFile string
	// CertFile and KeyFile hold the client certificate presented to a
	// control plane that requires one (mTLS); re-read when they change.
	CertFile, KeyFile string
}

// AddFlags registers --control-plane-ca-file, --control-plane-cert-file and
// --control-plane-key-file.
func (t *TLS) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.CAFile, "control-plane-ca-file", t.CAFile, `PEM CA certificates the control plane's gRPC certificate must chain to; setting it dials the control plane over TLS ("" : plaintext unless a client certificate is set)`)
	fs.StringVar(&t.CertFile, "control-plane-cert-file", t.CertFile, "PEM client certificate presented to the control plane (mTLS); needs --control-plane-key-file")
	fs.StringVar(&t.KeyFile, "control-plane-key-file", t.KeyFile, "PEM private key of --control-plane-cert-file")
}

// Enabled says whether the control plane is dialled over TLS.
func (t TLS) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// Validate reports a certificate without a key and the reverse.
func (t TLS) Validate() error {
	var errs []error
	if t.CertFile != "" && t.KeyFile == "" {
		errs = append(errs, flagcheck.Errorf("--control-plane-key-file", t.KeyFile, "be set with --control-plane-cert-file"))
	}
	if t.KeyFile != "" && t.CertFile == "" {
		errs = append(errs, flagcheck.Errorf("--control-plane-cert-file", t.CertFile, "be set with --control-plane-key-file"))
	}
	return flagcheck.Join(errs...)
}

// DialOption is the transport credentials for t: TLS with t's CA and client
// certificate, or plaintext when t is not Enabled. logger (nil: none) hears
// about client certificate reloads.
func (t TLS) DialOption(logger *slog.Logger) (grpc.DialOption, error) {
	if !t.Enabled() {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	cfg, err := tlsconfig.Client{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile}.Config(logger)
	if err != nil {
		return nil, fmt.Errorf("control plane TLS: %w", err)
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}
