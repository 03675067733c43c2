package cli

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

func TestCLIPingSource(t *testing.T) {
	addr := startControlPlane(t)
	args := []string{"source", "create", "ping", "tick", "--schedule", "*/2 * * * *", "--sink", "http://display.default.svc/", "--data", `{"a":1}`, "--timezone", "Europe/Paris"}
	if out, errs, code := weft(t, addr, "", args...); code != 0 || !strings.Contains(out, `PingSource "tick" created in namespace "default"`) {
		t.Fatalf("code %d: %s%s", code, out, errs)
	}
	p := getJSON(t, addr, "pingsource", "tick").(*apis.PingSource)
	if p.APIVersion != apis.SourcesV1 || p.Spec.Schedule != "*/2 * * * *" || p.Spec.Timezone != "Europe/Paris" || p.Spec.Data != `{"a":1}` || p.Spec.Sink.URI != "http://display.default.svc/" {
		t.Errorf("stored as %+v", p.Spec)
	}
	if p.Status.SinkURI != "http://display.default.svc/" || len(p.Status.CloudEventAttributes) != 1 || p.Status.CloudEventAttributes[0].Type != apis.PingSourceEventType {
		t.Errorf("status %+v", p.Status)
	}
	for _, list := range [][]string{{"source", "list"}, {"get", "pingsources"}} {
		out, errs, code := weft(t, addr, "", list...)
		if code != 0 {
			t.Fatalf("%v: %s", list, errs)
		}
		if got := cell(t, out, "tick", "SINK"); got != "http://display.default.svc/" {
			t.Errorf("%v: SINK = %q:\n%s", list, got, out)
		}
		if got := cell(t, out, "tick", "KIND"); got != apis.KindPingSource {
			t.Errorf("%v: KIND = %q:\n%s", list, got, out)
		}
	}
	out, _, _ := weft(t, addr, "", "source", "describe", "tick")
	for _, want := range []string{"Schedule:", "*/2 * * * *", "Sink URI:", "SinkProvided", "Deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "create", "cron", "x"}, `TYPE: must be one of ping, kafka, httppoller, webhook, gitlab or github`},
		{[]string{"source", "create", "ping", "x", "--sink", "http://a.b/"}, "--schedule: must be set"},
		{[]string{"source", "create", "ping", "x", "--schedule", "* * * * *"}, "--sink: must be set"},
		{[]string{"source", "create", "ping", "x", "--schedule", "every day", "--sink", "http://a.b/"}, "spec.schedule"},
		{[]string{"source", "create", "ping", "x", "--schedule", "* * * * *", "--sink", "http://a.b/", "--timezone", "Mars/Base"}, "spec.timezone"},
	} {
		if _, errs, code := weft(t, addr, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}
	if out, errs, code := weft(t, addr, "", "source", "delete", "tick"); code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %s%s", out, errs)
	}
}
