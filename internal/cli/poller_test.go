package cli

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

func TestCLIHTTPPollerSource(t *testing.T) {
	addr := startControlPlane(t)
	args := []string{"source", "create", "httppoller", "alerts", "--endpoint", "https://api.example.com/alerts?area=KS", "--interval", "10s",
		"--eventType", "com.example.alerts", "--event-source", "gov.weather", "--method", "post",
		"--header", "Accept=application/json", "--header", "X-Api-Key=k=1", "--sink", "http://display.default.svc/",
		"--basic-auth-username", "u", "--basic-auth-password-secret", "poller-creds:password"}
	if out, errs, code := weft(t, addr, "", args...); code != 0 || !strings.Contains(out, `HTTPPollerSource "alerts" created in namespace "default"`) {
		t.Fatalf("code %d: %s%s", code, out, errs)
	}
	p := getJSON(t, addr, "httppollersource", "alerts").(*apis.HTTPPollerSource)
	s := p.Spec
	if p.APIVersion != apis.HTTPPollerSourceAPIVersion || s.Endpoint != "https://api.example.com/alerts?area=KS" || s.Interval != "10s" ||
		s.EventType != "com.example.alerts" || s.EventSource != "gov.weather" || s.Method != "POST" ||
		s.Headers["Accept"] != "application/json" || s.Headers["X-Api-Key"] != "k=1" || s.Sink.URI != "http://display.default.svc/" ||
		s.BasicAuthUsername != "u" || s.BasicAuthPassword == nil || s.BasicAuthPassword.ValueFromSecret == nil || s.BasicAuthPassword.ValueFromSecret.Name != "poller-creds" {
		t.Errorf("stored as %+v", s)
	}
	if len(p.Status.CloudEventAttributes) != 1 || p.Status.CloudEventAttributes[0].Type != "com.example.alerts" {
		t.Errorf("status %+v", p.Status)
	}
	// A second source, a PingSource: `source list` shows both kinds.
	if _, errs, code := weft(t, addr, "", "source", "create", "ping", "tick", "--schedule", "* * * * *", "--sink", "http://tick.default.svc/"); code != 0 {
		t.Fatal(errs)
	}
	out, errs, code := weft(t, addr, "", "source", "list")
	if code != 0 {
		t.Fatal(errs)
	}
	for name, want := range map[string][2]string{"alerts": {apis.KindHTTPPollerSource, "http://display.default.svc/"}, "tick": {apis.KindPingSource, "http://tick.default.svc/"}} {
		if k, sink := cell(t, out, name, "KIND"), cell(t, out, name, "SINK"); k != want[0] || sink != want[1] {
			t.Errorf("source list: %s is %q to %q; want %q to %q:\n%s", name, k, sink, want[0], want[1], out)
		}
	}
	out, errs, code = weft(t, addr, "", "get", "httppollersources")
	if code != 0 {
		t.Fatal(errs)
	}
	if got := cell(t, out, "alerts", "ENDPOINT"); got != "POST https://api.example.com/alerts?area=KS" {
		t.Errorf("ENDPOINT = %q:\n%s", got, out)
	}
	if got := cell(t, out, "alerts", "INTERVAL"); got != "10s" {
		t.Errorf("INTERVAL = %q:\n%s", got, out)
	}
	out, _, _ = weft(t, addr, "", "source", "describe", "alerts")
	for _, want := range []string{"Endpoint:", "POST https://api.example.com/alerts?area=KS", "Interval:", "10s", "Header:", "X-Api-Key: k=1",
		"from secret poller-creds key password", "Sink URI:", "SinkProvided", "SecretResolveFailed"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	ok := []string{"--endpoint", "https://a.example.com/", "--interval", "10s", "--event-type", "t", "--sink", "http://a.b/"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "create", "http", "x"}, `TYPE: must be one of ping, kafka, httppoller, webhook, gitlab or github`},
		{[]string{"source", "create", "httppoller", "x", "--sink", "http://a.b/"}, "--endpoint: must be set"},
		{[]string{"source", "create", "httppoller", "x", "--endpoint", "https://a.example.com/", "--sink", "http://a.b/"}, "--interval: must be set"},
		{[]string{"source", "create", "httppoller", "x", "--endpoint", "https://a.example.com/", "--interval", "1m"}, "--event-type: must be set"},
		{append([]string{"source", "create", "httppoller", "x", "--header", "NoValue"}, ok...), "--header"},
		{append([]string{"source", "create", "httppoller", "x", "--basic-auth-password-secret", "nokey"}, ok...), "SECRET:KEY"},
		{append([]string{"source", "create", "httppoller", "x", "--schedule", "* * * * *"}, ok...), "only for ping"},
		{[]string{"source", "create", "ping", "x", "--schedule", "* * * * *", "--sink", "http://a.b/", "--endpoint", "https://a.example.com/"}, "only for httppoller"},
		{[]string{"source", "create", "httppoller", "x", "--endpoint", "https://a.example.com/", "--interval", "100ms", "--event-type", "t", "--sink", "http://a.b/"}, "spec.interval"},
		{[]string{"source", "create", "httppoller", "x", "--endpoint", "ftp://a.example.com/", "--interval", "1m", "--event-type", "t", "--sink", "http://a.b/"}, "spec.endpoint"},
		{[]string{"source", "describe", "nothing"}, `no source "nothing"`},
	} {
		if _, errs, code := weft(t, addr, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}
	if out, errs, code := weft(t, addr, "", "source", "delete", "alerts", "tick"); code != 0 || strings.Count(out, "deleted") != 2 {
		t.Errorf("delete: %s%s", out, errs)
	}
	if _, errs, _ := weft(t, addr, "", "source", "list"); !strings.Contains(errs, "No sources found") {
		t.Errorf("list after delete: %q", errs)
	}
}

