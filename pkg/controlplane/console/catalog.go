package console

import (
	"sort"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
)

// CatalogEntry is one CloudEvents type: the EventTypes that declare it, who
// produces it and who consumes it.
type CatalogEntry struct {
	Type string `json:"type"`
	// EventTypes are the EventTypes of the type ("ns/name").
	EventTypes []CatalogEventType `json:"eventTypes"`
	// Producers are the sources sending the type ("Kind ns/name"), and the
	// CloudEvents sources EventTypes declare.
	Producers []string `json:"producers"`
	// Consumers are the triggers receiving the type: those with an exact
	// type filter on it, and those without a type filter on a broker an
	// EventType of the type is offered on ("Trigger ns/name").
	Consumers []string `json:"consumers"`
}

// CatalogEventType is an EventType as the catalog lists it.
type CatalogEventType struct {
	ID          string `json:"id"`
	Source      string `json:"source,omitempty"`
	Schema      string `json:"schema,omitempty"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference,omitempty"`
}

// BuildCatalog returns the types of objs, sorted.
func BuildCatalog(objs []apis.Object) []CatalogEntry {
	by := map[string]*CatalogEntry{}
	get := func(t string) *CatalogEntry {
		e := by[t]
		if e == nil {
			e = &CatalogEntry{Type: t, EventTypes: []CatalogEventType{}, Producers: []string{}, Consumers: []string{}}
			by[t] = e
		}
		return e
	}
	offered := map[string][]string{} // broker ns/name -> types
	for _, o := range objs {
		m := o.GetObjectMeta()
		if et, ok := o.(*apis.EventType); ok {
			t := eventmesh.EventTypeType(et)
			if t == "" {
				continue
			}
			c := CatalogEventType{ID: m.Namespace + "/" + m.Name, Source: et.Spec.Source, Schema: et.Spec.Schema, Description: et.Spec.Description}
			if r := et.Spec.Reference; r != nil {
				c.Reference = r.Kind + " " + m.Namespace + "/" + r.Name
				if r.Kind == apis.KindBroker {
					offered[m.Namespace+"/"+r.Name] = append(offered[m.Namespace+"/"+r.Name], t)
				}
			}
			e := get(t)
			e.EventTypes = append(e.EventTypes, c)
			if et.Spec.Source != "" {
				e.Producers = appendNew(e.Producers, "source "+et.Spec.Source)
			}
		}
		if types, _, ok := eventmesh.SourceInfo(o); ok {
			for _, t := range types {
				e := get(t)
				e.Producers = appendNew(e.Producers, o.GetTypeMeta().Kind+" "+m.Namespace+"/"+m.Name)
			}
		}
	}
	for _, o := range objs {
		t, ok := o.(*apis.Trigger)
		if !ok {
			continue
		}
		m := t.ObjectMeta
		id := "Trigger " + m.Namespace + "/" + m.Name
		want := ""
		if t.Spec.Filter != nil {
			want = t.Spec.Filter.Attributes["type"]
		}
		if want != "" {
			get(want).Consumers = appendNew(get(want).Consumers, id)
			continue
		}
		for _, typ := range offered[m.Namespace+"/"+t.Spec.Broker] {
			get(typ).Consumers = appendNew(get(typ).Consumers, id)
		}
	}
	out := make([]CatalogEntry, 0, len(by))
	for _, e := range by {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
