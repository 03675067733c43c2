// Package compile turns the control plane's resources into the data-plane
// contract: every broker an ingress entry, every runnable trigger an egress,
// references resolved to URLs. Only the control plane imports it; the data
// plane receives its output over the contract stream.
package compile

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Options say how references resolve to URLs.
type Options struct {
	// IngressURL is the base URL of the ingress ("http://127.0.0.1:8080");
	// a broker's address is IngressURL + BrokerPath.
	IngressURL string
	// ServiceURLTemplate turns a Service ref into a URL; {name} and
	// {namespace} are replaced ("http://{name}.{namespace}.svc.cluster.local").
	ServiceURLTemplate string
}

// DefaultServiceURLTemplate is how Kubernetes Services resolve in-cluster.
const DefaultServiceURLTemplate = "http://{name}.{namespace}.svc.cluster.local"

// Resolution is what compiling a Trigger found out.
type Resolution struct {
	SubscriberURI string
	DeadLetterURI string
	// BrokerExists is false when the trigger's broker is missing.
	BrokerExists bool
	// Reason and Message explain why the trigger cannot run ("" when it can).
	Reason, Message string
}

// Compiled is a contract and what compiling it found out about each trigger.
type Compiled struct {
	Contract *weftv1.Contract
	// Triggers is keyed by "namespace/name".
	Triggers map[string]Resolution
}

// Reasons a trigger cannot run.
const (
	ReasonBrokerDoesNotExist = "BrokerDoesNotExist"
	ReasonSubscriberResolve  = "SubscriberResolveFailed"
	ReasonDeadLetterResolve  = "DeadLetterSinkResolveFailed"
	ReasonInvalidDelivery    = "InvalidDelivery"
)

// Compile turns brokers and triggers into a contract at version. The result
// depends only on its inputs (sorted), so every replica compiles the same
// contract from the same state.
func Compile(version uint64, brokers []*apis.Broker, triggers []*apis.Trigger, opts Options) *Compiled {
	if opts.ServiceURLTemplate == "" {
		opts.ServiceURLTemplate = DefaultServiceURLTemplate
	}
	out := &Compiled{Contract: &weftv1.Contract{Version: version}, Triggers: map[string]Resolution{}}
	byName := map[string]*weftv1.Ingress{}
	brokerObj := map[string]*apis.Broker{}
	bs := append([]*apis.Broker(nil), brokers...)
	sort.Slice(bs, func(i, j int) bool { return nsName(&bs[i].ObjectMeta) < nsName(&bs[j].ObjectMeta) })
	for _, b := range bs {
		m := &b.ObjectMeta
		in := &weftv1.Ingress{
			Uid: m.UID, Kind: apis.KindBroker, Namespace: m.Namespace, Name: m.Name,
			Path: wire.BrokerPath(m.Namespace, m.Name), Topic: wire.BrokerTopic(m.Namespace, m.Name),
			Generation: m.Generation,
		}
		out.Contract.Ingresses = append(out.Contract.Ingresses, in)
		byName[nsName(m)] = in
		brokerObj[nsName(m)] = b
	}
	ts := append([]*apis.Trigger(nil), triggers...)
	sort.Slice(ts, func(i, j int) bool { return nsName(&ts[i].ObjectMeta) < nsName(&ts[j].ObjectMeta) })
	r := resolver{opts: opts, brokers: brokerObj}
	for _, t := range ts {
		m := &t.ObjectMeta
		key := nsName(m)
		res := Resolution{}
		in := byName[m.Namespace+"/"+t.Spec.Broker]
		res.BrokerExists = in != nil
		sub, err := r.destinationOf(m, "spec.subscriber", &t.Spec.Subscriber)
		if err != nil {
			res.Reason, res.Message = ReasonSubscriberResolve, "spec.subscriber: "+err.Error()
		}
		res.SubscriberURI = sub
		ds, dsOwner := t.Spec.Delivery, m
		if ds == nil && in != nil {
			b := brokerObj[m.Namespace+"/"+t.Spec.Broker]
			ds, dsOwner = b.Spec.Delivery, &b.ObjectMeta
		}
		del, dlq, reason, msg := r.delivery(dsOwner, ds)
		res.DeadLetterURI = dlq
		if res.Reason == "" && reason != "" {
			res.Reason, res.Message = reason, msg
		}
		if !res.BrokerExists {
			res.Reason, res.Message = ReasonBrokerDoesNotExist, fmt.Sprintf("broker %q does not exist in namespace %q", t.Spec.Broker, m.Namespace)
		}
		out.Triggers[key] = res
		if res.Reason != "" {
			continue
		}
		eg := &weftv1.Egress{
			Uid: m.UID, Namespace: m.Namespace, Name: m.Name,
			ConsumerGroup: wire.TriggerGroup(m.Namespace, m.Name),
			Destination:   sub,
			Delivery:      del,
			ReplyTopic:    in.Topic,
			Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_LATEST,
			Generation:    m.Generation,
		}
		if t.ObjectMeta.Annotations[apis.AnnotationDeliveryOrder] == "ordered" {
			eg.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
		}
		if t.ObjectMeta.Annotations[apis.AnnotationInitialOffset] == "earliest" {
			eg.InitialOffset = weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST
		}
		if t.Spec.Filter != nil && len(t.Spec.Filter.Attributes) > 0 {
			eg.Attributes = t.Spec.Filter.Attributes
		}
		for _, f := range t.Spec.Filters {
			eg.Filters = append(eg.Filters, CompileFilter(f))
		}
		in.Egresses = append(in.Egresses, eg)
	}
	return out
}

