package apis

import (
	"strings"
	"testing"
)

// pingSource is a PingSource manifest named "p" in namespace "ns" with the
// given spec (flush-left YAML).
func pingSource(spec string) string {
	return "apiVersion: sources.knative.dev/v1\nkind: PingSource\nmetadata:\n  name: p\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

const okSink = "sink:\n  uri: http://display.default.svc/\n"

// TestDecodeManifestsPingSourceInvalid feeds invalid PingSources through
// DecodeManifests and checks each error's path and message.
func TestDecodeManifestsPingSourceInvalid(t *testing.T) {
	tests := []struct {
		name, manifest, path, message string
	}{
		{"no schedule", pingSource(okSink), "spec.schedule", "required: a cron schedule"},
		{"schedule unparseable", pingSource(okSink + "schedule: \"every minute\""), "spec.schedule", "invalid cron schedule"},
		{"schedule with six fields", pingSource(okSink + "schedule: \"0 * * * * *\""), "spec.schedule", "expected five fields"},
		{"schedule minute 61", pingSource(okSink + "schedule: \"61 * * * *\""), "spec.schedule", "invalid cron schedule"},
		{"schedule @every without duration", pingSource(okSink + "schedule: \"@every soon\""), "spec.schedule", "invalid cron schedule"},
		{"CRON_TZ unknown", pingSource(okSink + "schedule: \"CRON_TZ=Mars/Olympus 0 9 * * *\""), "spec.schedule", `unknown time zone "Mars/Olympus"`},
		{"timezone unknown", pingSource(okSink + "schedule: \"0 9 * * *\"\ntimezone: Europe/Atlantis"), "spec.timezone", "unknown time zone"},
		{"timezone and CRON_TZ", pingSource(okSink + "schedule: \"TZ=UTC 0 9 * * *\"\ntimezone: Europe/Paris"), "spec.timezone", "set it in one place"},
		{"data and dataBase64", pingSource(okSink + "schedule: \"* * * * *\"\ndata: hi\ndataBase64: aGk="), "spec.dataBase64", "got both"},
		{"dataBase64 not base64", pingSource(okSink + "schedule: \"* * * * *\"\ndataBase64: \"not base64!\""), "spec.dataBase64", "must be standard base64"},
		{"sink missing", pingSource("schedule: \"* * * * *\""), "spec.sink", "expected ref, uri, or both"},
		{"sink uri relative", pingSource("schedule: \"* * * * *\"\nsink:\n  uri: /events"), "spec.sink.uri", "must be an absolute URL"},
		{"sink ref without kind", pingSource("schedule: \"* * * * *\"\nsink:\n  ref:\n    apiVersion: v1\n    name: display"), "spec.sink.ref.kind", "required"},
		{"ceOverrides extension with capitals", pingSource(okSink + "schedule: \"* * * * *\"\nceOverrides:\n  extensions:\n    Team: a"), "spec.ceOverrides.extensions[Team]", "invalid CloudEvents extension name"},
		{"ceOverrides extension with a dash", pingSource(okSink + "schedule: \"* * * * *\"\nceOverrides:\n  extensions:\n    my-ext: a"), "spec.ceOverrides.extensions[my-ext]", "only lowercase letters and digits"},
		{"ceOverrides sets type", pingSource(okSink + "schedule: \"* * * * *\"\nceOverrides:\n  extensions:\n    type: a"), "spec.ceOverrides.extensions[type]", "overrides add extensions only"},
		{"contentType not a media type", pingSource(okSink + "schedule: \"* * * * *\"\ncontentType: \"json;;\""), "spec.contentType", "must be a media type"},
		{"unknown field delivery", pingSource(okSink + "schedule: \"* * * * *\"\ndelivery:\n  retry: 3"), "spec.delivery", "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			invalidManifest(t, tc.manifest, tc.path, tc.message)
		})
	}
}

func TestDecodeManifestsPingSourceValid(t *testing.T) {
	for _, spec := range []string{
		"schedule: \"*/2 * * * *\"\ndata: '{\"hello\":\"world\"}'\ncontentType: application/json",
		"schedule: \"@every 1s\"\ndataBase64: aGVsbG8=",
		"schedule: \"CRON_TZ=Europe/Paris 0 9 * * 1-5\"",
		"schedule: \"0 9 * * *\"\ntimezone: America/New_York\nceOverrides:\n  extensions:\n    team: ops\n    env2: prod",
		"schedule: \"@hourly\"\nsink:\n  ref:\n    apiVersion: eventing.knative.dev/v1\n    kind: Broker\n    name: default",
	} {
		m := pingSource(spec)
		if !strings.Contains(spec, "sink:") {
			m = pingSource(okSink + spec)
		}
		objs, err := DecodeManifests([]byte(m))
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		p := objs[0].(*PingSource)
		if p.Spec.Sink.Ref != nil && p.Spec.Sink.Ref.Namespace != "ns" {
			t.Errorf("sink ref namespace = %q, want the source's", p.Spec.Sink.Ref.Namespace)
		}
		if c := DeepCopy(p).(*PingSource); c.Spec.Schedule != p.Spec.Schedule {
			t.Errorf("DeepCopy lost the schedule")
		}
	}
	if k, err := ResolveKind("pingsources.sources.knative.dev"); err != nil || k != KindPingSource {
		t.Errorf("ResolveKind = %q, %v", k, err)
	}
	if got := PingSchedule(&PingSourceSpec{Schedule: " 0 9 * * * ", Timezone: "Europe/Paris"}); got != "CRON_TZ=Europe/Paris 0 9 * * *" {
		t.Errorf("PingSchedule = %q", got)
	}
}
