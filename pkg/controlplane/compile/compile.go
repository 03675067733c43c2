// Package compile turns the control plane's resources into the data-plane
// contract: every broker, channel and flow topic, every KafkaSink, every
// PingSource's internal topic and every KafkaSource an ingress entry, every
// runnable trigger, subscription, sequence step and parallel branch an
// egress, references resolved to URLs or, for replies into Weft
// addressables, to topics. Only the control plane imports it; the data
// plane receives its output over the contract stream.
package compile

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
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
	// OIDCAuthentication (Knative's authentication-oidc feature) gives
	// every served addressable an Ingress.auth: senders need an OIDC token
	// for its audience, and its EventPolicies (eventpolicy.go) apply.
	OIDCAuthentication bool
	// DefaultAuthorizationMode is what an addressable no EventPolicy
	// applies to admits: AuthAllowAll ("" too), AuthAllowSameNamespace or
	// AuthDenyAll.
	DefaultAuthorizationMode string
	// EventTypeAutoCreate is the default of Ingress.eventtype_auto_create
	// for brokers and channels without the annotation
	// weft.dev/eventtype-auto-create.
	EventTypeAutoCreate bool
}

// DefaultServiceURLTemplate is how Kubernetes Services resolve in-cluster.
const DefaultServiceURLTemplate = "http://{name}.{namespace}.svc.cluster.local"

// Resources are what Compile compiles; any order, nil slices are fine.
type Resources struct {
	Brokers       []*apis.Broker
	Triggers      []*apis.Trigger
	Channels      []*apis.Channel
	Subscriptions []*apis.Subscription
	Sequences     []*apis.Sequence
	Parallels     []*apis.Parallel
	KafkaSinks    []*apis.KafkaSink
	PingSources   []*apis.PingSource
	KafkaSources  []*apis.KafkaSource
	// HTTPPollerSources are compiled by poller.go.
	HTTPPollerSources []*apis.HTTPPollerSource
	// WebhookSources, GitLabSources and GitHubSources are served by the
	// ingress (webhooks.go).
	WebhookSources []*apis.WebhookSource
	GitLabSources  []*apis.GitLabSource
	GitHubSources  []*apis.GitHubSource
	// Secrets are read by the sources that name them (secrets.go).
	Secrets []*apis.Secret
	// EventPolicies say who may send to the addressables (eventpolicy.go).
	EventPolicies []*apis.EventPolicy
}

// Resolution is what compiling a Trigger found out.
type Resolution struct {
	SubscriberURI string
	DeadLetterURI string
	// BrokerExists is false when the trigger's broker is missing.
	BrokerExists bool
	// Reason and Message explain why the trigger cannot run ("" when it can).
	Reason, Message string
}

// EgressResolution is what compiling one egress of a Subscription, a
// Sequence step or a Parallel branch found out.
type EgressResolution struct {
	// UID is the egress's uid in the contract (its readiness and problems
	// are reported under it).
	UID string
	// SubscriberURI is the resolved destination ("" for a Subscription
	// with only a reply); ReplyURI the resolved reply (the address URL
	// when the reply is a Weft addressable, whose topic the egress replies
	// into); DeadLetterURI the resolved dead-letter sink.
	SubscriberURI, ReplyURI, DeadLetterURI string
	// Reason and Message explain why the egress cannot run ("" when it
	// can); such an egress is left out of the contract.
	Reason, Message string
}

// ChannelResolution is what compiling a Channel found out.
type ChannelResolution struct {
	UID           string
	DeadLetterURI string
	// Reason and Message report a spec.delivery that does not compile
	// (the subscriptions inheriting it cannot run).
	Reason, Message string
}

// SubscriptionResolution is what compiling a Subscription found out.
type SubscriptionResolution struct {
	EgressResolution
	// Channel is the name of the subscription's channel, in its namespace.
	Channel string
	// ChannelExists is false when that channel is missing.
	ChannelExists bool
	Generation    int64
}

// SequenceResolution is what compiling a Sequence found out: one entry per
// step (UID uid+"/step-"+i).
type SequenceResolution struct {
	Steps []EgressResolution
}

// ParallelResolution is what compiling a Parallel found out: one entry per
// branch.
type ParallelResolution struct {
	Branches []BranchResolution
}

// BranchResolution is one Parallel branch: its filter's egress (nil when
// the branch has no filter) and its subscriber's.
type BranchResolution struct {
	Filter     *EgressResolution
	Subscriber EgressResolution
}