// CompileFilter converts one filters entry into its contract form.
func CompileFilter(f apis.SubscriptionsAPIFilter) *weftv1.Filter {
	switch {
	case len(f.Exact) > 0:
		return &weftv1.Filter{Dialect: &weftv1.Filter_Exact{Exact: &weftv1.Attributes{Attributes: f.Exact}}}
	case len(f.Prefix) > 0:
		return &weftv1.Filter{Dialect: &weftv1.Filter_Prefix{Prefix: &weftv1.Attributes{Attributes: f.Prefix}}}
	case len(f.Suffix) > 0:
		return &weftv1.Filter{Dialect: &weftv1.Filter_Suffix{Suffix: &weftv1.Attributes{Attributes: f.Suffix}}}
	case f.All != nil:
		l := &weftv1.FilterList{}
		for _, s := range f.All {
			l.Filters = append(l.Filters, CompileFilter(s))
		}
		return &weftv1.Filter{Dialect: &weftv1.Filter_All{All: l}}
	case f.Any != nil:
		l := &weftv1.FilterList{}
		for _, s := range f.Any {
			l.Filters = append(l.Filters, CompileFilter(s))
		}
		return &weftv1.Filter{Dialect: &weftv1.Filter_Any{Any: l}}
	case f.Not != nil:
		return &weftv1.Filter{Dialect: &weftv1.Filter_Not{Not: CompileFilter(*f.Not)}}
	default:
		return &weftv1.Filter{Dialect: &weftv1.Filter_Cesql{Cesql: f.CESQL}}
	}
}

type resolver struct {
	opts    Options
	brokers map[string]*apis.Broker
}

// BrokerURL is the address of a broker.
func (o Options) BrokerURL(namespace, name string) string {
	return strings.TrimRight(o.IngressURL, "/") + wire.BrokerPath(namespace, name)
}

// ServiceURL expands the Service template.
func (o Options) ServiceURL(namespace, name string) string {
	t := o.ServiceURLTemplate
	if t == "" {
		t = DefaultServiceURLTemplate
	}
	return strings.NewReplacer("{name}", name, "{namespace}", namespace).Replace(t)
}

