package cmdutil

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// ProbeTimeout bounds one probe.
const ProbeTimeout = 3 * time.Second

// Probe checks target once: an http(s) URL must answer 200, a tcp://host:port
// must accept a connection. Container images built FROM scratch have no curl
// or shell, so their HEALTHCHECK runs the binary itself (`ingress probe`).
func Probe(ctx context.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("probe target %q: want http://host:port/path or tcp://host:port", target)
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	switch u.Scheme {
	case "tcp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("probe %s: %w", target, err)
		}
		return c.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fmt.Errorf("probe %s: %w", target, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("probe %s: %w", target, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("probe %s: status %d", target, resp.StatusCode)
		}
		return nil
	default:
		return fmt.Errorf("probe target %q: scheme %q is not http, https or tcp", target, u.Scheme)
	}
}

// opsProbeURL is the readiness URL of a service whose flags are in fs: its
// --ops-addr, reached on loopback when it listens on every interface.
func opsProbeURL(fs *pflag.FlagSet) (string, error) {
	f := fs.Lookup("ops-addr")
	if f == nil || f.Value.String() == "" {
		return "", fmt.Errorf("probe needs --ops-addr (or WEFT_OPS_ADDR): the service serves /readyz there")
	}
	host, port, err := net.SplitHostPort(f.Value.String())
	if err != nil {
		return "", fmt.Errorf("--ops-addr: %q is not host:port", f.Value.String())
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// runProbe is `<service> probe [URL]`: exit 0 when the service (or URL) is ready.
func runProbe(name string, fs *pflag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s probe: %v\n", name, err)
		return 2
	}
	if err := ApplyEnv(fs); err != nil {
		fmt.Fprintf(stderr, "%s probe: %v\n", name, err)
		return 2
	}
	var target string
	switch rest := fs.Args(); len(rest) {
	case 0:
		u, err := opsProbeURL(fs)
		if err != nil {
			fmt.Fprintf(stderr, "%s probe: %v\n", name, err)
			return 2
		}
		target = u
	case 1:
		target = rest[0]
	default:
		fmt.Fprintf(stderr, "%s probe: at most one URL, got %s\n", name, strings.Join(rest, " "))
		return 2
	}
	if err := Probe(context.Background(), target); err != nil {
		fmt.Fprintf(stderr, "%s probe: %v\n", name, err)
		return 1
	}
	return 0
}