// Compiled is a contract and what compiling it found out about each
// resource; the maps are keyed by "namespace/name".
type Compiled struct {
	Contract      *weftv1.Contract
	Triggers      map[string]Resolution
	Channels      map[string]ChannelResolution
	Subscriptions map[string]SubscriptionResolution
	Sequences     map[string]SequenceResolution
	Parallels     map[string]ParallelResolution
	// PingSources holds each PingSource's egress (UID = the source's uid).
	PingSources map[string]EgressResolution
	// KafkaSources holds each KafkaSource's egress (UID = the source's uid;
	// reason SecretResolveFailed when spec.net does not resolve).
	KafkaSources map[string]EgressResolution
	// KafkaSinks holds each KafkaSink's entry (UID = the sink's uid):
	// reason SecretResolveFailed when spec.auth.secret does not resolve (the
	// sink is then left out of the contract rather than reached without
	// its credentials).
	KafkaSinks map[string]EgressResolution
	// HTTPPollerSources holds each HTTPPollerSource's egress (UID = the
	// source's uid; reason SecretResolveFailed when its password does not
	// resolve).
	HTTPPollerSources map[string]EgressResolution
	// Webhooks holds each webhook source's egress (UID = the source's
	// uid), keyed by WebhookKey (kind/namespace/name).
	Webhooks map[string]EgressResolution
}

// Reasons a resource (or one of its egresses) cannot run.
const (
	ReasonBrokerDoesNotExist = "BrokerDoesNotExist"
	ReasonChannelNotFound    = "ChannelNotFound"
	ReasonSubscriberResolve  = "SubscriberResolveFailed"
	ReasonReplyResolve       = "ReplyResolveFailed"
	ReasonFilterResolve      = "FilterResolveFailed"
	ReasonDeadLetterResolve  = "DeadLetterSinkResolveFailed"
	ReasonInvalidDelivery    = "InvalidDelivery"
	ReasonSecretResolve      = "SecretResolveFailed"
)

// Compile turns the resources into a contract at version. The result
// depends only on its inputs (sorted), so every replica compiles the same
// contract from the same state. Ingresses come in the order brokers,
// channels, sequences, parallels, KafkaSinks, PingSources, KafkaSources,
// HTTPPollerSources, WebhookSources, GitLabSources, GitHubSources, each
// sorted by namespace and name.
func Compile(version uint64, res Resources, opts Options) *Compiled {
	if opts.ServiceURLTemplate == "" {
		opts.ServiceURLTemplate = DefaultServiceURLTemplate
	}
	out := &Compiled{
		Contract: &weftv1.Contract{Version: version}, Triggers: map[string]Resolution{},
		Channels: map[string]ChannelResolution{}, Subscriptions: map[string]SubscriptionResolution{},
		Sequences: map[string]SequenceResolution{}, Parallels: map[string]ParallelResolution{},
		PingSources:  map[string]EgressResolution{},
		Webhooks:     map[string]EgressResolution{},
		KafkaSources: map[string]EgressResolution{},
		KafkaSinks:   map[string]EgressResolution{},
	}
	out.HTTPPollerSources = map[string]EgressResolution{}
	r := resolver{opts: opts, brokers: map[string]*apis.Broker{}, channels: map[string]*apis.Channel{}, exists: map[string]bool{},
		secrets: secretsByName(res.Secrets)}
	bs := sortedByName(res.Brokers, func(b *apis.Broker) *apis.ObjectMeta { return &b.ObjectMeta })
	cs := sortedByName(res.Channels, func(c *apis.Channel) *apis.ObjectMeta { return &c.ObjectMeta })
	for _, b := range bs {
		r.brokers[nsName(&b.ObjectMeta)] = b
	}
	for _, c := range cs {
		r.channels[nsName(&c.ObjectMeta)] = c
	}
	addExisting(r, apis.KindBroker, res.Brokers)
	addExisting(r, apis.KindChannel, res.Channels)
	addExisting(r, apis.KindSequence, res.Sequences)
	addExisting(r, apis.KindParallel, res.Parallels)
	addExisting(r, apis.KindKafkaSink, res.KafkaSinks)
	out.compileTriggers(r, bs, res.Triggers)
	out.compileChannels(r, cs, res.Subscriptions)
	each(res.Sequences, func(s *apis.Sequence) { out.compileSequence(r, s) })
	each(res.Parallels, func(p *apis.Parallel) { out.compileParallel(r, p) })
	each(res.KafkaSinks, func(k *apis.KafkaSink) { out.compileKafkaSink(r, k) })
	each(res.PingSources, func(p *apis.PingSource) { out.compilePingSource(r, p) })
	each(res.KafkaSources, func(k *apis.KafkaSource) { out.compileKafkaSource(r, k) })
	each(res.HTTPPollerSources, func(p *apis.HTTPPollerSource) { out.compileHTTPPollerSource(r, p) })
	each(res.WebhookSources, func(w *apis.WebhookSource) { out.compileWebhookSource(r, w) })
	each(res.GitLabSources, func(g *apis.GitLabSource) { out.compileGitLabSource(r, g) })
	each(res.GitHubSources, func(g *apis.GitHubSource) { out.compileGitHubSource(r, g) })
	out.compileAuth(res, opts)
	return out
}