// destinationOf resolves the Destination at path of the object whose
// metadata is owner. Where the control plane resolved it in Kubernetes
// (apis.AnnotationResolvedRefs), that answer stands; otherwise refs resolve
// from the options and the brokers compiled.
func (r resolver) destinationOf(owner *apis.ObjectMeta, path string, d *apis.Destination) (string, error) {
	if raw, ok := owner.Annotations[apis.AnnotationResolvedRefs]; ok {
		var refs map[string]apis.ResolvedRef
		if err := json.Unmarshal([]byte(raw), &refs); err != nil {
			return "", fmt.Errorf("unreadable %s annotation: %w", apis.AnnotationResolvedRefs, err)
		}
		if rr, ok := refs[path]; ok {
			if rr.Error != "" {
				return "", errors.New(rr.Error)
			}
			return rr.URI, nil
		}
	}
	return r.destination(owner.Namespace, d)
}

// destination resolves a Destination to an absolute URL.
func (r resolver) destination(namespace string, d *apis.Destination) (string, error) {
	if d.Ref == nil {
		if d.URI == "" {
			return "", fmt.Errorf("neither ref nor uri is set")
		}
		return d.URI, nil
	}
	ref := d.Ref
	ns := ref.Namespace
	if ns == "" {
		ns = namespace
	}
	group := ref.Group
	if group == "" {
		group, _, _ = strings.Cut(ref.APIVersion, "/")
		if !strings.Contains(ref.APIVersion, "/") {
			group = ""
		}
	}
	var base string
	switch {
	case ref.Kind == "Service" && (group == "" || group == "serving.knative.dev"):
		base = r.opts.ServiceURL(ns, ref.Name)
	case ref.Kind == apis.KindBroker && group == "eventing.knative.dev":
		if r.brokers[ns+"/"+ref.Name] == nil {
			return "", fmt.Errorf("ref: Broker %q does not exist in namespace %q", ref.Name, ns)
		}
		base = r.opts.BrokerURL(ns, ref.Name)
	default:
		return "", fmt.Errorf("ref: cannot resolve kind %q (apiVersion %q): Weft resolves v1 Service, serving.knative.dev/v1 Service and eventing.knative.dev/v1 Broker refs; use uri for anything else", ref.Kind, ref.APIVersion)
	}
	if d.URI == "" {
		return base, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("ref: resolved to a bad URL %q: %w", base, err)
	}
	u, err := url.Parse(d.URI)
	if err != nil {
		return "", fmt.Errorf("uri: %w", err)
	}
	return b.ResolveReference(u).String(), nil
}

// delivery compiles a DeliverySpec (nil: none) into the contract's form.
func (r resolver) delivery(owner *apis.ObjectMeta, ds *apis.DeliverySpec) (del *weftv1.Delivery, dlq, reason, msg string) {
	del = &weftv1.Delivery{BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL}
	if ds == nil {
		return del, "", "", ""
	}
	if ds.Retry != nil {
		del.Retry = *ds.Retry
	}
	if ds.BackoffPolicy != nil && *ds.BackoffPolicy == apis.BackoffPolicyLinear {
		del.BackoffPolicy = weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR
	}
	for _, f := range []struct {
		s    *string
		dst  *int64
		name string
	}{{ds.BackoffDelay, &del.BackoffDelayMs, "backoffDelay"}, {ds.Timeout, &del.TimeoutMs, "timeout"}, {ds.RetryAfterMax, &del.RetryAfterMaxMs, "retryAfterMax"}} {
		if f.s == nil {
			continue
		}
		d, err := apis.ParseDuration(*f.s)
		if err != nil {
			return nil, "", ReasonInvalidDelivery, "delivery." + f.name + ": " + err.Error()
		}
		*f.dst = d.Milliseconds()
	}
	if ds.RetryAfterMax != nil && del.RetryAfterMaxMs == 0 {
		del.RetryAfterMaxMs = -1 // PT0S: do not honour Retry-After
	}
	if ds.DeadLetterSink != nil {
		u, err := r.destinationOf(owner, "spec.delivery.deadLetterSink", ds.DeadLetterSink)
		if err != nil {
			return nil, "", ReasonDeadLetterResolve, "delivery.deadLetterSink: " + err.Error()
		}
		del.DeadLetterUrl, dlq = u, u
	}
	return del, dlq, "", ""
}

func nsName(m *apis.ObjectMeta) string { return m.Namespace + "/" + m.Name }
