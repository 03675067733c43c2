package controlplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/wire"
)

// withStatus returns a copy of o with its status computed from the compiled
// contract and the data plane's acknowledgements.
func (s *Server) withStatus(o apis.Object) apis.Object {
	o = apis.DeepCopy(o)
	compiled, _ := s.pub.current()
	m := o.GetObjectMeta()
	switch t := o.(type) {
	case *apis.Broker:
		st := &t.Status
		st.ObservedGeneration = m.Generation
		st.Topic = wire.BrokerTopic(m.Namespace, m.Name)
		st.Address = &apis.Addressable{Name: "http", URL: s.opts.BrokerURL(m.Namespace, m.Name)}
		conds := []apis.Condition{
			cond("Addressable", true, "", ""),
			cond("TopicReady", true, "", "topic "+st.Topic),
		}
		ok, reason, msg := s.pub.readiness(m.UID, wire.RoleIngress)
		conds = append(conds, cond("IngressReady", ok, reason, msg))
		st.Conditions = withReady(conds)
	case *apis.Trigger:
		st := &t.Status
		st.ObservedGeneration = m.Generation
		res, found := compiled.Triggers[m.Namespace+"/"+m.Name]
		if !found {
			// Not compiled yet (the contract lags the state by a moment).
			st.Conditions = []apis.Condition{cond("Ready", false, "NotInContract", "waiting for the contract to include this trigger")}
			st.Conditions[0].Status = apis.ConditionUnknown
			return o
		}
		st.SubscriberURI, st.DeadLetterSinkURI = res.SubscriberURI, res.DeadLetterURI
		conds := []apis.Condition{}
		if res.BrokerExists {
			conds = append(conds, cond("BrokerReady", true, "", ""))
		} else {
			conds = append(conds, cond("BrokerReady", false, compile.ReasonBrokerDoesNotExist, res.Message))
		}
		switch res.Reason {
		case compile.ReasonSubscriberResolve, compile.ReasonDeadLetterResolve, compile.ReasonInvalidDelivery:
			conds = append(conds, cond("SubscriberResolved", false, res.Reason, res.Message))
		default:
			conds = append(conds, cond("SubscriberResolved", true, "", ""))
		}
		if res.Reason == "" {
			ok, reason, msg := s.pub.readiness(m.UID, wire.RoleDispatcher)
			conds = append(conds, cond("DataPlaneReady", ok, reason, msg))
			reason, msg = s.pub.problems(m.UID)
			conds = append(conds, cond("DeliveryHealthy", reason == "", reason, msg))
		}
		st.Conditions = withReady(conds)
	case *apis.Channel:
		s.channelStatus(t, compiled)
	case *apis.Subscription:
		st := &t.Status
		st.ObservedGeneration = m.Generation
		res, found := compiled.Subscriptions[m.Namespace+"/"+m.Name]
		if !found {
			st.Conditions = notCompiled("subscription")
			return o
		}
		st.PhysicalSubscription = apis.SubscriptionStatusPhysicalSubscription{
			SubscriberURI: res.SubscriberURI, ReplyURI: res.ReplyURI, DeadLetterSinkURI: res.DeadLetterURI,
		}
		st.Conditions = withReady(s.subscriptionConditions(res))
	case *apis.Sequence:
		s.sequenceStatus(t, compiled)
	case *apis.Parallel:
		s.parallelStatus(t, compiled)
	case *apis.KafkaSink:
		s.kafkaSinkStatus(t, compiled)
	case *apis.PingSource:
		s.pingSourceStatus(t, compiled)
	case *apis.HTTPPollerSource:
		s.httpPollerSourceStatus(t, compiled)
	case *apis.WebhookSource:
		s.webhookStatus(apis.KindWebhookSource, m, &t.Status, compiled,
			[]apis.CloudEventAttributes{{Type: t.Spec.EventType, Source: apis.WebhookSourceEventSource(t)}})
	case *apis.GitLabSource:
		s.webhookStatus(apis.KindGitLabSource, m, &t.Status, compiled, ceAttributes(apis.GitLabEventTypes(t.Spec.EventTypes), t.Spec.ProjectURL))
	case *apis.GitHubSource:
		s.webhookStatus(apis.KindGitHubSource, m, &t.Status, compiled,
			ceAttributes(apis.GitHubEventTypes(t.Spec.EventTypes), apis.GitHubEventSource(t.Spec.OwnerAndRepository)))
	case *apis.KafkaSource:
		s.kafkaSourceStatus(t, compiled)
	case *apis.EventPolicy:
		s.eventPolicyStatus(t, compiled)
	case *apis.EventType:
		s.eventTypeStatus(t)
	}
	return o
}