// compileKafkaSink adds a KafkaSink's ingress entry: its path, writing to
// spec.topic on spec.bootstrapServers (empty: Weft's cluster) with the
// credentials of spec.auth.secret. Nothing consumes the topic: it has no
// egresses. A secret that does not resolve leaves the sink out.
func (out *Compiled) compileKafkaSink(r resolver, k *apis.KafkaSink) {
	m := &k.ObjectMeta
	er := EgressResolution{UID: m.UID}
	auth, err := r.kafkaSinkAuth(k)
	if err != nil {
		er.fail(ReasonSecretResolve, err.Error())
	}
	out.KafkaSinks[nsName(m)] = er
	if er.Reason != "" {
		return
	}
	in := &weftv1.Ingress{
		Uid: m.UID, Kind: apis.KindKafkaSink, Namespace: m.Namespace, Name: m.Name,
		Path: wire.KafkaSinkPath(m.Namespace, m.Name), Topic: k.Spec.Topic,
		BootstrapServers: k.Spec.BootstrapServers, Generation: m.Generation,
		KafkaAuth: auth,
	}
	if k.Spec.ContentMode != nil {
		in.ContentMode = *k.Spec.ContentMode
	}
	out.Contract.Ingresses = append(out.Contract.Ingresses, in)
}

// sourceSink is the resolution of a source's one egress with its
// spec.sink resolved (failed with ReasonSubscriberResolve when it does not
// resolve).
func (r resolver) sourceSink(m *apis.ObjectMeta, sink *apis.Destination) EgressResolution {
	er := EgressResolution{UID: m.UID}
	dest, err := r.destinationOf(m, "spec.sink", sink)
	if err != nil {
		er.fail(ReasonSubscriberResolve, "sink: "+err.Error())
	}
	er.SubscriberURI = dest
	return er
}

// sourceDelivery is the delivery policy of every source without a
// spec.delivery (PingSource, HTTPPollerSource, the webhook sources): their
// Knative and TriggerMesh adapters retry a failed send a few times; so does
// Weft, with exponential backoff from 200ms, then drops the event.
func sourceDelivery() *weftv1.Delivery {
	return &weftv1.Delivery{Retry: 5, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 200}
}

// sourceEgress is the one egress of a source writing its events into an
// internal topic: group, delivered to dest in order from the topic's start,
// with sourceDelivery, trusting the sink's CACerts.
func sourceEgress(m *apis.ObjectMeta, kind, group, dest string, sink *apis.Destination) []*weftv1.Egress {
	return []*weftv1.Egress{{
		Uid: m.UID, Kind: kind, Namespace: m.Namespace, Name: m.Name,
		ConsumerGroup: group,
		Destination:   dest,
		CaCerts:       caCertsOf(sink),
		Delivery:      sourceDelivery(),
		Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
		InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
		Generation:    m.Generation,
	}}
}

// compilePingSource adds a PingSource's internal topic (no path: only the
// dispatcher writes it, one record per tick) with its schedule and event
// template, and the egress delivering the ticks to spec.sink in order. A
// sink that does not resolve leaves the source out of the contract: no
// ticks are produced that nothing would deliver.
func (out *Compiled) compilePingSource(r resolver, p *apis.PingSource) {
	m := &p.ObjectMeta
	ns, name := m.Namespace, m.Name
	er := r.sourceSink(m, &p.Spec.Sink)
	dest := er.SubscriberURI
	out.PingSources[nsName(m)] = er
	if er.Reason != "" {
		return
	}
	data := []byte(p.Spec.Data)
	if p.Spec.DataBase64 != "" {
		// Validated at apply time; a bad one cannot reach the store.
		data, _ = base64.StdEncoding.DecodeString(p.Spec.DataBase64)
	}
	out.Contract.Ingresses = append(out.Contract.Ingresses, &weftv1.Ingress{
		Uid: m.UID, Kind: apis.KindPingSource, Namespace: ns, Name: name,
		Topic: wire.PingSourceTopic(ns, name), Generation: m.Generation,
		Ping: &weftv1.PingSchedule{
			Schedule: apis.PingSchedule(&p.Spec), Timezone: p.Spec.Timezone,
			Type: apis.PingSourceEventType, Source: apis.PingSourceEventSource(ns, name),
			ContentType: p.Spec.ContentType, Data: data, Extensions: overrides(p.Spec.CloudEventOverrides),
		},
		Egresses: sourceEgress(m, apis.KindPingSource, wire.PingSourceGroup(ns, name), dest, &p.Spec.Sink),
	})
}

