package cli

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

func TestCLIEventType(t *testing.T) {
	addr := startControlPlane(t)
	if _, errs, code := weft(t, addr, "", "broker", "create", "default", "-n", "event-example"); code != 0 {
		t.Fatal(errs)
	}
	for _, args := range [][]string{
		{"eventtype", "create", "greeting", "-n", "event-example", "--type", "greeting", "--source", "not-sendoff", "--schema", "https://example.com/greeting.json",
			"--description", "a greeting", "--reference", "broker:default"},
		{"eventtype", "create", "orphan", "-n", "event-example", "--type", "orphan", "--reference", "broker:gone"},
		{"eventtype", "create", "loose", "-n", "event-example", "--type", "loose"},
	} {
		out, errs, code := weft(t, addr, "", args...)
		if code != 0 || !strings.Contains(out, `EventType "`+args[2]+`" created in namespace "event-example"`) {
			t.Fatalf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	if _, errs, code := weft(t, addr, "", "eventtype", "create", "greeting", "-n", "event-example", "--type", "x"); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("second create: code %d, %s", code, errs)
	}
	out, errs, code := weft(t, addr, "", "get", "eventtype", "greeting", "-n", "event-example", "-o", "json")
	if code != 0 {
		t.Fatal(errs)
	}
	o, err := apis.DecodeObject([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	e := o.(*apis.EventType)
	if e.APIVersion != apis.EventingV1beta2 || e.Spec.Type != "greeting" || e.Spec.Source != "not-sendoff" || e.Spec.Description != "a greeting" ||
		e.Spec.Reference == nil || *e.Spec.Reference != (apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "default", Namespace: "event-example"}) {
		t.Errorf("stored as %+v %+v", e.TypeMeta, e.Spec)
	}

	for _, list := range [][]string{{"eventtype", "list", "-n", "event-example"}, {"get", "eventtypes", "-n", "event-example"}} {
		out, errs, code := weft(t, addr, "", list...)
		if code != 0 {
			t.Fatalf("%v: %s", list, errs)
		}
		header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
		if strings.Join(header, " ") != "NAME TYPE SOURCE SCHEMA REFERENCE NAME REFERENCE KIND DESCRIPTION READY REASON" {
			t.Errorf("%v: header %q", list, header)
		}
		for _, c := range []struct{ name, col, want string }{
			{"greeting", "TYPE", "greeting"}, {"greeting", "SOURCE", "not-sendoff"}, {"greeting", "SCHEMA", "https://example.com/greeting.json"},
			{"greeting", "REFERENCE NAME", "default"}, {"greeting", "REFERENCE KIND", "Broker"}, {"greeting", "DESCRIPTION", "a greeting"},
			{"greeting", "READY", "True"},
			{"orphan", "READY", "False"}, {"orphan", "REFERENCE NAME", "gone"},
			{"loose", "READY", "True"}, {"loose", "REFERENCE KIND", ""},
		} {
			if got := cell(t, out, c.name, c.col); got != c.want {
				t.Errorf("%v: %s of %s = %q, want %q:\n%s", list, c.col, c.name, got, c.want, out)
			}
		}
		// REASON is the last column, wider than its header.
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); f[0] == "orphan" && f[len(f)-1] != "BrokerDoesNotExist" {
				t.Errorf("%v: REASON of orphan: %q", list, line)
			}
		}
	}
	out, _, code = weft(t, addr, "", "eventtype", "describe", "orphan", "-n", "event-example")
	for _, want := range []string{"EventType (eventing.knative.dev/v1beta2)", "Type:", "orphan", "Reference:", "Broker gone (eventing.knative.dev/v1)",
		"Conditions:", "ReferenceExists", `Broker "gone" in spec.reference does not exist`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("eventtype describe lacks %q (code %d):\n%s", want, code, out)
		}
	}
	out, errs, code = weft(t, addr, "", "eventtype", "delete", "orphan", "loose", "-n", "event-example")
	if code != 0 || strings.Count(out, "deleted") != 2 || !strings.Contains(out, "eventtype.eventing.knative.dev/orphan deleted") {
		t.Errorf("eventtype delete: code %d: %s%s", code, out, errs)
	}
}

// Every bad flag is a one-line error naming the flag, and nothing is created.
func TestCLIEventTypeFlagErrors(t *testing.T) {
	addr := startControlPlane(t)
	cases := []refusedCommand{
		{"no name", []string{"eventtype", "create", "--type", "t"}, []string{"accepts 1 arg"}},
		{"no type", []string{"eventtype", "create", "e"}, []string{"--type: must be set"}},
		{"bad reference", []string{"eventtype", "create", "e", "--type", "t", "--reference", "default"}, []string{`--reference: must be broker:NAME or channel:NAME, got "default"`}},
		{"unknown reference prefix", []string{"eventtype", "create", "e", "--type", "t", "--reference", "sink:s"}, []string{`unknown prefix "sink"`}},
		{"bad source", []string{"eventtype", "create", "e", "--type", "t", "--source", "a b"}, []string{"spec.source: must be a URI reference"}},
		{"every bad flag at once", []string{"eventtype", "create", "e", "--reference", "x"}, []string{"--type: must", "--reference: must"}},
	}
	checkRefused(t, addr, cases)
	if out, errs, code := weft(t, addr, "", "eventtype", "list"); code != 0 || out != "" || !strings.Contains(errs, "No eventtypes found") {
		t.Errorf("event types created by bad commands: %q %q", out, errs)
	}
}