// eventPolicyStatus fills an EventPolicy's status as Knative's reconciler
// does: status.from lists the OIDC subjects spec.from resolved to, and the
// policy is Ready when OIDC authentication is on (AuthenticationEnabled)
// and its subjects resolved (SubjectsResolved: a ServiceAccount ref needs
// nothing more than its name). Ready's message names the addressables the
// policy applies to in the current contract.
func (s *Server) eventPolicyStatus(p *apis.EventPolicy, compiled *compile.Compiled) {
	m := &p.ObjectMeta
	st := &p.Status
	st.ObservedGeneration = m.Generation
	st.From = p.Subjects()
	if !s.opts.OIDCAuthentication {
		st.Conditions = withReady([]apis.Condition{
			cond("AuthenticationEnabled", false, "OIDCAuthenticationDisabled",
				"the control plane runs without --oidc-authentication: the policy is stored but not enforced"),
			cond("SubjectsResolved", true, "", ""),
		})
		return
	}
	var targets []string
	for _, in := range compiled.Contract.GetIngresses() {
		for _, r := range in.GetAuth().GetPolicies() {
			if r.GetNamespace() == m.Namespace && r.GetName() == m.Name {
				targets = append(targets, strings.ToLower(in.GetKind())+" "+in.GetName())
			}
		}
	}
	conds := withReady([]apis.Condition{
		cond("AuthenticationEnabled", true, "", ""),
		cond("SubjectsResolved", true, "", ""),
	})
	if len(targets) == 0 {
		conds[0].Message = "applies to no addressable yet (spec.to selects none in namespace " + m.Namespace + ")"
	} else {
		conds[0].Message = "applies to " + strings.Join(targets, ", ")
	}
	st.Conditions = conds
}

// kafkaSinkStatus fills a KafkaSink's status: its address, its topic (made
// at apply, on its cluster), whether spec.auth.secret resolves
// (AuthResolved: False with SecretResolveFailed, naming the Secret and key,
// and the sink is not served) and whether every ingress serves it.
func (s *Server) kafkaSinkStatus(k *apis.KafkaSink, compiled *compile.Compiled) {
	m := &k.ObjectMeta
	st := &k.Status
	st.ObservedGeneration = m.Generation
	st.Address = &apis.Addressable{Name: "http", URL: s.opts.KafkaSinkURL(m.Namespace, m.Name)}
	cluster := "Weft's cluster"
	if servers := k.Spec.BootstrapServers; len(servers) > 0 {
		cluster = "cluster " + strings.Join(servers, ",")
	}
	conds := []apis.Condition{
		cond("Addressable", true, "", ""),
		cond("TopicReady", true, "", "topic "+k.Spec.Topic+" on "+cluster),
	}
	if res, found := compiled.KafkaSinks[m.Namespace+"/"+m.Name]; found && res.Reason != "" {
		st.Conditions = withReady(append(conds, cond("AuthResolved", false, res.Reason, res.Message),
			apis.Condition{Type: "IngressReady", Status: apis.ConditionUnknown, Reason: "AuthNotResolved", Message: "not served until spec.auth.secret resolves"}))
		return
	}
	ok, reason, msg := s.pub.readiness(m.UID, wire.RoleIngress)
	st.Conditions = withReady(append(conds, cond("IngressReady", ok, reason, msg)))
}

