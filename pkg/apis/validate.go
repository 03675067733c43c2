package apis

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Limits of the Broker topic annotations.
const (
	MaxPartitions        = 10000
	MaxReplicationFactor = 32767
)

var (
	// attributeNameRe is Knative's rule for CloudEvents attribute names in filters.
	attributeNameRe = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	// apiVersionRe is "version" or "group/version".
	apiVersionRe = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]+$`)
)

const (
	dialects          = "all, any, not, exact, prefix, suffix, cesql"
	attributeNameRule = "invalid CloudEvents attribute name: must start with a lowercase letter and contain only lowercase letters and digits (e.g. \"type\", \"source\", \"myextension\")"
)

// Validate checks an object as Knative Eventing's admission webhook does,
// plus Kubernetes' metadata rules and Weft's annotations. Call SetDefaults
// first (Validate requires a namespace, for one). It returns FieldErrors
// listing every problem, each saying what is allowed, or nil.
func Validate(o Object) error {
	var errs errorList
	switch x := o.(type) {
	case *Broker:
		if x == nil {
			return FieldErrors{{Message: "nil Broker"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindBroker)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateBroker(&errs, x)
		validateAutoCreateAnnotation(&errs, &x.ObjectMeta)
	case *Trigger:
		if x == nil {
			return FieldErrors{{Message: "nil Trigger"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindTrigger)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateTrigger(&errs, x)
	case *Channel:
		if x == nil {
			return FieldErrors{{Message: "nil Channel"}}
		}
		kind := x.TypeMeta.Kind
		switch kind {
		case "":
			kind = KindChannel
		case KindChannel, KindInMemoryChannel, KindKafkaChannel:
		default:
			errs.add("kind", kind, "must be %s, %s or %s for a channel", KindChannel, KindInMemoryChannel, KindKafkaChannel)
		}
		validateTypeMeta(&errs, &x.TypeMeta, kind)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateChannel(&errs, x)
		validateAutoCreateAnnotation(&errs, &x.ObjectMeta)
	case *Subscription:
		if x == nil {
			return FieldErrors{{Message: "nil Subscription"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindSubscription)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateSubscription(&errs, x)
	case *Sequence:
		if x == nil {
			return FieldErrors{{Message: "nil Sequence"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindSequence)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateSequence(&errs, x)
	case *Parallel:
		if x == nil {
			return FieldErrors{{Message: "nil Parallel"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindParallel)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateParallel(&errs, x)
	case *KafkaSink:
		if x == nil {
			return FieldErrors{{Message: "nil KafkaSink"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindKafkaSink)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateKafkaSink(&errs, x)
	case *PingSource:
		if x == nil {
			return FieldErrors{{Message: "nil PingSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindPingSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validatePingSource(&errs, x)
	case *Secret:
		if x == nil {
			return FieldErrors{{Message: "nil Secret"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindSecret)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateSecret(&errs, x)
	case *HTTPPollerSource:
		if x == nil {
			return FieldErrors{{Message: "nil HTTPPollerSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindHTTPPollerSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateHTTPPollerSource(&errs, x)
	case *WebhookSource:
		if x == nil {
			return FieldErrors{{Message: "nil WebhookSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindWebhookSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateWebhookSource(&errs, x)
	case *GitLabSource:
		if x == nil {
			return FieldErrors{{Message: "nil GitLabSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindGitLabSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateGitLabSource(&errs, x)
	case *GitHubSource:
		if x == nil {
			return FieldErrors{{Message: "nil GitHubSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindGitHubSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateGitHubSource(&errs, x)
	case *KafkaSource:
		if x == nil {
			return FieldErrors{{Message: "nil KafkaSource"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindKafkaSource)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateKafkaSource(&errs, x)
	case *EventPolicy:
		if x == nil {
			return FieldErrors{{Message: "nil EventPolicy"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindEventPolicy)
		validateObjectMeta(&errs, &x.ObjectMeta)
		validateEventPolicy(&errs, x)
	case *EventType:
		if x == nil {
			return FieldErrors{{Message: "nil EventType"}}
		}
		validateTypeMeta(&errs, &x.TypeMeta, KindEventType)
		validateEventTypeMeta(&errs, &x.ObjectMeta)
		validateEventType(&errs, x)
	case nil:
		return FieldErrors{{Message: "nil object"}}
	default:
		return FieldErrors{{Path: "kind", Value: fmt.Sprintf("%T", o), Message: "unsupported object type; " + supportedKinds, reason: reasonUnsupported}}
	}
	return errs.list.orNil()
}

func validateTypeMeta(errs *errorList, tm *TypeMeta, kind string) {
	if tm.APIVersion != "" && !acceptsAPIVersion(kind, tm.APIVersion) {
		errs.addReason(reasonUnsupported, "apiVersion", tm.APIVersion, "unsupported apiVersion for %s; %s", kind, supportedKinds)
	}
	if tm.Kind != "" && tm.Kind != kind {
		errs.add("kind", tm.Kind, "must be %s for a %s object", kind, kind)
	}
}

func validateObjectMeta(errs *errorList, m *ObjectMeta) {
	if p := dns1123Label(m.Name); p != "" {
		errs.add("metadata.name", m.Name, "%s", p)
	}
	if p := dns1123Label(m.Namespace); p != "" {
		errs.add("metadata.namespace", m.Namespace, "%s", p)
	}
	for _, k := range sortedKeys(m.Labels) {
		path := "metadata.labels[" + k + "]"
		if p := qualifiedName(k); p != "" {
			errs.add(path, "", "invalid label key: %s", p)
		}
		if p := labelValue(m.Labels[k]); p != "" {
			errs.add(path, m.Labels[k], "%s", p)
		}
	}
	size := 0
	for _, k := range sortedKeys(m.Annotations) {
		size += len(k) + len(m.Annotations[k])
		// Kubernetes checks annotation keys case-insensitively.
		if p := qualifiedName(strings.ToLower(k)); p != "" {
			errs.add("metadata.annotations["+k+"]", "", "invalid annotation key: %s", p)
		}
		if strings.HasPrefix(strings.ToLower(k), InternalAnnotationPrefix) {
			errs.add("metadata.annotations["+k+"]", "", "annotations under %s are set by the control plane, not in manifests", InternalAnnotationPrefix)
		}
	}
	if size > totalAnnotationSizeLimit {
		errs.add("metadata.annotations", "", "total size of annotations must be no more than %d bytes (got %d)", totalAnnotationSizeLimit, size)
	}
}

func validateBroker(errs *errorList, b *Broker) {
	ns := b.ObjectMeta.Namespace
	for _, a := range []struct {
		key string
		max int64
	}{{AnnotationPartitions, MaxPartitions}, {AnnotationReplicationFactor, MaxReplicationFactor}} {
		v, ok := b.ObjectMeta.Annotations[a.key]
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 || n > a.max {
			errs.add("metadata.annotations["+a.key+"]", v, "must be a positive integer no greater than %d", a.max)
		}
	}
	rateLimitOf(errs, &b.ObjectMeta)
	if b.Spec.Config != nil {
		validateRef(errs, "spec.config", b.Spec.Config, ns, false)
	}
	// Knative lets a Broker's dead-letter sink live in another namespace.
	validateDelivery(errs, "spec.delivery", b.Spec.Delivery, ns, false)
}

func validateTrigger(errs *errorList, t *Trigger) {
	ns := t.ObjectMeta.Namespace
	validateTriggerAnnotations(errs, t)

	s := &t.Spec
	switch {
	case s.Broker == "" && s.BrokerRef == nil:
		errs.add("spec.broker", "", "required: the name of a Broker in the Trigger's namespace")
	case s.Broker != "":
		if p := dns1123Label(s.Broker); p != "" {
			errs.add("spec.broker", s.Broker, "%s", p)
		}
	}
	if r := s.BrokerRef; r != nil {
		switch {
		case s.Broker == "":
			if p := dns1123Label(r.Name); p != "" {
				errs.add("spec.brokerRef.name", r.Name, "%s", p)
			}
		case r.Name != s.Broker:
			errs.add("spec.brokerRef.name", r.Name, "must equal spec.broker (%q) when both are set; set only one of them", s.Broker)
		}
		if r.Kind != "" && r.Kind != KindBroker {
			errs.add("spec.brokerRef.kind", r.Kind, "must be Broker")
		}
		if r.APIVersion != "" && r.APIVersion != EventingV1 {
			errs.add("spec.brokerRef.apiVersion", r.APIVersion, "must be %s", EventingV1)
		}
		if r.Group != "" && r.Group != "eventing.knative.dev" {
			errs.add("spec.brokerRef.group", r.Group, "must be eventing.knative.dev")
		}
		if r.Namespace != "" && r.Namespace != ns {
			errs.add("spec.brokerRef.namespace", r.Namespace, "must be empty or the Trigger's namespace %q: Brokers in other namespaces are not supported", ns)
		}
	}

	if s.Filter != nil {
		for _, k := range sortedKeys(s.Filter.Attributes) {
			if !attributeNameRe.MatchString(k) {
				errs.add("spec.filter.attributes["+k+"]", "", attributeNameRule)
			}
		}
	}
	for i := range s.Filters {
		validateFilter(errs, fmt.Sprintf("spec.filters[%d]", i), &s.Filters[i])
	}
	validateDestination(errs, "spec.subscriber", &s.Subscriber, ns, true)
	validateDelivery(errs, "spec.delivery", s.Delivery, ns, true)
}

// validateConsumerAnnotations checks the annotations of an object that
// becomes a consumer group (a Trigger, a Subscription): delivery order and
// initial offset.
func validateConsumerAnnotations(errs *errorList, ann map[string]string) {
	if v, ok := ann[AnnotationDeliveryOrder]; ok && v != "ordered" && v != "unordered" {
		errs.add(annotationPath(AnnotationDeliveryOrder), v, "must be \"ordered\" or \"unordered\"")
	}
	if v, ok := ann[AnnotationInitialOffset]; ok && v != "latest" && v != "earliest" {
		errs.add(annotationPath(AnnotationInitialOffset), v, "must be \"latest\" or \"earliest\"")
	}
}

func annotationPath(key string) string { return "metadata.annotations[" + key + "]" }

func validateTriggerAnnotations(errs *errorList, t *Trigger) {
	ann := t.ObjectMeta.Annotations
	path := annotationPath
	validateConsumerAnnotations(errs, ann)
	if v, ok := ann[AnnotationInjection]; ok {
		if v != "enabled" && v != "disabled" {
			errs.add(path(AnnotationInjection), v, "must be \"enabled\" or \"disabled\"")
		} else if t.Spec.Broker != "default" {
			errs.add(path(AnnotationInjection), v, "only applies to the Broker named \"default\", but spec.broker is %q", t.Spec.Broker)
		}
	}
	if v, ok := ann[AnnotationDependency]; ok {
		var ref struct {
			Kind       string `json:"kind"`
			Namespace  string `json:"namespace"`
			Name       string `json:"name"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal([]byte(v), &ref); err != nil {
			errs.add(path(AnnotationDependency), v, "must be a JSON object reference such as {\"kind\":\"PingSource\",\"name\":\"ping\",\"apiVersion\":\"sources.knative.dev/v1\"}: %v", err)
			return
		}
		var missing []string
		for _, f := range []struct{ name, v string }{{"kind", ref.Kind}, {"name", ref.Name}, {"apiVersion", ref.APIVersion}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			errs.add(path(AnnotationDependency), v, "object reference is missing %s", strings.Join(missing, ", "))
		}
		if ref.Namespace != "" && ref.Namespace != t.ObjectMeta.Namespace {
			errs.add(path(AnnotationDependency), v, "namespace must be empty or the Trigger's namespace %q", t.ObjectMeta.Namespace)
		}
	}
}

