package apis

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Validation of the sources and sinks kinds, as Knative's webhooks for
// eventing-kafka-broker check them, with Kafka's own rules for topic names
// and addresses.

// maxTopicNameLength is Kafka's limit on a topic name.
const maxTopicNameLength = 249

// topicNameRe is Kafka's legal topic name characters.
var topicNameRe = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// topicNameProblem returns why s is not a legal Kafka topic name, or "".
func topicNameProblem(s string) string {
	switch {
	case s == "":
		return "required"
	case len(s) > maxTopicNameLength:
		return fmt.Sprintf("must be no more than %d characters (got %d)", maxTopicNameLength, len(s))
	case s == "." || s == "..":
		return "must not be \".\" or \"..\""
	case !topicNameRe.MatchString(s):
		return "must be a Kafka topic name: letters, digits, '.', '_' and '-' (e.g. \"orders.v1\")"
	}
	return ""
}

// hostPortProblem returns why s is not host:port with a port 1..65535, or "".
func hostPortProblem(s string) string {
	const want = "must be host:port (e.g. \"kafka.example.com:9092\")"
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return want
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return want + " with a port between 1 and 65535"
	}
	return ""
}

func validateKafkaSink(errs *errorList, k *KafkaSink) {
	s := &k.Spec
	if p := topicNameProblem(s.Topic); p == "required" {
		errs.add("spec.topic", "", "required: the Kafka topic events are written to")
	} else if p != "" {
		errs.add("spec.topic", s.Topic, "%s", p)
	}
	validateTopicSpec(errs, "spec", s.NumPartitions, s.ReplicationFactor, nil)
	for i, hp := range s.BootstrapServers {
		if p := hostPortProblem(hp); p != "" {
			errs.add(fmt.Sprintf("spec.bootstrapServers[%d]", i), hp, "%s", p)
		}
	}
	if m := s.ContentMode; m != nil && *m != ContentModeBinary && *m != ContentModeStructured {
		errs.add("spec.contentMode", *m, "must be %s or %s", ContentModeBinary, ContentModeStructured)
	}
	if a := s.Auth; a != nil && a.Secret != nil && a.Secret.Ref != nil {
		if p := dns1123Subdomain(a.Secret.Ref.Name); p != "" {
			errs.add("spec.auth.secret.ref.name", a.Secret.Ref.Name, "%s", p)
		}
	}
}

// validateKafkaSinkUpdate refuses what would silently split a sink's data
// between two topics: a new spec.topic (immutable in Knative's KafkaSink
// webhook) or new spec.bootstrapServers (another cluster).
func validateKafkaSinkUpdate(errs *errorList, old, new *KafkaSink) {
	const what = "a KafkaSink keeps writing where it started; delete it and create another to write elsewhere"
	if old.Spec.Topic != new.Spec.Topic {
		errs.addReason(reasonImmutable, "spec.topic", "", "immutable: cannot change from %q to %q; %s", old.Spec.Topic, new.Spec.Topic, what)
	}
	if !slices.Equal(old.Spec.BootstrapServers, new.Spec.BootstrapServers) {
		errs.addReason(reasonImmutable, "spec.bootstrapServers", "", "immutable: cannot change from %q to %q; %s",
			strings.Join(old.Spec.BootstrapServers, ","), strings.Join(new.Spec.BootstrapServers, ","), what)
	}
}

// extensionNameRe is the CloudEvents rule for extension attribute names.
var extensionNameRe = regexp.MustCompile(`^[a-z0-9]+$`)

// coreAttributes are the CloudEvents context attributes and the data
// members, which ceOverrides may not name: a source sets them itself.
var coreAttributes = []string{"id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time", "data", "data_base64"}

// PingSchedule is the cron specification a PingSource runs on: its
// spec.schedule, prefixed with "CRON_TZ=<spec.timezone> " when a time zone
// is set, as Knative's adapter builds it. ParseStandard of
// github.com/robfig/cron/v3 accepts it for every PingSource that validates.
func PingSchedule(s *PingSourceSpec) string {
	if s.Timezone != "" {
		return "CRON_TZ=" + s.Timezone + " " + strings.TrimSpace(s.Schedule)
	}
	return strings.TrimSpace(s.Schedule)
}

// scheduleZone returns the CRON_TZ= or TZ= prefix's zone of schedule, if any.
func scheduleZone(schedule string) (string, bool) {
	s := strings.TrimSpace(schedule)
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			zone, _, _ := strings.Cut(rest, " ")
			return zone, true
		}
	}
	return "", false
}

func validatePingSource(errs *errorList, p *PingSource) {
	s := &p.Spec
	validateDestination(errs, "spec.sink", &s.Sink, p.ObjectMeta.Namespace, false)
	tzOK := true
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || strings.ContainsAny(s.Timezone, " ") {
			tzOK = false
			errs.add("spec.timezone", s.Timezone, "unknown time zone: must be an IANA time zone name (e.g. \"Europe/Paris\", \"America/New_York\", \"UTC\")")
		}
		if _, ok := scheduleZone(s.Schedule); ok {
			tzOK = false
			errs.add("spec.timezone", s.Timezone, "spec.schedule already names a time zone with CRON_TZ= or TZ=; set it in one place")
		}
	}
	switch {
	case strings.TrimSpace(s.Schedule) == "":
		errs.add("spec.schedule", "", "required: a cron schedule (e.g. \"*/2 * * * *\", \"@hourly\", \"CRON_TZ=Europe/Paris 0 9 * * 1-5\")")
	case tzOK:
		if zone, ok := scheduleZone(s.Schedule); ok {
			if _, err := time.LoadLocation(zone); err != nil {
				errs.add("spec.schedule", s.Schedule, "unknown time zone %q: must be an IANA time zone name (e.g. \"CRON_TZ=Europe/Paris 0 9 * * *\")", zone)
				break
			}
		}
		if _, err := cron.ParseStandard(PingSchedule(s)); err != nil {
			errs.add("spec.schedule", s.Schedule, "invalid cron schedule: %v; expected five fields (minute hour day-of-month month day-of-week, e.g. \"*/2 * * * *\") or a descriptor (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)", err)
		}
	}
	if s.Data != "" && s.DataBase64 != "" {
		errs.add("spec.dataBase64", "", "expected exactly one of data and dataBase64, got both")
	} else if s.DataBase64 != "" {
		if _, err := base64.StdEncoding.DecodeString(s.DataBase64); err != nil {
			errs.add("spec.dataBase64", "", "must be standard base64 (RFC 4648, with padding): %v", err)
		}
	}
	if s.ContentType != "" {
		if _, _, err := mime.ParseMediaType(s.ContentType); err != nil {
			errs.add("spec.contentType", s.ContentType, "must be a media type (e.g. \"application/json\"): %v", err)
		}
	}
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
}
