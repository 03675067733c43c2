// Package send owns `weft send`: it builds a CloudEvent from flags and posts
// it to a broker's ingress (or any CloudEvents HTTP endpoint) in binary or
// structured mode.
package send

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/ceheader"
	"github.com/weft-dev/weft/pkg/tlsconfig"
)

// Modes of the CloudEvents HTTP binding.
const (
	ModeBinary     = "binary"
	ModeStructured = "structured"
)

// Config is one event to send and where to.
type Config struct {
	// Broker and Namespace name the target broker; the URL is
	// <Ingress>/<Namespace>/<Broker> unless URL is set.
	Broker    string
	Namespace string
	// Ingress is the base URL of the ingress.
	Ingress string
	// URL, when set, is the exact target (any CloudEvents HTTP endpoint).
	URL string
	// Type, Source, ID (default: a new UUID) and Subject are the event's
	// attributes.
	Type    string
	Source  string
	ID      string
	Subject string
	// Data, or the content of DataFile, is the event's data.
	Data     string
	DataFile string
	// ContentType is the datacontenttype (default: application/json when
	// the data is JSON, text/plain for other UTF-8, else
	// application/octet-stream).
	ContentType string
	// Extensions are "name=value" extension attributes.
	Extensions []string
	// Mode is binary or structured.
	Mode string
	// Timeout bounds the whole request.
	Timeout time.Duration
	// CAFile holds PEM CAs trusted, besides the system's, for an https
	// ingress (as `weft dev --tls` prints).
	CAFile string
}

// DefaultConfig returns the defaults of the flags.
func DefaultConfig() Config {
	return Config{
		Namespace: "default",
		Ingress:   "http://127.0.0.1:8080",
		Source:    "weft-send",
		Mode:      ModeBinary,
		Timeout:   30 * time.Second,
	}
}

// AddFlags registers the flags of `weft send` on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Broker, "broker", c.Broker, "broker to send the event to")
	fs.StringVarP(&c.Namespace, "namespace", "n", c.Namespace, "namespace of the broker")
	fs.StringVar(&c.Ingress, "ingress", c.Ingress, "base URL of the ingress")
	fs.StringVar(&c.URL, "url", c.URL, "exact URL to post to, instead of <ingress>/<namespace>/<broker>")
	fs.StringVar(&c.Type, "type", c.Type, "event type (required)")
	fs.StringVar(&c.Source, "source", c.Source, "event source")
	fs.StringVar(&c.ID, "id", c.ID, "event id (default: a new UUID)")
	fs.StringVar(&c.Subject, "subject", c.Subject, "event subject")
	fs.StringVar(&c.Data, "data", c.Data, "event data")
	fs.StringVar(&c.DataFile, "data-file", c.DataFile, "file holding the event data")
	fs.StringVar(&c.ContentType, "content-type", c.ContentType, "datacontenttype (default: guessed from the data)")
	fs.StringArrayVar(&c.Extensions, "extension", c.Extensions, "extension attribute name=value (repeatable)")
	fs.StringVar(&c.Mode, "mode", c.Mode, "HTTP binding mode: binary or structured")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "how long to wait for the answer")
	fs.StringVar(&c.CAFile, "ca-file", c.CAFile, `PEM CA certificates trusted, besides the system's, for an https ingress ("" : the system's only)`)
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.Required("--type", c.Type),
		flagcheck.Required("--source", c.Source),
		flagcheck.OneOf("--mode", c.Mode, ModeBinary, ModeStructured),
		flagcheck.Positive("--timeout", c.Timeout),
	}
	if c.URL == "" {
		if c.Broker == "" {
			errs = append(errs, errors.New("--broker: must be set (or --url)"))
		}
		errs = append(errs, flagcheck.Required("--namespace", c.Namespace), flagcheck.URL("--ingress", c.Ingress, "http", "https"))
	} else {
		errs = append(errs, flagcheck.URL("--url", c.URL, "http", "https"))
	}
	if c.Data != "" && c.DataFile != "" {
		errs = append(errs, errors.New("--data, --data-file: must give one of them, got both"))
	}
	for _, kv := range c.Extensions {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			errs = append(errs, flagcheck.Errorf("--extension", kv, "be name=value"))
		case name != strings.ToLower(name) || !event.IsExtensionNameValid(name):
			errs = append(errs, flagcheck.Errorf("--extension", kv, "have a name of lower-case letters and digits"))
		}
	}
	return flagcheck.Join(errs...)
}

// Target is the URL the event is posted to.
func (c *Config) Target() string {
	if c.URL != "" {
		return c.URL
	}
	return strings.TrimRight(c.Ingress, "/") + "/" + url.PathEscape(c.Namespace) + "/" + url.PathEscape(c.Broker)
}

// Event builds the event c describes.
func (c *Config) Event() (*event.Event, error) {
	e := event.New()
	id := c.ID
	if id == "" {
		id = uuid.NewString()
	}
	e.SetID(id)
	e.SetSource(c.Source)
	e.SetType(c.Type)
	e.SetTime(time.Now())
	if c.Subject != "" {
		e.SetSubject(c.Subject)
	}
	data := []byte(c.Data)
	if c.DataFile != "" {
		var err error
		if data, err = os.ReadFile(c.DataFile); err != nil {
			return nil, fmt.Errorf("read --data-file: %w", err)
		}
	}
	if len(data) > 0 {
		ct := c.ContentType
		if ct == "" {
			ct = guessContentType(data)
		}
		e.SetDataContentType(ct)
		e.DataEncoded = data
		// Structured mode carries bytes that are not text as data_base64.
		e.DataBase64 = !utf8.Valid(data)
	} else if c.ContentType != "" {
		e.SetDataContentType(c.ContentType)
	}
	for _, kv := range c.Extensions {
		name, value, _ := strings.Cut(kv, "=")
		if err := e.Context.SetExtension(name, value); err != nil {
			return nil, fmt.Errorf("--extension %q: %w", kv, err)
		}
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("not a valid CloudEvent: %w", err)
	}
	return &e, nil
}

func guessContentType(data []byte) string {
	switch {
	case json.Valid(data):
		return "application/json"
	case utf8.Valid(data):
		return "text/plain; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

// maxErrorBody bounds how much of an error answer is kept.
const maxErrorBody = 64 << 10

// Run posts the event cfg describes and prints the status on stdout, e.g.
// "202 Accepted: event <id> sent to <url>". A non-2xx answer is returned as
// an error holding the status and the body of the answer.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	e, err := cfg.Event()
	if err != nil {
		return err
	}
	target := cfg.Target()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if cfg.Mode == ModeStructured {
		if err := cehttp.WriteRequest(binding.WithForceStructured(ctx), binding.ToMessage(e), req); err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
	} else {
		// Binary mode: ce- values percent-encoded (HTTP binding §3.1.3.2).
		if err := ceheader.WriteHTTP(req.Header, e); err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if data := e.Data(); len(data) > 0 {
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader(string(data))), int64(len(data))
		}
	}
	client := http.DefaultClient
	if cfg.CAFile != "" {
		pool, err := tlsconfig.LoadPool(tlsconfig.SystemPool(), cfg.CAFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send event %s to %s: %w", e.ID(), target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			fmt.Fprintf(stderr, "the receiver asks to retry after %s s\n", ra)
		}
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			msg = "(no body)"
		}
		return fmt.Errorf("send event %s to %s: %s: %s", e.ID(), target, status, msg)
	}
	fmt.Fprintf(stdout, "%s: event %s sent to %s\n", status, e.ID(), target)
	return nil
}