// validateFilter checks one Subscriptions API filter expression and, recursively, its children.
func validateFilter(errs *errorList, path string, f *SubscriptionsAPIFilter) {
	var found []string
	for _, d := range []struct {
		name string
		set  bool
	}{
		{"all", len(f.All) > 0}, {"any", len(f.Any) > 0}, {"not", f.Not != nil},
		{"exact", len(f.Exact) > 0}, {"prefix", len(f.Prefix) > 0}, {"suffix", len(f.Suffix) > 0},
		{"cesql", f.CESQL != ""},
	} {
		if d.set {
			found = append(found, d.name)
		}
	}
	switch len(found) {
	case 0:
		errs.add(path, "", "expected exactly one of %s; found none (all and any need at least one expression, exact, prefix and suffix at least one attribute)", dialects)
	case 1:
	default:
		errs.add(path, "", "expected exactly one of %s; found %d: %s (put several expressions in an all or any list)", dialects, len(found), strings.Join(found, ", "))
	}
	validateAttributeMatch(errs, path+".exact", f.Exact)
	validateAttributeMatch(errs, path+".prefix", f.Prefix)
	validateAttributeMatch(errs, path+".suffix", f.Suffix)
	for i := range f.All {
		validateFilter(errs, fmt.Sprintf("%s.all[%d]", path, i), &f.All[i])
	}
	for i := range f.Any {
		validateFilter(errs, fmt.Sprintf("%s.any[%d]", path, i), &f.Any[i])
	}
	if f.Not != nil {
		validateFilter(errs, path+".not", f.Not)
	}
	if f.CESQL != "" {
		if p := cesqlProblem(f.CESQL); p != "" {
			errs.add(path+".cesql", f.CESQL, "invalid CESQL expression: %s", p)
		}
	}
}

