package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

// cell is the value in column col of the row whose first cell is name, in a
// table printed by `weft get` (tabwriter aligns every column at the offset
// of its header, so headers with spaces such as DEAD LETTER SINK work).
func cell(t *testing.T, table, name, col string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := lines[0]
	start := strings.Index(header, col)
	if start < 0 {
		t.Fatalf("no column %q in:\n%s", col, table)
	}
	end := len(header) + 1
	if rest := header[start+len(col):]; strings.TrimLeft(rest, " ") != "" {
		end = start + len(col) + len(rest) - len(strings.TrimLeft(rest, " "))
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			if start >= len(l) {
				return ""
			}
			return strings.TrimSpace(l[start:min(end, len(l))])
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return ""
}

// checkReady: READY is what the control plane reports, or Unknown while it
// computes no status for the kind.
func checkReady(t *testing.T, table, name string) {
	t.Helper()
	switch r := cell(t, table, name, "READY"); r {
	case "True", "False", "Unknown":
	default:
		t.Errorf("READY of %s is %q:\n%s", name, r, table)
	}
}

// getJSON decodes `weft get KIND NAME -o json`.
func getJSON(t *testing.T, addr, kind, name string) apis.Object {
	t.Helper()
	out, errs, code := weft(t, addr, "", "get", kind, name, "-o", "json")
	if code != 0 {
		t.Fatalf("get %s %s: %s", kind, name, errs)
	}
	o, err := apis.DecodeObject([]byte(out))
	if err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return o
}

func TestCLIChannelAndSubscription(t *testing.T) {
	addr := startControlPlane(t)
	for _, args := range [][]string{
		{"channel", "create", "orders"},
		{"channel", "create", "audit-log", "--type", "kafka", "--partitions", "3", "--replication-factor", "1", "--retention", "P7D"},
		{"channel", "create", "scratch", "--type", "messaging.knative.dev:v1:InMemoryChannel"},
	} {
		out, errs, code := weft(t, addr, "", args...)
		if code != 0 || !strings.Contains(out, "Channel \""+args[2]+"\" created") {
			t.Fatalf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	if _, errs, code := weft(t, addr, "", "channel", "create", "orders", "--type", "kafka"); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("second channel create: code %d, %s", code, errs)
	}

	c := getJSON(t, addr, "channel", "audit-log").(*apis.Channel)
	tmpl := c.Spec.ChannelTemplate
	if c.Kind != apis.KindChannel || c.APIVersion != apis.MessagingV1 || tmpl == nil ||
		tmpl.APIVersion != apis.MessagingV1beta1 || tmpl.Kind != apis.KindKafkaChannel || tmpl.Spec == nil ||
		tmpl.Spec.NumPartitions == nil || *tmpl.Spec.NumPartitions != 3 ||
		tmpl.Spec.ReplicationFactor == nil || *tmpl.Spec.ReplicationFactor != 1 ||
		tmpl.Spec.RetentionDuration == nil || *tmpl.Spec.RetentionDuration != "P7D" {
		b, _ := json.Marshal(c)
		t.Errorf("channel audit-log stored as %s", b)
	}
	if c := getJSON(t, addr, "channels", "orders").(*apis.Channel); c.Spec.ChannelTemplate != nil {
		t.Errorf("channel created without --type has a template: %+v", c.Spec.ChannelTemplate)
	}

	out, errs, code := weft(t, addr, "", "channel", "list")
	if code != 0 {
		t.Fatalf("channel list: %s", errs)
	}
	for name, typ := range map[string]string{"orders": "Channel", "audit-log": "KafkaChannel", "scratch": "InMemoryChannel"} {
		if got := cell(t, out, name, "TYPE"); got != typ {
			t.Errorf("TYPE of %s = %q, want %q:\n%s", name, got, typ, out)
		}
		if u := cell(t, out, name, "URL"); u != "" && !strings.HasSuffix(u, "/channels/default/"+name) {
			t.Errorf("URL of %s = %q:\n%s", name, u, out)
		}
		checkReady(t, out, name)
	}
	out, _, code = weft(t, addr, "", "channel", "describe", "audit-log")
	if code != 0 || !strings.Contains(out, "Type:") || !strings.Contains(out, "KafkaChannel") || !strings.Contains(out, `"numPartitions":3`) || !strings.Contains(out, "Conditions:") {
		t.Errorf("channel describe (code %d):\n%s", code, out)
	}

	out, errs, code = weft(t, addr, "", "subscription", "create", "audit", "--channel", "kafka:audit-log",
		"--sink", "ksvc:auditor", "--sink-reply", "channel:orders", "--sink-dead-letter", "https://dls.example/dead", "--retry", "2")
	if code != 0 || !strings.Contains(out, `Subscription "audit" created`) {
		t.Fatalf("subscription create: code %d: %s%s", code, out, errs)
	}
	if _, errs, code := weft(t, addr, "", "subscription", "create", "to-seq", "--channel", "orders", "--sink", "sequence:pipeline"); code != 0 {
		t.Fatalf("subscription create to-seq: %s", errs)
	}
	s := getJSON(t, addr, "subscription", "audit").(*apis.Subscription)
	sub, reply := s.Spec.Subscriber, s.Spec.Reply
	if s.Spec.Channel != (apis.ChannelReference{APIVersion: apis.MessagingV1beta1, Kind: apis.KindKafkaChannel, Name: "audit-log"}) ||
		sub == nil || sub.Ref == nil || *sub.Ref != (apis.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "auditor", Namespace: "default"}) ||
		reply == nil || reply.Ref == nil || *reply.Ref != (apis.KReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "orders", Namespace: "default"}) ||
		s.Spec.Delivery == nil || s.Spec.Delivery.DeadLetterSink == nil || s.Spec.Delivery.DeadLetterSink.URI != "https://dls.example/dead" ||
		s.Spec.Delivery.Retry == nil || *s.Spec.Delivery.Retry != 2 {
		b, _ := json.Marshal(s)
		t.Errorf("subscription audit stored as %s", b)
	}
	if s := getJSON(t, addr, "subscriptions", "to-seq").(*apis.Subscription); s.Spec.Channel.Kind != apis.KindChannel || s.Spec.Channel.APIVersion != apis.MessagingV1 ||
		s.Spec.Subscriber == nil || s.Spec.Subscriber.Ref == nil || s.Spec.Subscriber.Ref.Kind != apis.KindSequence || s.Spec.Subscriber.Ref.APIVersion != apis.FlowsV1 {
		b, _ := json.Marshal(s)
		t.Errorf("subscription to-seq stored as %s", b)
	}

	out, errs, code = weft(t, addr, "", "subscription", "list")
	if code != 0 {
		t.Fatalf("subscription list: %s", errs)
	}
	for _, want := range []struct{ row, col, val string }{
		{"audit", "CHANNEL", "kafka:audit-log"}, {"audit", "SUBSCRIBER", "ksvc:auditor"},
		{"audit", "REPLY", "channel:orders"}, {"audit", "DEAD LETTER SINK", "https://dls.example/dead"},
		{"to-seq", "CHANNEL", "channel:orders"}, {"to-seq", "SUBSCRIBER", "sequence:pipeline"},
		{"to-seq", "REPLY", ""}, {"to-seq", "DEAD LETTER SINK", ""},
	} {
		if got := cell(t, out, want.row, want.col); got != want.val {
			t.Errorf("%s of %s = %q, want %q:\n%s", want.col, want.row, got, want.val, out)
		}
	}
	checkReady(t, out, "audit")
	out, _, code = weft(t, addr, "", "describe", "subscription", "audit")
	for _, want := range []string{"Channel:", "kafka:audit-log", "Subscriber:", "ksvc:auditor", "Reply:", "channel:orders", "Dead letter sink:", "https://dls.example/dead", "Conditions:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("subscription describe lacks %q (code %d):\n%s", want, code, out)
		}
	}

	for _, args := range [][]string{{"subscription", "delete", "audit", "to-seq"}, {"channel", "delete", "orders", "audit-log", "scratch"}} {
		out, errs, code = weft(t, addr, "", args...)
		if code != 0 || strings.Count(out, "deleted") != len(args)-2 {
			t.Errorf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	if !strings.Contains(out, "channel.messaging.knative.dev/orders deleted") {
		t.Errorf("channel delete output: %s", out)
	}
	for _, kind := range []string{"channel", "subscription"} {
		out, errs, code := weft(t, addr, "", kind, "list")
		if code != 0 || out != "" || !strings.Contains(errs, "No "+kind+"s found") {
			t.Errorf("%s list after delete: code %d, %q %q", kind, code, out, errs)
		}
	}
}

// Every bad flag is a one-line error naming the flag, and nothing is created.
func TestCLIChannelAndSubscriptionFlagErrors(t *testing.T) {
	addr := startControlPlane(t)
	if _, errs, code := weft(t, addr, "", "channel", "create", "orders"); code != 0 {
		t.Fatalf("channel create: %s", errs)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"channel without name", []string{"channel", "create"}, []string{"accepts 1 arg"}},
		{"unknown type", []string{"channel", "create", "c", "--type", "nats"}, []string{`--type: must be imc, kafka, messaging.knative.dev:v1:InMemoryChannel or messaging.knative.dev:v1beta1:KafkaChannel, got "nats"`}},
		{"type with wrong version", []string{"channel", "create", "c", "--type", "messaging.knative.dev:v1:KafkaChannel"}, []string{"--type: must be"}},
		{"zero partitions", []string{"channel", "create", "c", "--type", "kafka", "--partitions", "0"}, []string{"--partitions: must be greater than 0, got 0"}},
		{"partitions without kafka", []string{"channel", "create", "c", "--partitions", "3"}, []string{`--partitions: must come with --type kafka`, `got "3"`}},
		{"partitions with imc", []string{"channel", "create", "c", "--type", "imc", "--partitions", "3"}, []string{`--partitions: must come with --type kafka`}},
		{"zero replication factor", []string{"channel", "create", "c", "--type", "kafka", "--replication-factor", "0"}, []string{"--replication-factor: must be between 1 and 32767, got 0"}},
		{"huge replication factor", []string{"channel", "create", "c", "--type", "kafka", "--replication-factor", "40000"}, []string{"--replication-factor: must be between 1 and 32767, got 40000"}},
		{"go-style retention", []string{"channel", "create", "c", "--type", "kafka", "--retention", "7d"}, []string{`--retention: must be a positive ISO-8601 duration such as P7D or PT12H, got "7d"`}},
		{"negative retention", []string{"channel", "create", "c", "--type", "kafka", "--retention=-P1D"}, []string{"--retention: must be a positive"}},
		{"retention without kafka", []string{"channel", "create", "c", "--retention", "P1D"}, []string{"--retention: must come with --type kafka"}},
		{"every bad channel flag at once", []string{"channel", "create", "c", "--type", "nats", "--partitions", "0", "--retention", "soon"}, []string{"--type: must", "--partitions: must", "--retention: must"}},
		{"channel bad dead-letter sink", []string{"channel", "create", "c", "--dl-sink", "dls"}, []string{`--dl-sink: must be an http(s) URL`, "write ksvc:dls"}},
		{"channel bad backoff", []string{"channel", "create", "c", "--backoff-delay", "5s"}, []string{"backoffDelay"}},
		{"bad channel name", []string{"channel", "create", "Bad_Name"}, []string{"metadata.name"}},
		{"channel exists", []string{"channel", "create", "orders", "--type", "kafka"}, []string{`channel "orders" already exists`}},

		{"subscription without flags", []string{"subscription", "create", "s"}, []string{"--channel: must be set", "--sink: must be set"}},
		{"subscription without channel", []string{"subscription", "create", "s", "--sink", "ksvc:a"}, []string{"--channel: must be set"}},
		{"unknown channel prefix", []string{"subscription", "create", "s", "--channel", "nats:orders", "--sink", "ksvc:a"}, []string{`--channel: must be NAME, channel:NAME, imc:NAME or kafka:NAME (unknown channel prefix "nats"), got "nats:orders"`}},
		{"channel prefix without name", []string{"subscription", "create", "s", "--channel", "imc:", "--sink", "ksvc:a"}, []string{`--channel: must be NAME, channel:NAME, imc:NAME or kafka:NAME, got "imc:"`}},
		{"subscription without sink", []string{"subscription", "create", "s", "--channel", "orders"}, []string{"--sink: must be set (or --sink-reply"}},
		{"sink without prefix", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "auditor"}, []string{`--sink: must be an http(s) URL`, "write ksvc:auditor", `got "auditor"`}},
		{"sink with unknown prefix", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "pod:x"}, []string{`--sink: must be`, `unknown sink prefix "pod"`}},
		{"sink prefix without name", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ksvc:"}, []string{`--sink: must be ksvc:NAME with a name, got "ksvc:"`}},
		{"sink with another scheme", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ftp://x.example/"}, []string{`--sink: must be an http(s) URL`, "http or https scheme"}},
		{"bad reply", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ksvc:a", "--sink-reply", "queue:x"}, []string{`--sink-reply: must be`, `unknown sink prefix "queue"`}},
		{"bad dead-letter sink", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ksvc:a", "--sink-dead-letter", "http://"}, []string{"--sink-dead-letter: must be"}},
		{"every bad subscription flag at once", []string{"subscription", "create", "s", "--channel", "x:y", "--sink", "a", "--sink-reply", "b", "--sink-dead-letter", "c"}, []string{"--channel: must", "--sink: must", "--sink-reply: must", "--sink-dead-letter: must"}},
		{"bad sink name", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ksvc:Bad_Name"}, []string{"spec.subscriber.ref.name"}},
		{"bad retry", []string{"subscription", "create", "s", "--channel", "orders", "--sink", "ksvc:a", "--retry", "-1"}, []string{"retry"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := weft(t, addr, "", tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; out %s", out)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "error: ") {
				t.Errorf("stderr %q: want one line starting with \"error: \"", errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
	out, _, _ := weft(t, addr, "", "get", "channels", "-o", "json")
	if strings.Contains(out, `"name": "c"`) || !strings.Contains(out, `"name": "orders"`) {
		t.Errorf("a failed channel create stored something:\n%s", out)
	}
	if c := getJSON(t, addr, "channel", "orders").(*apis.Channel); c.Spec.ChannelTemplate != nil {
		t.Errorf("channel create on an existing channel changed it: %+v", c.Spec.ChannelTemplate)
	}
	if out, errs, code := weft(t, addr, "", "get", "subscriptions"); code != 0 || out != "" || !strings.Contains(errs, "No subscriptions found") {
		t.Errorf("a failed subscription create stored something: %q %q", out, errs)
	}
}

// parseSink reads every prefix as the right reference, and formatDest
// prints it back as it was written.
func TestSinkSyntax(t *testing.T) {
	cases := []struct {
		in, apiVersion, kind, name, ns, uri string
	}{
		{"ksvc:a", "serving.knative.dev/v1", "Service", "a", "", ""},
		{"svc:a", "v1", "Service", "a", "", ""},
		{"broker:b", apis.EventingV1, apis.KindBroker, "b", "", ""},
		{"channel:c", apis.MessagingV1, apis.KindChannel, "c", "", ""},
		{"sequence:s", apis.FlowsV1, apis.KindSequence, "s", "", ""},
		{"parallel:p", apis.FlowsV1, apis.KindParallel, "p", "", ""},
		{"imc:i", apis.MessagingV1, apis.KindInMemoryChannel, "i", "", ""},
		{"kafka:k", apis.MessagingV1beta1, apis.KindKafkaChannel, "k", "", ""},
		{"ksvc:a:other", "serving.knative.dev/v1", "Service", "a", "other", ""},
		{"http://x.example/path", "", "", "", "", "http://x.example/path"},
		{"https://x.example", "", "", "", "", "https://x.example"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			d, err := parseSink("--sink", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.uri != "" {
				if d.Ref != nil || d.URI != tc.uri {
					t.Errorf("got %+v", d)
				}
			} else if d.URI != "" || d.Ref == nil || *d.Ref != (apis.KReference{APIVersion: tc.apiVersion, Kind: tc.kind, Name: tc.name, Namespace: tc.ns}) {
				t.Errorf("got %+v %+v", d, d.Ref)
			}
			if got := formatDest(d, "default"); got != tc.in {
				t.Errorf("formatDest = %q, want %q", got, tc.in)
			}
		})
	}
	if got := formatDest(&apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Service", Name: "s"}, URI: "/events"}, "default"); got != "svc:s/events" {
		t.Errorf("formatDest of a ref with a path = %q", got)
	}
}

const flowsManifest = `apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: pipeline
spec:
  steps:
    - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: first}
    - uri: http://second.example/
      delivery: {retry: 2}
    - ref: {apiVersion: v1, kind: Service, name: third}
  reply:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: fanout
spec:
  branches:
    - filter: {uri: http://filter.example/}
      subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: even}}
    - subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: odd}}
`

func TestCLIGetFlows(t *testing.T) {
	addr := startControlPlane(t)
	out, errs, code := weft(t, addr, flowsManifest, "apply", "-f", "-")
	if code != 0 {
		t.Fatalf("apply: %s", errs)
	}
	for _, want := range []string{"sequence.flows.knative.dev/pipeline created", "parallel.flows.knative.dev/fanout created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct{ kind, name, col, count, path string }{
		{"sequences", "pipeline", "STEPS", "3", "/sequences/default/pipeline"},
		{"parallels", "fanout", "BRANCHES", "2", "/parallels/default/fanout"},
	} {
		out, errs, code := weft(t, addr, "", "get", tc.kind)
		if code != 0 {
			t.Fatalf("get %s: %s", tc.kind, errs)
		}
		if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "REASON") {
			t.Errorf("get %s header:\n%s", tc.kind, out)
		}
		if got := cell(t, out, tc.name, tc.col); got != tc.count {
			t.Errorf("%s of %s = %q, want %s:\n%s", tc.col, tc.name, got, tc.count, out)
		}
		if u := cell(t, out, tc.name, "URL"); u != "" && !strings.HasSuffix(u, tc.path) {
			t.Errorf("URL of %s = %q:\n%s", tc.name, u, out)
		}
		checkReady(t, out, tc.name)
	}
	out, _, code = weft(t, addr, "", "get", "sequences", "-A")
	if code != 0 || !strings.HasPrefix(out, "NAMESPACE") || !strings.Contains(out, "pipeline") {
		t.Errorf("get sequences -A (code %d):\n%s", code, out)
	}
	out, _, code = weft(t, addr, "", "describe", "sequence", "pipeline")
	for _, want := range []string{"Kind:", "Sequence (flows.knative.dev/v1)", "Step 0:", "ksvc:first", "Step 1:", "http://second.example/", `Step 1 delivery:`, `"retry":2`, "Step 2:", "svc:third", "Reply:", "broker:default", "Conditions:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe sequence lacks %q (code %d):\n%s", want, code, out)
		}
	}
	out, _, code = weft(t, addr, "", "describe", "parallel", "fanout")
	for _, want := range []string{"Branch 0 filter:", "http://filter.example/", "Branch 0 subscriber:", "ksvc:even", "Branch 1 subscriber:", "ksvc:odd", "Conditions:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe parallel lacks %q (code %d):\n%s", want, code, out)
		}
	}
	if strings.Contains(out, "Branch 1 filter:") {
		t.Errorf("describe parallel shows a filter branch 1 has not:\n%s", out)
	}
	out, errs, code = weft(t, addr, "", "delete", "sequence", "pipeline")
	if code != 0 || !strings.Contains(out, "sequence.flows.knative.dev/pipeline deleted") {
		t.Errorf("delete sequence: code %d: %s%s", code, out, errs)
	}
}

// The channel and subscription commands show the control-plane flags, each
// with its variable.
func TestCLIMessagingHelp(t *testing.T) {
	for _, cmd := range [][]string{{"channel", "create"}, {"channel", "list"}, {"channel", "describe"}, {"channel", "delete"},
		{"subscription", "create"}, {"subscription", "list"}} {
		var out, errw bytes.Buffer
		if code := Main(context.Background(), append(cmd, "--help"), strings.NewReader(""), &out, &errw); code != 0 {
			t.Fatalf("%v --help: exit %d: %s", cmd, code, errw.String())
		}
		if h := out.String(); !strings.Contains(h, "[$WEFT_SERVER]") || !strings.Contains(h, "[$WEFT_NAMESPACE]") {
			t.Errorf("weft %s --help lacks --server or --namespace with their variables:\n%s", strings.Join(cmd, " "), h)
		}
	}
}
