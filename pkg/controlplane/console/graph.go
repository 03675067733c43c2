package console

import (
	"sort"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
)

// Graph is the topology the console draws, in columns: sources (0),
// brokers, channels and flows (1), triggers and subscriptions (2),
// subscribers and dead-letter sinks (3). Nodes come in drawing order.
type Graph struct {
	Version uint64 `json:"version"`
	Nodes   []Node `json:"nodes"`
	Edges   []Edge `json:"edges"`
}

// Node is one box of the graph.
type Node struct {
	ID  string `json:"id"`
	Col int    `json:"col"`
	// Kind, Namespace and Name name a Weft object; an external subscriber
	// (a Service, a URI) has Kind "" and Name its label.
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Ready is the Ready condition's status ("True", "False", "Unknown";
	// "" for external nodes), with its reason and message.
	Ready   string `json:"ready,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Edge is an arrow of the graph; DeadLetter arrows are dashed.
type Edge struct {
	From       string `json:"from"`
	To         string `json:"to"`
	DeadLetter bool   `json:"deadLetter,omitempty"`
}

// Column of each kind.
func column(o apis.Object) int {
	switch o.(type) {
	case *apis.Broker, *apis.Channel, *apis.Sequence, *apis.Parallel:
		return 1
	case *apis.Trigger, *apis.Subscription:
		return 2
	case *apis.KafkaSink:
		return 3
	}
	if _, _, ok := eventmesh.SourceInfo(o); ok {
		return 0
	}
	return -1 // not drawn (Secret, EventType)
}

// nodeID names a Weft object's node.
func nodeID(o apis.Object) string {
	m := o.GetObjectMeta()
	return apis.KindOf(o) + "/" + m.Namespace + "/" + m.Name
}

// BuildGraph returns the topology of objs (with their status).
func BuildGraph(version uint64, objs []apis.Object) Graph {
	g := Graph{Version: version, Nodes: []Node{}, Edges: []Edge{}}
	byRef := map[string]string{} // group/kind/ns/name -> node id
	cols := [4][]apis.Object{}
	var brokerDLS = map[string]*apis.DeliverySpec{}
	var channelDLS = map[string]*apis.DeliverySpec{}
	for _, o := range objs {
		c := column(o)
		if c < 0 {
			continue
		}
		tm, m := o.GetTypeMeta(), o.GetObjectMeta()
		grp, _, _ := strings.Cut(tm.APIVersion, "/")
		byRef[grp+"/"+tm.Kind+"/"+m.Namespace+"/"+m.Name] = nodeID(o)
		cols[c] = append(cols[c], o)
		switch t := o.(type) {
		case *apis.Broker:
			brokerDLS[m.Namespace+"/"+m.Name] = t.Spec.Delivery
		case *apis.Channel:
			channelDLS[tm.Kind+"/"+m.Namespace+"/"+m.Name] = t.Spec.Delivery
		}
	}
	// Triggers and subscriptions are drawn next to their broker or channel.
	parent := func(o apis.Object) string {
		m := o.GetObjectMeta()
		switch t := o.(type) {
		case *apis.Trigger:
			return apis.KindBroker + "/" + m.Namespace + "/" + t.Spec.Broker
		case *apis.Subscription:
			return apis.KindChannel + "/" + m.Namespace + "/" + t.Spec.Channel.Name
		}
		return ""
	}
	sort.SliceStable(cols[2], func(i, j int) bool { return parent(cols[2][i]) < parent(cols[2][j]) })

	seen := map[string]bool{}
	var external []Node // column 3, in order of first use
	add := func(o apis.Object, col int) {
		m := o.GetObjectMeta()
		n := Node{ID: nodeID(o), Col: col, Kind: o.GetTypeMeta().Kind, Namespace: m.Namespace, Name: m.Name}
		for _, c := range o.GetConditions() {
			if c.Type == "Ready" {
				n.Ready, n.Reason, n.Message = c.Status, c.Reason, c.Message
			}
		}
		if _, isSecret := o.(*apis.Secret); !isSecret && n.Ready == "" {
			n.Ready = apis.ConditionUnknown
		}
		seen[n.ID] = true
		g.Nodes = append(g.Nodes, n)
	}
	// dest is the node a destination points at, adding an external one.
	dest := func(ns string, d *apis.Destination) string {
		if d == nil || (d.Ref == nil && d.URI == "") {
			return ""
		}
		if r := d.Ref; r != nil {
			rns := r.Namespace
			if rns == "" {
				rns = ns
			}
			grp, _, _ := strings.Cut(r.APIVersion, "/")
			if !strings.Contains(r.APIVersion, "/") {
				grp = ""
			}
			if id, ok := byRef[grp+"/"+r.Kind+"/"+rns+"/"+r.Name]; ok {
				return id
			}
			id := "ref:" + r.Kind + "/" + rns + "/" + r.Name
			if !seen[id] {
				seen[id] = true
				external = append(external, Node{ID: id, Col: 3, Kind: "", Namespace: rns, Name: r.Kind + " " + r.Name})
			}
			return id
		}
		id := "uri:" + d.URI
		if !seen[id] {
			seen[id] = true
			external = append(external, Node{ID: id, Col: 3, Name: d.URI})
		}
		return id
	}
	edge := func(from, to string, dl bool) {
		if from != "" && to != "" {
			g.Edges = append(g.Edges, Edge{From: from, To: to, DeadLetter: dl})
		}
	}
	dls := func(ds ...*apis.DeliverySpec) *apis.Destination {
		for _, d := range ds {
			if d != nil && d.DeadLetterSink != nil {
				return d.DeadLetterSink
			}
		}
		return nil
	}
	for c := 0; c < 3; c++ {
		for _, o := range cols[c] {
			add(o, c)
		}
	}
	for _, o := range cols[3] {
		add(o, 3)
	}
	for _, o := range objs {
		if column(o) < 0 {
			continue
		}
		id, m := nodeID(o), o.GetObjectMeta()
		ns := m.Namespace
		switch t := o.(type) {
		case *apis.Trigger:
			edge(parent(o), id, false)
			edge(id, dest(ns, &t.Spec.Subscriber), false)
			edge(id, dest(ns, dls(t.Spec.Delivery, brokerDLS[ns+"/"+t.Spec.Broker])), true)
		case *apis.Subscription:
			edge(parent(o), id, false)
			edge(id, dest(ns, t.Spec.Subscriber), false)
			edge(id, dest(ns, t.Spec.Reply), false)
			edge(id, dest(ns, dls(t.Spec.Delivery, channelDLS[t.Spec.Channel.Kind+"/"+ns+"/"+t.Spec.Channel.Name])), true)
		case *apis.Sequence:
			for i := range t.Spec.Steps {
				edge(id, dest(ns, &t.Spec.Steps[i].Destination), false)
				edge(id, dest(ns, dls(t.Spec.Steps[i].Delivery)), true)
			}
			edge(id, dest(ns, t.Spec.Reply), false)
		case *apis.Parallel:
			for i := range t.Spec.Branches {
				b := &t.Spec.Branches[i]
				edge(id, dest(ns, b.Filter), false)
				edge(id, dest(ns, &b.Subscriber), false)
				edge(id, dest(ns, b.Reply), false)
				edge(id, dest(ns, dls(b.Delivery)), true)
			}
			edge(id, dest(ns, t.Spec.Reply), false)
		default:
			if _, sink, ok := eventmesh.SourceInfo(o); ok {
				edge(id, dest(ns, &sink), false)
			}
		}
	}
	// Drop edges to parents that do not exist (a trigger of a missing broker).
	edges := g.Edges[:0]
	for _, e := range g.Edges {
		if seen[e.From] && seen[e.To] {
			edges = append(edges, e)
		}
	}
	g.Edges = edges
	g.Nodes = append(g.Nodes, external...)
	return g
}