// rateLimit is a broker's own rate limit for its ingress entry (nil: none,
// the ingress's --rate-limit-per-broker applies).
func rateLimit(rl apis.RateLimit) *weftv1.RateLimit {
	if rl.PerSecond <= 0 {
		return nil
	}
	return &weftv1.RateLimit{EventsPerSecond: rl.PerSecond, Burst: int32(rl.Burst)}
}

func (out *Compiled) compileTriggers(r resolver, bs []*apis.Broker, triggers []*apis.Trigger) {
	byName := map[string]*weftv1.Ingress{}
	for _, b := range bs {
		m := &b.ObjectMeta
		in := &weftv1.Ingress{
			Uid: m.UID, Kind: apis.KindBroker, Namespace: m.Namespace, Name: m.Name,
			Path: wire.BrokerPath(m.Namespace, m.Name), Topic: wire.BrokerTopic(m.Namespace, m.Name),
			Generation:          m.Generation,
			EventtypeAutoCreate: apis.EventTypeAutoCreate(m.Annotations, r.opts.EventTypeAutoCreate),
			RateLimit:           rateLimit(apis.RateLimitOf(m)),
		}
		out.Contract.Ingresses = append(out.Contract.Ingresses, in)
		byName[nsName(m)] = in
	}
	for _, t := range sortedByName(triggers, func(t *apis.Trigger) *apis.ObjectMeta { return &t.ObjectMeta }) {
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
			b := r.brokers[m.Namespace+"/"+t.Spec.Broker]
			ds, dsOwner = b.Spec.Delivery, &b.ObjectMeta
		}
		del, dlq, reason, msg := r.delivery(dsOwner, "spec.delivery", ds)
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
			Uid: m.UID, Kind: apis.KindTrigger, Namespace: m.Namespace, Name: m.Name,
			ConsumerGroup: wire.TriggerGroup(m.Namespace, m.Name),
			Destination:   sub,
			Delivery:      del,
			ReplyTopic:    in.Topic,
			Order:         orderOf(m),
			InitialOffset: initialOffsetOf(m),
			Generation:    m.Generation,
			CaCerts:       caCertsOf(&t.Spec.Subscriber, deadLetterSink(ds)),
		}
		if t.Spec.Filter != nil && len(t.Spec.Filter.Attributes) > 0 {
			eg.Attributes = t.Spec.Filter.Attributes
		}
		for _, f := range t.Spec.Filters {
			eg.Filters = append(eg.Filters, CompileFilter(f))
		}
		in.Egresses = append(in.Egresses, eg)
	}
}

