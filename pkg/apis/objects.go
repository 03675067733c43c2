package apis

import "reflect"

// Generic operations on objects of any kind, so that adding a kind does not
// mean adding a case to each of them.

// ClearStatus zeroes o's status (it is computed, never stored); a kind
// without one (Secret) is left alone.
func ClearStatus(o Object) {
	if f, ok := field(o, "Status"); ok {
		f.SetZero()
	}
}

// SpecOnly is a shallow copy of o without its metadata and status: what
// two versions of an object are compared by to decide whether its spec
// changed (a new generation). TypeMeta stays; for a kind without a spec
// (Secret) everything but metadata counts.
func SpecOnly(o Object) Object {
	v := reflect.ValueOf(o)
	if o == nil || v.Kind() != reflect.Pointer || v.IsNil() {
		return o
	}
	c := reflect.New(v.Type().Elem())
	c.Elem().Set(v.Elem())
	out := c.Interface().(Object)
	for _, name := range []string{"ObjectMeta", "Status"} {
		if f, ok := field(out, name); ok {
			f.SetZero()
		}
	}
	return out
}

// field is the settable field name of the struct o points to.
func field(o Object, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(o)
	if o == nil || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName(name)
	return f, f.IsValid() && f.CanSet()
}