// validateAttributeMatch checks an exact, prefix or suffix map: valid
// attribute names and non-empty values (an empty value would make Knative
// drop the expression, passing every event).
func validateAttributeMatch(errs *errorList, path string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		p := path + "[" + k + "]"
		if !attributeNameRe.MatchString(k) {
			errs.add(p, "", attributeNameRule)
		}
		if m[k] == "" {
			errs.add(p, "", "value must not be empty")
		}
	}
}

// validateDestination checks a Destination: ref, uri or both; sameNamespace
// requires a ref's namespace to be the parent's.
func validateDestination(errs *errorList, path string, d *Destination, parentNS string, sameNamespace bool) {
	if d.Ref == nil && d.URI == "" {
		errs.add(path, "", "expected ref, uri, or both (a ref and a uri relative to it); got neither")
		return
	}
	if d.URI != "" {
		u, err := url.Parse(d.URI)
		var uerr *url.Error
		switch {
		case errors.As(err, &uerr):
			errs.add(path+".uri", d.URI, "invalid URI: %v", uerr.Err)
		case err != nil:
			errs.add(path+".uri", d.URI, "invalid URI: %v", err)
		case d.Ref == nil && (!u.IsAbs() || u.Host == ""):
			errs.add(path+".uri", d.URI, "must be an absolute URL with a scheme and a host (e.g. \"http://display.default.svc.cluster.local/\") when ref is not set; a relative URI needs a ref to resolve against")
		case d.Ref != nil && u.IsAbs():
			errs.add(path+".uri", d.URI, "must be relative (e.g. \"/events\") when ref is set: it is resolved against the ref's address; remove ref to use an absolute URL")
		}
	}
	if d.Ref != nil {
		validateRef(errs, path+".ref", d.Ref, parentNS, sameNamespace)
	}
	if d.CACerts != nil {
		if p := caCertsProblem(*d.CACerts); p != "" {
			errs.add(path+".CACerts", "", "%s", p)
		}
	}
}