// compileChannels adds an ingress per channel and an egress per
// Subscription on it.
func (out *Compiled) compileChannels(r resolver, cs []*apis.Channel, subs []*apis.Subscription) {
	byName := map[string]*weftv1.Ingress{}
	for _, c := range cs {
		m := &c.ObjectMeta
		in := &weftv1.Ingress{
			Uid: m.UID, Kind: apis.KindChannel, Namespace: m.Namespace, Name: m.Name,
			Path: wire.ChannelPath(m.Namespace, m.Name), Topic: wire.ChannelTopic(m.Namespace, m.Name),
			Generation:          m.Generation,
			EventtypeAutoCreate: apis.EventTypeAutoCreate(m.Annotations, r.opts.EventTypeAutoCreate),
		}
		out.Contract.Ingresses = append(out.Contract.Ingresses, in)
		byName[nsName(m)] = in
		res := ChannelResolution{UID: m.UID}
		ds, path := channelDelivery(c)
		_, res.DeadLetterURI, res.Reason, res.Message = r.delivery(m, path, ds)
		out.Channels[nsName(m)] = res
	}
	for _, s := range sortedByName(subs, func(s *apis.Subscription) *apis.ObjectMeta { return &s.ObjectMeta }) {
		m := &s.ObjectMeta
		res := SubscriptionResolution{EgressResolution: EgressResolution{UID: m.UID}, Channel: s.Spec.Channel.Name, Generation: m.Generation}
		in := byName[m.Namespace+"/"+s.Spec.Channel.Name]
		res.ChannelExists = in != nil
		var sub string
		if s.Spec.Subscriber != nil {
			u, err := r.destinationOf(m, "spec.subscriber", s.Spec.Subscriber)
			if err != nil {
				res.fail(ReasonSubscriberResolve, "spec.subscriber: "+err.Error())
			}
			sub, res.SubscriberURI = u, u
		}
		replyTopic, replyURL := r.reply(&res.EgressResolution, m, "spec.reply", s.Spec.Reply)
		ds, dsOwner, dsPath := s.Spec.Delivery, m, "spec.delivery"
		if ds == nil && in != nil {
			c := r.channels[m.Namespace+"/"+s.Spec.Channel.Name]
			ds, dsPath = channelDelivery(c)
			dsOwner = &c.ObjectMeta
		}
		del, dlq, reason, msg := r.delivery(dsOwner, dsPath, ds)
		res.DeadLetterURI = dlq
		res.fail(reason, msg)
		if !res.ChannelExists {
			res.fail(ReasonChannelNotFound, fmt.Sprintf("channel %q does not exist in namespace %q", s.Spec.Channel.Name, m.Namespace))
		}
		out.Subscriptions[nsName(m)] = res
		if res.Reason != "" {
			continue
		}
		in.Egresses = append(in.Egresses, &weftv1.Egress{
			Uid: m.UID, Kind: apis.KindSubscription, Namespace: m.Namespace, Name: m.Name,
			ConsumerGroup: wire.SubscriptionGroup(m.Namespace, m.Name),
			Destination:   sub,
			CaCerts:       caCertsOf(s.Spec.Subscriber, s.Spec.Reply, deadLetterSink(ds)),
			Delivery:      del,
			ReplyTopic:    replyTopic,
			ReplyUrl:      replyURL,
			Order:         orderOf(m),
			InitialOffset: initialOffsetOf(m),
			Generation:    m.Generation,
		})
	}
}

// channelDelivery is the delivery a channel gives subscriptions without
// their own: spec.delivery, else its channelTemplate's, with its path.
func channelDelivery(c *apis.Channel) (*apis.DeliverySpec, string) {
	if c.Spec.Delivery != nil {
		return c.Spec.Delivery, "spec.delivery"
	}
	if t := c.Spec.ChannelTemplate; t != nil && t.Spec != nil && t.Spec.Delivery != nil {
		return t.Spec.Delivery, "spec.channelTemplate.spec.delivery"
	}
	return nil, "spec.delivery"
}

// compileSequence adds a Sequence's ingress entries (one per step topic) and
// an egress per step whose references resolve.
func (out *Compiled) compileSequence(r resolver, s *apis.Sequence) {
	m := &s.ObjectMeta
	ns, name := m.Namespace, m.Name
	n := len(s.Spec.Steps)
	res := SequenceResolution{}
	for i, step := range s.Spec.Steps {
		in := &weftv1.Ingress{
			Uid: m.UID, Kind: apis.KindSequence, Namespace: ns, Name: name,
			Path: wire.SequencePath(ns, name), Topic: wire.SequenceTopic(ns, name, i), Generation: m.Generation,
		}
		if i > 0 {
			in.Uid, in.Path = stepUID(m.UID, i), ""
		}
		out.Contract.Ingresses = append(out.Contract.Ingresses, in)
		er := EgressResolution{UID: stepUID(m.UID, i)}
		path := fmt.Sprintf("spec.steps[%d]", i)
		dest, err := r.destinationOf(m, path, &step.Destination)
		if err != nil {
			er.fail(ReasonSubscriberResolve, path+": "+err.Error())
		}
		er.SubscriberURI = dest
		var replyTopic, replyURL string
		if i < n-1 {
			replyTopic = wire.SequenceTopic(ns, name, i+1)
		} else {
			replyTopic, replyURL = r.reply(&er, m, "spec.reply", s.Spec.Reply)
		}
		del, dlq, reason, msg := r.delivery(m, path+".delivery", step.Delivery)
		er.DeadLetterURI = dlq
		er.fail(reason, msg)
		res.Steps = append(res.Steps, er)
		if er.Reason != "" {
			continue
		}
		in.Egresses = append(in.Egresses, &weftv1.Egress{
			Uid: er.UID, Kind: apis.KindSequence, Namespace: ns, Name: name,
			ConsumerGroup: wire.SequenceGroup(ns, name, i),
			Destination:   dest,
			CaCerts:       caCertsOf(&step.Destination, deadLetterSink(step.Delivery)),
			Delivery:      del,
			ReplyTopic:    replyTopic,
			ReplyUrl:      replyURL,
			Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
			Generation:    m.Generation,
		})
	}
	out.Sequences[nsName(m)] = res
}

