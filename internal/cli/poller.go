package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// `weft source create httppoller`: TriggerMesh's HTTPPollerSource.

// pollerFlags are the flags of `source create httppoller` (tmctl's
// --eventType, --eventSource are accepted as aliases).
type pollerFlags struct {
	endpoint, interval, eventType, eventSource, method string
	headers                                            []string
	username, passwordSecret                           string
	skipVerify                                         bool
}

func (pf *pollerFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&pf.endpoint, "endpoint", "", "httppoller: the http(s) URL to poll (required)")
	fs.StringVar(&pf.interval, "interval", "", "httppoller: how often to poll, a Go duration of at least 1s (required), e.g. 10s, 5m")
	fs.StringVar(&pf.method, "method", "", "httppoller: the HTTP method (default GET)")
	fs.StringArrayVar(&pf.headers, "header", nil, "httppoller: a request header K=V (repeatable)")
	fs.BoolVar(&pf.skipVerify, "skip-verify", false, "httppoller: do not verify the endpoint's TLS certificate")
	// tmctl's spellings.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "eventType":
			name = "event-type"
		case "eventSource":
			name = "event-source"
		}
		return pflag.NormalizedName(name)
	})
}

// httpPollerSource builds the HTTPPollerSource the flags describe; the
// control plane's validation (run first by createOnly) checks the endpoint,
// interval, method and header names.
func (sf *sourceFlags) httpPollerSource(name string) (*apis.HTTPPollerSource, error) {
	pf := &sf.poller
	p := &apis.HTTPPollerSource{TypeMeta: apis.TypeMeta{APIVersion: apis.HTTPPollerSourceAPIVersion, Kind: apis.KindHTTPPollerSource},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	s := &p.Spec
	var errs []error
	for _, f := range []struct{ flag, v, what string }{
		{"--endpoint", pf.endpoint, "the http(s) URL to poll"},
		{"--interval", pf.interval, "how often to poll, e.g. 10s"},
		{"--event-type", pf.eventType, "the events' CloudEvents type"},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: must be set: %s", f.flag, f.what))
		}
	}
	if sf.sink == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sf.sink); err != nil {
		errs = append(errs, err)
	} else {
		s.Sink = *d
	}
	for _, h := range pf.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs = append(errs, flagcheck.Errorf("--header", h, "be NAME=VALUE (e.g. X-Api-Key=abc)"))
			continue
		}
		if s.Headers == nil {
			s.Headers = map[string]string{}
		}
		s.Headers[strings.TrimSpace(k)] = v
	}
	if pf.passwordSecret != "" {
		secret, key, ok := strings.Cut(pf.passwordSecret, ":")
		if !ok || secret == "" || key == "" {
			errs = append(errs, flagcheck.Errorf("--basic-auth-password-secret", pf.passwordSecret, "be SECRET:KEY (e.g. poller-creds:password)"))
		} else {
			s.BasicAuthPassword = &apis.ValueFromField{ValueFromSecret: &apis.SecretKeySelector{Name: secret, Key: key}}
		}
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	s.Endpoint, s.Interval, s.EventType, s.EventSource, s.Method = pf.endpoint, pf.interval, pf.eventType, pf.eventSource, strings.ToUpper(pf.method)
	s.BasicAuthUsername, s.SkipVerify = pf.username, pf.skipVerify
	return p, nil
}

// describePoller prints the spec fields of an HTTPPollerSource for `weft
// describe` (never the password: only where it comes from).
func describePoller(w io.Writer, p *apis.HTTPPollerSource) {
	line := fieldLine(w)
	s := &p.Spec
	line("Endpoint", s.Method+" "+s.Endpoint)
	line("Interval", s.Interval)
	line("Event type", s.EventType)
	line("Event source", apis.HTTPPollerEventSource(p))
	keys := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line("Header", k+": "+s.Headers[k])
	}
	line("Basic auth username", s.BasicAuthUsername)
	if pw := s.BasicAuthPassword; pw != nil {
		if sel := pw.ValueFromSecret; sel != nil {
			line("Basic auth password", "from secret "+sel.Name+" key "+sel.Key)
		} else {
			line("Basic auth password", "(set in the spec)")
		}
	}
	if s.SkipVerify {
		line("TLS", "certificate not verified (skipVerify)")
	} else if s.CACertificate != "" {
		line("TLS", "verified with the spec's CA certificate")
	}
	line("Sink", formatDest(&s.Sink, p.ObjectMeta.Namespace))
	line("Sink URI", p.Status.SinkURI)
	printSpec(w, "CE overrides", s.CloudEventOverrides)
}
