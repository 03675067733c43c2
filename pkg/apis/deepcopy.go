package apis

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"time"
)

// DeepCopy returns a copy of o that shares no memory with it. It returns a
// nil Object for a nil object (typed or not) and for a type this package
// does not define.
func DeepCopy(o Object) Object {
	switch x := o.(type) {
	case *Broker:
		if x == nil {
			return nil
		}
		c := *x
		c.ObjectMeta = copyMeta(x.ObjectMeta)
		c.Spec.Config = copyRef(x.Spec.Config)
		c.Spec.Delivery = copyDelivery(x.Spec.Delivery)
		c.Status.Status = copyStatus(x.Status.Status)
		if x.Status.Address != nil {
			a := *x.Status.Address
			c.Status.Address = &a
		}
		return &c
	case *Trigger:
		if x == nil {
			return nil
		}
		c := *x
		c.ObjectMeta = copyMeta(x.ObjectMeta)
		c.Spec.BrokerRef = copyBrokerRef(x.Spec.BrokerRef)
		if x.Spec.Filter != nil {
			c.Spec.Filter = &TriggerFilter{Attributes: maps.Clone(x.Spec.Filter.Attributes)}
		}
		c.Spec.Filters = copyFilters(x.Spec.Filters)
		c.Spec.Subscriber = copyDestination(x.Spec.Subscriber)
		c.Spec.Delivery = copyDelivery(x.Spec.Delivery)
		c.Status.Status = copyStatus(x.Status.Status)
		return &c
	}
	return copyKnown(o)
}

// copyKnown copies an object of a kind this package defines through its
// JSON form (the types marshal losslessly); nil for a nil or unknown one.
func copyKnown(o Object) Object {
	v := reflect.ValueOf(o)
	if o == nil || v.Kind() != reflect.Pointer || v.IsNil() || !knownTypes[v.Type()] {
		return nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("deep copy %T: %v", o, err)) // unreachable: the types marshal
	}
	c := reflect.New(v.Type().Elem()).Interface().(Object)
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("deep copy %T: %v", o, err))
	}
	return c
}

// knownTypes are the Go types of the kinds manifests may name.
var knownTypes = func() map[reflect.Type]bool {
	m := map[reflect.Type]bool{}
	for _, k := range manifestKinds {
		m[reflect.TypeOf(k.new())] = true
	}
	return m
}()

func copyMeta(m ObjectMeta) ObjectMeta {
	m.Labels = maps.Clone(m.Labels)
	m.Annotations = maps.Clone(m.Annotations)
	m.CreationTimestamp = copyPtr(m.CreationTimestamp)
	return m
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func copyRef(r *KReference) *KReference {
	if r == nil {
		return nil
	}
	c := *r
	c.Address = copyPtr(r.Address)
	return &c
}

func copyBrokerRef(r *BrokerReference) *BrokerReference {
	if r == nil {
		return nil
	}
	c := *r
	c.Address = copyPtr(r.Address)
	return &c
}

func copyDestination(d Destination) Destination {
	d.Ref = copyRef(d.Ref)
	d.CACerts = copyPtr(d.CACerts)
	d.Audience = copyPtr(d.Audience)
	return d
}

func copyDelivery(ds *DeliverySpec) *DeliverySpec {
	if ds == nil {
		return nil
	}
	c := DeliverySpec{
		Retry:         copyPtr(ds.Retry),
		BackoffPolicy: copyPtr(ds.BackoffPolicy),
		BackoffDelay:  copyPtr(ds.BackoffDelay),
		Timeout:       copyPtr(ds.Timeout),
		RetryAfterMax: copyPtr(ds.RetryAfterMax),
		Format:        copyPtr(ds.Format),
	}
	if ds.DeadLetterSink != nil {
		d := copyDestination(*ds.DeadLetterSink)
		c.DeadLetterSink = &d
	}
	return &c
}

func copyFilters(fs []SubscriptionsAPIFilter) []SubscriptionsAPIFilter {
	if fs == nil {
		return nil
	}
	out := make([]SubscriptionsAPIFilter, len(fs))
	for i := range fs {
		out[i] = copyFilter(fs[i])
	}
	return out
}

func copyFilter(f SubscriptionsAPIFilter) SubscriptionsAPIFilter {
	f.All = copyFilters(f.All)
	f.Any = copyFilters(f.Any)
	if f.Not != nil {
		n := copyFilter(*f.Not)
		f.Not = &n
	}
	f.Exact = maps.Clone(f.Exact)
	f.Prefix = maps.Clone(f.Prefix)
	f.Suffix = maps.Clone(f.Suffix)
	return f
}

func copyStatus(s Status) Status {
	if s.Conditions == nil {
		return s
	}
	cs := make([]Condition, len(s.Conditions))
	for i, c := range s.Conditions {
		c.LastTransitionTime = copyPtr[time.Time](c.LastTransitionTime)
		cs[i] = c
	}
	s.Conditions = cs
	return s
}