// compileParallel adds a Parallel's ingress entries (its ingress topic and
// the topic of each branch with a filter) and the egresses of its filters
// and subscribers.
func (out *Compiled) compileParallel(r resolver, p *apis.Parallel) {
	m := &p.ObjectMeta
	ns, name := m.Namespace, m.Name
	main := &weftv1.Ingress{
		Uid: m.UID, Kind: apis.KindParallel, Namespace: ns, Name: name,
		Path: wire.ParallelPath(ns, name), Topic: wire.ParallelTopic(ns, name), Generation: m.Generation,
	}
	out.Contract.Ingresses = append(out.Contract.Ingresses, main)
	res := ParallelResolution{}
	egress := func(er *EgressResolution, group, dest, replyTopic, replyURL string, del *weftv1.Delivery) *weftv1.Egress {
		return &weftv1.Egress{
			Uid: er.UID, Kind: apis.KindParallel, Namespace: ns, Name: name,
			ConsumerGroup: group, Destination: dest, Delivery: del,
			ReplyTopic: replyTopic, ReplyUrl: replyURL,
			Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
			Generation:    m.Generation,
		}
	}
	for i, b := range p.Spec.Branches {
		path := fmt.Sprintf("spec.branches[%d]", i)
		br := BranchResolution{Subscriber: EgressResolution{UID: branchUID(m.UID, i)}}
		del, dlq, reason, msg := r.delivery(m, path+".delivery", b.Delivery)
		subIn := main
		if b.Filter != nil {
			subIn = &weftv1.Ingress{
				Uid: branchUID(m.UID, i), Kind: apis.KindParallel, Namespace: ns, Name: name,
				Topic: wire.ParallelBranchTopic(ns, name, i), Generation: m.Generation,
			}
			out.Contract.Ingresses = append(out.Contract.Ingresses, subIn)
			fr := &EgressResolution{UID: branchUID(m.UID, i) + "/filter", DeadLetterURI: dlq}
			f, err := r.destinationOf(m, path+".filter", b.Filter)
			if err != nil {
				fr.fail(ReasonFilterResolve, path+".filter: "+err.Error())
			}
			fr.SubscriberURI = f
			fr.fail(reason, msg)
			br.Filter = fr
			if fr.Reason == "" {
				eg := egress(fr, wire.ParallelFilterGroup(ns, name, i), f, wire.ParallelBranchTopic(ns, name, i), "", del)
				eg.DropRejected = true
				eg.CaCerts = caCertsOf(b.Filter, deadLetterSink(b.Delivery))
				main.Egresses = append(main.Egresses, eg)
			}
		}
		sr := &br.Subscriber
		sr.DeadLetterURI = dlq
		dest, err := r.destinationOf(m, path+".subscriber", &b.Subscriber)
		if err != nil {
			sr.fail(ReasonSubscriberResolve, path+".subscriber: "+err.Error())
		}
		sr.SubscriberURI = dest
		var replyTopic, replyURL string
		if b.Reply != nil {
			replyTopic, replyURL = r.reply(sr, m, path+".reply", b.Reply)
		} else {
			replyTopic, replyURL = r.reply(sr, m, "spec.reply", p.Spec.Reply)
		}
		sr.fail(reason, msg)
		if sr.Reason == "" {
			group := wire.ParallelSubscriberGroup(ns, name, i)
			eg := egress(sr, group, dest, replyTopic, replyURL, del)
			eg.CaCerts = caCertsOf(&b.Subscriber, deadLetterSink(b.Delivery))
			subIn.Egresses = append(subIn.Egresses, eg)
		}
		res.Branches = append(res.Branches, br)
	}
	out.Parallels[nsName(m)] = res
}

func stepUID(uid string, i int) string   { return uid + "/step-" + strconv.Itoa(i) }
func branchUID(uid string, i int) string { return uid + "/branch-" + strconv.Itoa(i) }

// fail records the first reason an egress cannot run (reason "" is none).
func (e *EgressResolution) fail(reason, msg string) {
	if e.Reason == "" && reason != "" {
		e.Reason, e.Message = reason, msg
	}
}

func orderOf(m *apis.ObjectMeta) weftv1.DeliveryOrder {
	if m.Annotations[apis.AnnotationDeliveryOrder] == "ordered" {
		return weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	}
	return weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED
}