// pingSourceStatus fills a PingSource's status (it has no address): the
// resolved sink (SinkProvided), the event attributes it sends, and whether
// every dispatcher runs it (Deployed: it runs the egress delivering the
// ticks, and the owner of the topic's partition produces them).
func (s *Server) pingSourceStatus(p *apis.PingSource, compiled *compile.Compiled) {
	m := &p.ObjectMeta
	st := &p.Status
	st.ObservedGeneration = m.Generation
	st.CloudEventAttributes = []apis.CloudEventAttributes{{Type: apis.PingSourceEventType, Source: apis.PingSourceEventSource(m.Namespace, m.Name)}}
	res, found := compiled.PingSources[m.Namespace+"/"+m.Name]
	st.SinkURI, st.Conditions = s.sourceConditions(res, found, sourceShape{kind: apis.KindPingSource, needs: "spec.sink"})
}

// httpPollerSourceStatus fills an HTTPPollerSource's status (it has no
// address): the resolved sink (SinkProvided), spec.basicAuthPassword's
// Secret (SecretsProvided: False with SecretResolveFailed when it does not
// resolve), the event attributes it sends, whether every dispatcher runs it
// (Deployed), and whether its polls succeed (PollHealthy: False with the
// dispatcher's reason, PollFailed, and the status code or error while the
// endpoint fails).
func (s *Server) httpPollerSourceStatus(p *apis.HTTPPollerSource, compiled *compile.Compiled) {
	m := &p.ObjectMeta
	st := &p.Status
	st.ObservedGeneration = m.Generation
	st.CloudEventAttributes = []apis.CloudEventAttributes{{Type: p.Spec.EventType, Source: apis.HTTPPollerEventSource(p)}}
	res, found := compiled.HTTPPollerSources[m.Namespace+"/"+m.Name]
	st.SinkURI, st.Conditions = s.sourceConditions(res, found, sourceShape{kind: apis.KindHTTPPollerSource, secrets: true, health: "PollHealthy", needs: "spec.sink and spec.basicAuthPassword"})
}

// notCompiled is the status of an object the contract does not hold yet
// (the contract lags the state by a moment).
func notCompiled(what string) []apis.Condition {
	return []apis.Condition{{Type: "Ready", Status: apis.ConditionUnknown, Reason: "NotInContract", Message: "waiting for the contract to include this " + what}}
}