// validateRef checks a KReference: kind, name and apiVersion are required.
func validateRef(errs *errorList, path string, r *KReference, parentNS string, sameNamespace bool) {
	if r.Kind == "" {
		errs.add(path+".kind", "", "required (e.g. Service)")
	}
	if p := dns1123Subdomain(r.Name); p != "" {
		errs.add(path+".name", r.Name, "%s", p)
	}
	switch {
	case r.APIVersion == "":
		errs.add(path+".apiVersion", "", "required (e.g. v1 for a Kubernetes Service, serving.knative.dev/v1 for a Knative Service)")
	case !apiVersionRe.MatchString(r.APIVersion):
		errs.add(path+".apiVersion", r.APIVersion, "must be a version or group/version (e.g. v1, serving.knative.dev/v1)")
	case r.Group != "":
		if g, _, ok := strings.Cut(r.APIVersion, "/"); !ok || g != r.Group {
			errs.add(path+".group", r.Group, "does not match the group of apiVersion %q; set only apiVersion", r.APIVersion)
		}
	}
	if r.Namespace != "" {
		if p := dns1123Label(r.Namespace); p != "" {
			errs.add(path+".namespace", r.Namespace, "%s", p)
		} else if sameNamespace && r.Namespace != parentNS {
			errs.add(path+".namespace", r.Namespace, "must be empty or the Trigger's namespace %q", parentNS)
		}
	}
}

// caCertsProblem returns why s is not one or more PEM certificates, or "".
func caCertsProblem(s string) string {
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return fmt.Sprintf("PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Sprintf("PEM block %d is not a valid certificate: %v", n, err)
		}
	}
	if n == 0 {
		return "must be one or more PEM-encoded certificates (-----BEGIN CERTIFICATE-----)"
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return "unexpected text after the last PEM certificate"
	}
	return ""
}

// validateDelivery checks a DeliverySpec as Knative does: retry >= 0,
// backoffPolicy linear or exponential, ISO-8601 durations (timeout > 0,
// backoffDelay and retryAfterMax >= 0), format json or binary.
func validateDelivery(errs *errorList, path string, ds *DeliverySpec, parentNS string, sameNamespace bool) {
	if ds == nil {
		return
	}
	if ds.DeadLetterSink != nil {
		validateDestination(errs, path+".deadLetterSink", ds.DeadLetterSink, parentNS, sameNamespace)
	}
	if ds.Retry != nil && *ds.Retry < 0 {
		errs.add(path+".retry", strconv.Itoa(int(*ds.Retry)), "must be >= 0")
	}
	if p := ds.BackoffPolicy; p != nil && *p != BackoffPolicyLinear && *p != BackoffPolicyExponential {
		errs.add(path+".backoffPolicy", string(*p), "must be linear or exponential")
	}
	validateDuration(errs, path+".backoffDelay", ds.BackoffDelay, true)
	validateDuration(errs, path+".timeout", ds.Timeout, false)
	validateDuration(errs, path+".retryAfterMax", ds.RetryAfterMax, true)
	if f := ds.Format; f != nil && *f != DeliveryFormatJSON && *f != DeliveryFormatBinary {
		errs.add(path+".format", string(*f), "must be json or binary")
	}
}