func initialOffsetOf(m *apis.ObjectMeta) weftv1.InitialOffset {
	if m.Annotations[apis.AnnotationInitialOffset] == "earliest" {
		return weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST
	}
	return weftv1.InitialOffset_INITIAL_OFFSET_LATEST
}

// each calls fn on every object of objs, sorted by namespace and name.
func each[T apis.Object](objs []T, fn func(T)) {
	for _, o := range sortedByName(objs, func(o T) *apis.ObjectMeta { return o.GetObjectMeta() }) {
		fn(o)
	}
}

func sortedByName[T any](in []T, meta func(T) *apis.ObjectMeta) []T {
	out := append([]T(nil), in...)
	sort.Slice(out, func(i, j int) bool { return nsName(meta(out[i])) < nsName(meta(out[j])) })
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
	opts     Options
	brokers  map[string]*apis.Broker
	channels map[string]*apis.Channel
	// exists holds "kind/namespace/name" of every addressable compiled.
	exists map[string]bool
	// secrets by "namespace/name".
	secrets map[string]*apis.Secret
}

// addExisting records objs, addressables of kind, as existing.
func addExisting[T apis.Object](r resolver, kind string, objs []T) {
	for _, o := range objs {
		r.exists[kind+"/"+nsName(o.GetObjectMeta())] = true
	}
}

// url is the ingress's URL of path.
func (o Options) url(path string) string { return strings.TrimRight(o.IngressURL, "/") + path }

// BrokerURL is the address of a broker.
func (o Options) BrokerURL(namespace, name string) string {
	return o.url(wire.BrokerPath(namespace, name))
}

// ChannelURL is the address of a channel (of any channel kind).
func (o Options) ChannelURL(namespace, name string) string {
	return o.url(wire.ChannelPath(namespace, name))
}

// SequenceURL is the address of a Sequence.
func (o Options) SequenceURL(namespace, name string) string {
	return o.url(wire.SequencePath(namespace, name))
}

// ParallelURL is the address of a Parallel.
func (o Options) ParallelURL(namespace, name string) string {
	return o.url(wire.ParallelPath(namespace, name))
}

// KafkaSinkURL is the address of a KafkaSink.
func (o Options) KafkaSinkURL(namespace, name string) string {
	return o.url(wire.KafkaSinkPath(namespace, name))
}

// ServiceURL expands the Service template.
func (o Options) ServiceURL(namespace, name string) string {
	t := o.ServiceURLTemplate
	if t == "" {
		t = DefaultServiceURLTemplate
	}
	return strings.NewReplacer("{name}", name, "{namespace}", namespace).Replace(t)
}

// addressableKind is how references to one Weft addressable kind resolve.
type addressableKind struct {
	// kind is the kind it is stored as.
	kind string
	// path is the address's path on the ingress.
	path func(namespace, name string) string
	// topic is where a dispatcher puts replies into it; nil: replies are
	// POSTed to its address (a KafkaSink, whose topic may live on another
	// cluster and holds no Weft contract).
	topic func(namespace, name string) string
}

// Weft addressable kinds a reference may name, by "group/kind".
var addressableKinds = func() map[string]addressableKind {
	broker := addressableKind{apis.KindBroker, wire.BrokerPath, wire.BrokerTopic}
	channel := addressableKind{apis.KindChannel, wire.ChannelPath, wire.ChannelTopic}
	return map[string]addressableKind{
		"eventing.knative.dev/" + apis.KindBroker:           broker,
		"messaging.knative.dev/" + apis.KindChannel:         channel,
		"messaging.knative.dev/" + apis.KindInMemoryChannel: channel,
		"messaging.knative.dev/" + apis.KindKafkaChannel:    channel,
		"flows.knative.dev/" + apis.KindSequence: {apis.KindSequence, wire.SequencePath,
			func(ns, name string) string { return wire.SequenceTopic(ns, name, 0) }},
		"flows.knative.dev/" + apis.KindParallel:     {apis.KindParallel, wire.ParallelPath, wire.ParallelTopic},
		"eventing.knative.dev/" + apis.KindKafkaSink: {apis.KindKafkaSink, wire.KafkaSinkPath, nil},
	}
}()

// addressable resolves ref when it names a Weft addressable (a Broker, any
// channel kind, a Sequence, a Parallel or a KafkaSink): its address URL and
// the topic replies into it go to ("" for a KafkaSink). ok is false when
// ref names some other kind; err says the addressable is missing.
func (r resolver) addressable(namespace string, ref *apis.KReference) (url, topic string, ok bool, err error) {
	ns := ref.Namespace
	if ns == "" {
		ns = namespace
	}
	k, ok := addressableKinds[refGroup(ref)+"/"+ref.Kind]
	if !ok {
		return "", "", false, nil
	}
	if !r.exists[k.kind+"/"+ns+"/"+ref.Name] {
		return "", "", true, fmt.Errorf("ref: %s %q does not exist in namespace %q", ref.Kind, ref.Name, ns)
	}
	if k.topic != nil {
		topic = k.topic(ns, ref.Name)
	}
	return r.opts.url(k.path(ns, ref.Name)), topic, true, nil
}