// TestCLISourceTypeFlags: a flag that only other source types take is
// refused, naming the types that take it; flags two types share are
// accepted by both.
func TestCLISourceTypeFlags(t *testing.T) {
	addr := startControlPlane(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "create", "webhook", "w", "--event-type", "t", "--sink", "http://a.b/", "--interval", "1m"}, "--interval: must be given only for httppoller"},
		{[]string{"source", "create", "gitlab", "g", "--project-url", "https://gitlab.com/a/b", "--secret-token-secret", "s:k", "--sink", "http://a.b/", "--event-type", "t"}, "--event-type: must be given only for httppoller, webhook"},
		{[]string{"source", "create", "ping", "p", "--schedule", "@hourly", "--sink", "http://a.b/", "--event-types", "push"}, "--event-types: must be given only for gitlab, github"},
	} {
		if _, errs, code := weft(t, addr, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}
	for _, args := range [][]string{
		{"source", "create", "webhook", "w", "--event-type", "com.example.w", "--event-source", "ex", "--basic-auth-username", "u", "--basic-auth-password-secret", "creds:pw", "--sink", "http://a.b/"},
		{"source", "create", "httppoller", "p", "--endpoint", "https://a.example.com/", "--interval", "1m", "--event-type", "com.example.p", "--event-source", "ex", "--basic-auth-username", "u", "--basic-auth-password-secret", "creds:pw", "--sink", "http://a.b/"},
	} {
		if out, errs, code := weft(t, addr, "", args...); code != 0 {
			t.Fatalf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	p := getJSON(t, addr, "httppollersource", "p").(*apis.HTTPPollerSource)
	if p.Spec.EventType != "com.example.p" || p.Spec.EventSource != "ex" || p.Spec.BasicAuthUsername != "u" ||
		p.Spec.BasicAuthPassword == nil || p.Spec.BasicAuthPassword.ValueFromSecret == nil || p.Spec.BasicAuthPassword.ValueFromSecret.Name != "creds" {
		t.Errorf("poller stored as %+v", p.Spec)
	}
	w := getJSON(t, addr, "webhooksource", "w").(*apis.WebhookSource)
	if w.Spec.EventType != "com.example.w" || w.Spec.BasicAuthUsername == nil || *w.Spec.BasicAuthUsername != "u" {
		t.Errorf("webhook stored as %+v", w.Spec)
	}
}
