package apis

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Strict checking of a generic JSON value (as decoded with UseNumber) against
// a Go type, before it is unmarshalled. encoding/json neither names the path
// of an unknown field nor reports more than one problem; this walker reports
// every unknown field and type mismatch with its full path, the way
// `kubectl apply --validate=strict` does.

var timeType = reflect.TypeFor[time.Time]()

// structField is one JSON-visible field of a struct type.
type structField struct {
	name string
	typ  reflect.Type
}

// structInfo lists a struct's JSON fields, inlined embedded structs included.
type structInfo struct {
	byName map[string]reflect.Type
	names  []string // in declaration order, for messages
}

var structInfos sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{byName: map[string]reflect.Type{}}
	for _, f := range collectFields(t) {
		if _, dup := info.byName[f.name]; !dup {
			info.byName[f.name] = f.typ
			info.names = append(info.names, f.name)
		}
	}
	structInfos.Store(t, info)
	return info
}

func collectFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, collectFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, structField{name: name, typ: f.Type})
	}
	return out
}

// strictCheck appends to errs every mismatch between v and type t at path.
func strictCheck(errs *errorList, path string, v any, t reflect.Type) {
	if v == nil {
		return // null is "unset" for every field, as in Kubernetes.
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			errs.add(path, shown(v), "expected an RFC 3339 timestamp string, got %s", jsonTypeName(v))
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			errs.add(path, s, "expected an RFC 3339 timestamp such as \"2024-01-02T15:04:05Z\"")
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		strictCheck(errs, path, v, t.Elem())
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			errs.add(path, shown(v), "expected object, got %s", jsonTypeName(v))
			return
		}
		info := infoOf(t)
		for _, k := range sortedKeys(m) {
			ft, known := info.byName[k]
			if !known {
				errs.add(joinPath(path, k), "", "%s", unknownFieldMessage(k, path, info.names))
				continue
			}
			strictCheck(errs, joinPath(path, k), m[k], ft)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			errs.add(path, shown(v), "expected object, got %s", jsonTypeName(v))
			return
		}
		for _, k := range sortedKeys(m) {
			strictCheck(errs, path+"["+k+"]", m[k], t.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			// []byte: a base64 string in JSON and YAML (a Secret's data).
			str, ok := v.(string)
			if !ok {
				errs.add(path, shown(v), "expected a base64 string, got %s", jsonTypeName(v))
			} else if _, err := base64.StdEncoding.DecodeString(str); err != nil {
				errs.add(path, shown(v), "expected base64 (standard encoding, padded): %v", err)
			}
			return
		}
		a, ok := v.([]any)
		if !ok {
			errs.add(path, shown(v), "expected array, got %s", jsonTypeName(v))
			return
		}
		for i, e := range a {
			strictCheck(errs, fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			errs.add(path, shown(v), "expected string, got %s", jsonTypeName(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.add(path, shown(v), "expected boolean, got %s", jsonTypeName(v))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			errs.add(path, shown(v), "expected integer, got %s", jsonTypeName(v))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			if isDecimalInteger(string(n)) {
				errs.add(path, string(n), "expected integer between %d and %d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
			} else {
				errs.add(path, string(n), "expected integer, got a fractional number")
			}
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			errs.add(path, shown(v), "expected number, got %s", jsonTypeName(v))
		}
	case reflect.Interface:
		// anything goes
	default:
		errs.add(path, "", "cannot decode into %s", t)
	}
}

func isDecimalInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// unknownFieldMessage says a field is unknown, suggests the closest known one
// and lists the known ones.
func unknownFieldMessage(k, parent string, known []string) string {
	where := parent
	if where == "" {
		where = "the top level"
	}
	msg := "unknown field"
	if s := closest(k, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Sprintf("%s; known fields of %s: %s", msg, where, strings.Join(known, ", "))
}

// closest returns the known name nearest to k (case-insensitive equal, or at
// most 2 edits away), or "".
func closest(k string, known []string) string {
	best, bestD := "", 3
	for _, n := range known {
		if strings.EqualFold(n, k) {
			return n
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func joinPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonTypeName names the JSON type of a generic value.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// shown renders a scalar for FieldError.Value; objects and arrays are not shown.
func shown(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