// refGroup is the API group of ref ("" for the core group).
func refGroup(ref *apis.KReference) string {
	if ref.Group != "" {
		return ref.Group
	}
	group, _, found := strings.Cut(ref.APIVersion, "/")
	if !found {
		return ""
	}
	return group
}

// reply resolves the reply destination d at path of owner (nil: replies are
// discarded). A ref to a Weft addressable with a topic (not a KafkaSink)
// without a uri replies into that topic; anything else is POSTed to its URL. A failure is recorded in e
// (ReasonReplyResolve); e.ReplyURI is set either way it resolves.
func (r resolver) reply(e *EgressResolution, owner *apis.ObjectMeta, path string, d *apis.Destination) (topic, url string) {
	if d == nil {
		return "", ""
	}
	if d.Ref != nil && d.URI == "" {
		u, t, ok, err := r.addressable(owner.Namespace, d.Ref)
		if ok && (err != nil || t != "") {
			if err != nil {
				e.fail(ReasonReplyResolve, path+": "+err.Error())
				return "", ""
			}
			e.ReplyURI = u
			return t, ""
		}
	}
	u, err := r.destinationOf(owner, path, d)
	if err != nil {
		e.fail(ReasonReplyResolve, path+": "+err.Error())
		return "", ""
	}
	e.ReplyURI = u
	return "", u
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
	var base string
	if u, _, ok, err := r.addressable(namespace, ref); ok {
		if err != nil {
			return "", err
		}
		base = u
	} else if group := refGroup(ref); ref.Kind == "Service" && (group == "" || group == "serving.knative.dev") {
		base = r.opts.ServiceURL(ns, ref.Name)
	} else {
		return "", fmt.Errorf("ref: cannot resolve kind %q (apiVersion %q): Weft resolves v1 Service, serving.knative.dev/v1 Service, eventing.knative.dev/v1 Broker, messaging.knative.dev Channel, InMemoryChannel and KafkaChannel, flows.knative.dev/v1 Sequence and Parallel, and eventing.knative.dev/v1alpha1 KafkaSink refs; use uri for anything else", ref.Kind, ref.APIVersion)
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
// path is where ds is in owner ("spec.delivery", "spec.steps[0].delivery").
func (r resolver) delivery(owner *apis.ObjectMeta, path string, ds *apis.DeliverySpec) (del *weftv1.Delivery, dlq, reason, msg string) {
	msgPath := strings.TrimPrefix(path, "spec.")
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
			return nil, "", ReasonInvalidDelivery, msgPath + "." + f.name + ": " + err.Error()
		}
		*f.dst = d.Milliseconds()
	}
	if ds.RetryAfterMax != nil && del.RetryAfterMaxMs == 0 {
		del.RetryAfterMaxMs = -1 // PT0S: do not honour Retry-After
	}
	if ds.DeadLetterSink != nil {
		u, err := r.destinationOf(owner, path+".deadLetterSink", ds.DeadLetterSink)
		if err != nil {
			return nil, "", ReasonDeadLetterResolve, msgPath + ".deadLetterSink: " + err.Error()
		}
		del.DeadLetterUrl, dlq = u, u
	}
	return del, dlq, "", ""
}

// caCertsOf joins the CACerts of dests (nil ones and repeats skipped): an
// egress trusts them all for its subscriber, reply and dead-letter
// deliveries, as the contract has one CA set per egress.
func caCertsOf(dests ...*apis.Destination) string {
	var parts []string
	for _, d := range dests {
		if d == nil || d.CACerts == nil || *d.CACerts == "" {
			continue
		}
		pem := strings.TrimSpace(*d.CACerts) + "\n"
		if !slices.Contains(parts, pem) {
			parts = append(parts, pem)
		}
	}
	return strings.Join(parts, "")
}

// deadLetterSink is ds's dead-letter sink (nil: none).
func deadLetterSink(ds *apis.DeliverySpec) *apis.Destination {
	if ds == nil {
		return nil
	}
	return ds.DeadLetterSink
}

func nsName(m *apis.ObjectMeta) string { return m.Namespace + "/" + m.Name }