func validateDuration(errs *errorList, path string, s *string, zeroOK bool) {
	if s == nil {
		return
	}
	d, problem := parseDuration(*s)
	switch {
	case problem != "":
		errs.add(path, *s, "%s", problem)
	case d < 0:
		errs.add(path, *s, "must not be negative")
	case d == 0 && !zeroOK:
		errs.add(path, *s, "must be greater than zero")
	}
}

// ValidateUpdate checks what may not change when new replaces old: the kind,
// the name and namespace, a Trigger's Broker, a Broker's spec.config and
// class annotation, a Subscription's spec.channel, a channel's kind
// (Channel, InMemoryChannel, KafkaChannel), channelTemplate and topic sizing
// (as Knative refuses), a KafkaSink's topic and bootstrap servers, a KafkaSource's consumer group, an EventType's whole spec. It does not validate new itself:
// call Validate for that. A nil old (a create) passes. Errors are FieldErrors
// matching ErrImmutable.
func ValidateUpdate(old, new Object) error {
	if isNil(old) || isNil(new) {
		return nil
	}
	var errs errorList
	immutable := func(path, from, to, what string) {
		errs.addReason(reasonImmutable, path, "", "immutable: cannot change from %q to %q; %s", from, to, what)
	}
	ok, nk := KindOf(old), KindOf(new)
	if ok != nk {
		immutable("kind", ok, nk, "delete the "+ok+" and create a "+nk)
		return errs.list
	}
	om, nm := old.GetObjectMeta(), new.GetObjectMeta()
	if om.Namespace != nm.Namespace {
		immutable("metadata.namespace", om.Namespace, nm.Namespace, "an object cannot move between namespaces")
	}
	if om.Name != nm.Name {
		immutable("metadata.name", om.Name, nm.Name, "an object cannot be renamed")
	}
	switch o := old.(type) {
	case *Trigger:
		n := new.(*Trigger)
		if ob, nb := brokerName(&o.Spec), brokerName(&n.Spec); ob != nb {
			immutable("spec.broker", ob, nb, "delete the Trigger and create it again to move it to another Broker")
		}
	case *Subscription:
		validateSubscriptionUpdate(&errs, o, new.(*Subscription))
	case *Channel:
		validateChannelUpdate(&errs, o, new.(*Channel))
	case *KafkaSink:
		validateKafkaSinkUpdate(&errs, o, new.(*KafkaSink))
	case *KafkaSource:
		validateKafkaSourceUpdate(&errs, o, new.(*KafkaSource))
	case *EventType:
		validateEventTypeUpdate(&errs, o, new.(*EventType))
	case *Broker:
		n := new.(*Broker)
		oc, nc := om.Annotations[AnnotationBrokerClass], nm.Annotations[AnnotationBrokerClass]
		if oc != nc {
			immutable("metadata.annotations["+AnnotationBrokerClass+"]", oc, nc, "delete the Broker and create it again to change its class")
		}
		if ocfg, ncfg := effectiveRef(o.Spec.Config, om.Namespace), effectiveRef(n.Spec.Config, nm.Namespace); !reflect.DeepEqual(ocfg, ncfg) {
			immutable("spec.config", refString(ocfg), refString(ncfg), "delete the Broker and create it again to change its config")
		}
	}
	return errs.list.orNil()
}

func isNil(o Object) bool {
	return o == nil || reflect.ValueOf(o).IsNil()
}

// brokerName is the Trigger's Broker, from spec.broker or spec.brokerRef.
func brokerName(s *TriggerSpec) string {
	if s.Broker == "" && s.BrokerRef != nil {
		return s.BrokerRef.Name
	}
	return s.Broker
}

// effectiveRef is r with its namespace defaulted, for comparisons.
func effectiveRef(r *KReference, ns string) *KReference {
	if r == nil {
		return nil
	}
	c := *r
	if c.Namespace == "" {
		c.Namespace = ns
	}
	return &c
}

func refString(r *KReference) string {
	if r == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s %s/%s (%s)", r.Kind, r.Namespace, r.Name, r.APIVersion)
}