// channelStatus fills a Channel's status; subscribers lists the
// Subscriptions of the channel with their readiness.
func (s *Server) channelStatus(c *apis.Channel, compiled *compile.Compiled) {
	m := &c.ObjectMeta
	st := &c.Status
	st.ObservedGeneration = m.Generation
	st.Topic = wire.ChannelTopic(m.Namespace, m.Name)
	st.Address = &apis.Addressable{Name: "http", URL: s.opts.ChannelURL(m.Namespace, m.Name)}
	res, found := compiled.Channels[m.Namespace+"/"+m.Name]
	if !found {
		st.Conditions = notCompiled("channel")
		return
	}
	st.DeadLetterSinkURI = res.DeadLetterURI
	var keys []string
	for k, sr := range compiled.Subscriptions {
		if strings.HasPrefix(k, m.Namespace+"/") && sr.Channel == m.Name {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		sr := compiled.Subscriptions[k]
		ready := withReady(s.subscriptionConditions(sr))[0]
		st.Subscribers = append(st.Subscribers, apis.SubscriberStatus{UID: sr.UID, ObservedGeneration: sr.Generation, Ready: ready.Status, Message: ready.Message})
	}
	ok, reason, msg := s.pub.readiness(m.UID, wire.RoleIngress)
	st.Conditions = withReady([]apis.Condition{
		cond("Addressable", true, "", ""),
		cond("TopicReady", true, "", "topic "+st.Topic),
		cond("IngressReady", ok, reason, msg),
	})
}

// subscriptionConditions are a Subscription's conditions without Ready.
func (s *Server) subscriptionConditions(res compile.SubscriptionResolution) []apis.Condition {
	var conds []apis.Condition
	if res.ChannelExists {
		conds = append(conds, cond("ChannelReady", true, "", ""))
	} else {
		conds = append(conds, cond("ChannelReady", false, compile.ReasonChannelNotFound, fmt.Sprintf("channel %q does not exist", res.Channel)))
	}
	switch res.Reason {
	case compile.ReasonSubscriberResolve, compile.ReasonReplyResolve, compile.ReasonDeadLetterResolve, compile.ReasonInvalidDelivery:
		conds = append(conds, cond("ReferencesResolved", false, res.Reason, res.Message))
	default:
		conds = append(conds, cond("ReferencesResolved", true, "", ""))
	}
	if res.Reason == "" {
		ok, reason, msg := s.pub.readiness(res.UID, wire.RoleDispatcher)
		conds = append(conds, cond("AddedToChannel", ok, reason, msg))
		reason, msg = s.pub.problems(res.UID)
		conds = append(conds, cond("DeliveryHealthy", reason == "", reason, msg))
	}
	return conds
}

// egressReady says whether one egress of a flow runs: it compiled, every
// dispatcher applied it, and none reports a problem with it.
func (s *Server) egressReady(er compile.EgressResolution) apis.Condition {
	if er.Reason != "" {
		return cond("Ready", false, er.Reason, er.Message)
	}
	if ok, reason, msg := s.pub.readiness(er.UID, wire.RoleDispatcher); !ok {
		return cond("Ready", false, reason, msg)
	}
	if reason, msg := s.pub.problems(er.UID); reason != "" {
		return cond("Ready", false, reason, msg)
	}
	return cond("Ready", true, "", "")
}

// flowChannel names an internal channel of a flow as Knative would, of the
// flow's channelTemplate kind (InMemoryChannel without one).
func flowChannel(t *apis.ChannelTemplateSpec, namespace, name, topic string) apis.FlowChannelStatus {
	ref := apis.FlowReference{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel, Name: name, Namespace: namespace}
	if t != nil && t.Kind != "" {
		ref.APIVersion, ref.Kind = t.APIVersion, t.Kind
	}
	return apis.FlowChannelStatus{Channel: ref, Ready: cond("Ready", true, "", ""), Topic: topic}
}

func flowSubscription(namespace, name string, ready apis.Condition) apis.FlowSubscriptionStatus {
	return apis.FlowSubscriptionStatus{
		Subscription: apis.FlowReference{APIVersion: apis.MessagingV1, Kind: apis.KindSubscription, Name: name, Namespace: namespace},
		Ready:        ready,
	}
}

// flowConditions are the conditions of a Sequence or Parallel: its
// internal channels are topics made at apply; its subscriptions are ready
// when each one is (the first that is not says why); its address is served
// once every ingress applied it.
func (s *Server) flowConditions(uid string, subs []apis.FlowSubscriptionStatus) []apis.Condition {
	subsReady := cond("SubscriptionsReady", true, "", "")
	for _, sub := range subs {
		if sub.Ready.Status != apis.ConditionTrue {
			subsReady = apis.Condition{Type: "SubscriptionsReady", Status: sub.Ready.Status, Reason: sub.Ready.Reason, Message: sub.Subscription.Name + ": " + sub.Ready.Message}
			break
		}
	}
	ok, reason, msg := s.pub.readiness(uid, wire.RoleIngress)
	return withReady([]apis.Condition{
		cond("ChannelsReady", true, "", ""),
		subsReady,
		cond("Addressable", true, "", ""),
		cond("IngressReady", ok, reason, msg),
	})
}

func (s *Server) sequenceStatus(q *apis.Sequence, compiled *compile.Compiled) {
	m := &q.ObjectMeta
	ns, name := m.Namespace, m.Name
	st := &q.Status
	st.ObservedGeneration = m.Generation
	st.Address = &apis.Addressable{Name: "http", URL: s.opts.SequenceURL(ns, name)}
	res, found := compiled.Sequences[ns+"/"+name]
	if !found || len(res.Steps) != len(q.Spec.Steps) {
		st.Conditions = notCompiled("sequence")
		return
	}
	for i := range q.Spec.Steps {
		internal := fmt.Sprintf("%s-kn-sequence-%d", name, i)
		st.ChannelStatuses = append(st.ChannelStatuses, flowChannel(q.Spec.ChannelTemplate, ns, internal, wire.SequenceTopic(ns, name, i)))
		st.SubscriptionStatuses = append(st.SubscriptionStatuses, flowSubscription(ns, internal, s.egressReady(res.Steps[i])))
	}
	st.Conditions = s.flowConditions(m.UID, st.SubscriptionStatuses)
}

func (s *Server) parallelStatus(p *apis.Parallel, compiled *compile.Compiled) {
	m := &p.ObjectMeta
	ns, name := m.Namespace, m.Name
	st := &p.Status
	st.ObservedGeneration = m.Generation
	st.Address = &apis.Addressable{Name: "http", URL: s.opts.ParallelURL(ns, name)}
	res, found := compiled.Parallels[ns+"/"+name]
	if !found || len(res.Branches) != len(p.Spec.Branches) {
		st.Conditions = notCompiled("parallel")
		return
	}
	tmpl := p.Spec.ChannelTemplate
	st.IngressChannelStatus = flowChannel(tmpl, ns, name+"-kn-parallel", wire.ParallelTopic(ns, name))
	var subs []apis.FlowSubscriptionStatus
	for i, br := range res.Branches {
		bs := apis.ParallelBranchStatus{}
		filterReady := cond("Ready", true, "NoFilter", "the branch has no filter: every event goes to its subscriber")
		topic := ""
		if br.Filter != nil {
			filterReady = s.egressReady(*br.Filter)
			topic = wire.ParallelBranchTopic(ns, name, i)
		}
		bs.FilterChannelStatus = flowChannel(tmpl, ns, fmt.Sprintf("%s-kn-parallel-%d", name, i), topic)
		bs.FilterSubscriptionStatus = flowSubscription(ns, fmt.Sprintf("%s-kn-parallel-filter-%d", name, i), filterReady)
		bs.SubscriberSubscriptionStatus = flowSubscription(ns, fmt.Sprintf("%s-kn-parallel-%d", name, i), s.egressReady(br.Subscriber))
		st.BranchStatuses = append(st.BranchStatuses, bs)
		subs = append(subs, bs.FilterSubscriptionStatus, bs.SubscriberSubscriptionStatus)
	}
	st.Conditions = s.flowConditions(m.UID, subs)
}

func cond(typ string, ok bool, reason, msg string) apis.Condition {
	c := apis.Condition{Type: typ, Status: apis.ConditionTrue, Reason: reason, Message: msg}
	if !ok {
		c.Status = apis.ConditionFalse
	}
	return c
}

// withReady prepends Ready: True when every condition is, else the first
// failing condition's reason and message.
func withReady(conds []apis.Condition) []apis.Condition {
	ready := apis.Condition{Type: "Ready", Status: apis.ConditionTrue}
	for _, c := range conds {
		if c.Status != apis.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = c.Status, c.Reason, c.Message
			break
		}
	}
	return append([]apis.Condition{ready}, conds...)
}

// kafkaSourceStatus fills a KafkaSource's status (it has no address): the
// resolved sink (SinkProvided), the attributes of the events its records
// that are not CloudEvents become (one per topic), spec.consumers, and
// whether every dispatcher runs it (Deployed) without a delivery problem
// (DeliveryHealthy).
func (s *Server) kafkaSourceStatus(k *apis.KafkaSource, compiled *compile.Compiled) {
	m := &k.ObjectMeta
	st := &k.Status
	st.ObservedGeneration = m.Generation
	st.CloudEventAttributes = apis.KafkaSourceAttributes(k)
	if c := k.Spec.Consumers; c != nil {
		st.Consumers = *c
	}
	res, found := compiled.KafkaSources[m.Namespace+"/"+m.Name]
	st.SinkURI, st.Conditions = s.sourceConditions(res, found, sourceShape{kind: apis.KindKafkaSource, secrets: true, health: "DeliveryHealthy", needs: "spec.sink, spec.delivery and spec.net's Secrets"})
}
