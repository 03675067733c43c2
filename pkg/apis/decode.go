package apis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Marshal encodes o as JSON, the form DecodeObject reads back.
func Marshal(o Object) ([]byte, error) {
	if o == nil || reflect.ValueOf(o).IsNil() {
		return nil, errors.New("marshal object: nil object")
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", o.GetTypeMeta().Kind, err)
	}
	return b, nil
}

// ignoredMetadata are Kubernetes ObjectMeta fields that Weft does not keep.
// They are accepted (so `kubectl get -o yaml` output can be applied) and
// dropped.
var ignoredMetadata = []string{
	"generateName", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
	"ownerReferences", "finalizers", "managedFields",
}

// DecodeObject decodes one JSON or YAML document into an object of a kind
// Weft stores (*Broker, *Trigger, *Channel, *Subscription, *Sequence,
// *Parallel), strictly: unknown fields and type mismatches are errors naming
// their path. Status is decoded too. It neither defaults nor validates the object. Errors
// are FieldErrors (errors.Is ErrInvalid; ErrUnsupportedKind for a kind Weft
// does not store).
func DecodeObject(jsonOrYAML []byte) (Object, error) {
	var found []document
	for _, d := range splitDocuments(jsonOrYAML) {
		if d.err != nil {
			return nil, d.err
		}
		if d.value != nil {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0:
		return nil, FieldErrors{{Message: "empty document: expected one object with apiVersion and kind"}}
	case len(found) > 1:
		return nil, FieldErrors{{Message: fmt.Sprintf("expected one document, found %d", len(found))}}
	}
	m, ok := found[0].value.(map[string]any)
	if !ok {
		return nil, FieldErrors{{Message: fmt.Sprintf("expected an object with apiVersion and kind, got %s", jsonTypeName(found[0].value))}}
	}
	o, errs := decodeMap(m, false, "")
	return o, errs.orNil()
}

// DecodeManifests decodes a manifest file: a YAML stream of documents
// separated by "---" lines, or JSON (one or more objects), where a document
// may also be a List (kind: List, or a typed list such as BrokerList,
// ChannelList or KafkaChannelList) with items, as kubectl accepts. Empty
// documents are skipped. Each object is decoded strictly (see DecodeObject,
// except that status is ignored as `kubectl apply` ignores it), then
// defaulted (SetDefaults) and validated (Validate).
//
// A nil error means every object decoded and is valid. Otherwise the error
// joins one *ManifestError per bad object (or per unreadable document), each
// naming the 1-based index of its document in the file, and the returned
// slice holds the objects that were valid.
func DecodeManifests(data []byte) ([]Object, error) {
	var errs []error
	var out []Object
	for _, d := range splitDocuments(data) {
		if d.err != nil {
			errs = append(errs, &ManifestError{Index: d.index, Err: d.err})
			continue
		}
		if d.value == nil {
			continue
		}
		m, ok := d.value.(map[string]any)
		if !ok {
			errs = append(errs, &ManifestError{Index: d.index, Err: FieldErrors{{
				Message: fmt.Sprintf("expected an object with apiVersion and kind, got %s", jsonTypeName(d.value))}}})
			continue
		}
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		if !isListKind(apiVersion, kind) {
			if o, err := decodeManifestObject(m, "", d.index, 0); err != nil {
				errs = append(errs, err)
			} else {
				out = append(out, o)
			}
			continue
		}
		items, lerrs := listItems(m, apiVersion, kind)
		if len(lerrs) > 0 {
			errs = append(errs, &ManifestError{Index: d.index, Kind: kind, Err: lerrs})
			continue
		}
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				errs = append(errs, &ManifestError{Index: d.index, Item: i + 1, Err: FieldErrors{{
					Message: fmt.Sprintf("expected an object with apiVersion and kind, got %s", jsonTypeName(it))}}})
				continue
			}
			if o, err := decodeManifestObject(im, strings.TrimSuffix(kind, "List"), d.index, i+1); err != nil {
				errs = append(errs, err)
			} else {
				out = append(out, o)
			}
		}
	}
	return out, errors.Join(errs...)
}

// decodeManifestObject decodes, defaults and validates one object of a manifest.
func decodeManifestObject(m map[string]any, listKind string, index, item int) (Object, error) {
	kind, _ := m["kind"].(string)
	if kind == "" {
		kind = listKind
	}
	name := ""
	if md, ok := m["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
	}
	o, errs := decodeMap(m, true, listKind)
	if len(errs) > 0 {
		return nil, &ManifestError{Index: index, Item: item, Kind: kind, Name: name, Err: errs}
	}
	SetDefaults(o)
	if err := Validate(o); err != nil {
		return nil, &ManifestError{Index: index, Item: item, Kind: kind, Name: name, Err: err}
	}
	return o, nil
}

// isListKind reports whether a document is a List of objects.
func isListKind(apiVersion, kind string) bool {
	switch kind {
	case "List":
		return apiVersion == "v1" || apiVersion == ""
	}
	if k, ok := kindByName(strings.TrimSuffix(kind, "List")); ok && strings.HasSuffix(kind, "List") {
		return acceptsAPIVersion(k.kind, apiVersion)
	}
	return false
}

// listItems checks a List document's own fields and returns its items.
func listItems(m map[string]any, apiVersion, kind string) ([]any, FieldErrors) {
	var errs errorList
	for _, k := range sortedKeys(m) {
		switch k {
		case "apiVersion", "kind":
		case "metadata":
			if _, ok := m[k].(map[string]any); !ok && m[k] != nil {
				errs.add(k, shown(m[k]), "expected object, got %s", jsonTypeName(m[k]))
			}
		case "items":
			if _, ok := m[k].([]any); !ok && m[k] != nil {
				errs.add(k, shown(m[k]), "expected array, got %s", jsonTypeName(m[k]))
			}
		default:
			errs.add(k, "", "unknown field; known fields of a %s: apiVersion, kind, metadata, items", kind)
		}
	}
	items, _ := m["items"].([]any)
	return items, errs.list
}

// decodeMap turns one generic object into a typed one. manifest drops status
// (as kubectl apply ignores it); listKind, when set, is the kind implied by a
// typed list (BrokerList, ChannelList, ...) for items that omit apiVersion
// and kind.
func decodeMap(m map[string]any, manifest bool, listKind string) (Object, FieldErrors) {
	var errs errorList
	apiVersion, kind := "", ""
	for _, f := range []struct {
		name string
		dst  *string
	}{{"apiVersion", &apiVersion}, {"kind", &kind}} {
		switch v := m[f.name].(type) {
		case nil:
		case string:
			*f.dst = v
		default:
			errs.add(f.name, shown(v), "expected string, got %s", jsonTypeName(v))
		}
	}
	if listKind != "" {
		if kind == "" {
			kind, m["kind"] = listKind, listKind
		}
		if apiVersion == "" {
			av := DefaultAPIVersion(listKind)
			apiVersion, m["apiVersion"] = av, av
		}
	}
	if len(errs.list) > 0 {
		return nil, errs.list
	}
	switch {
	case kind == "" && apiVersion == "":
		errs.add("", "", "apiVersion and kind are required; %s", supportedKinds)
	case kind == "":
		errs.add("kind", "", "required; %s", supportedKinds)
	case DefaultAPIVersion(kind) == "":
		msg := "unsupported kind"
		if apiVersion != "" {
			msg += fmt.Sprintf(" in apiVersion %q", apiVersion)
		}
		switch s := closest(kind, manifestKindNames); {
		case strings.EqualFold(s, kind):
			msg += fmt.Sprintf(" (kinds are case-sensitive: did you mean %q?)", s)
		case s != "":
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		errs.addReason(reasonUnsupported, "kind", kind, "%s; %s", msg, supportedKinds)
	case apiVersion == "":
		errs.add("apiVersion", "", "required; %s is served by %s", kind, DefaultAPIVersion(kind))
	case !acceptsAPIVersion(kind, apiVersion):
		errs.addReason(reasonUnsupported, "apiVersion", apiVersion, "unsupported apiVersion for %s; %s", kind, supportedKinds)
	}
	if len(errs.list) > 0 {
		return nil, errs.list
	}
	o := newOf(kind)

	if md, ok := m["metadata"].(map[string]any); ok {
		if gn, ok := md["generateName"].(string); ok && gn != "" {
			if n, _ := md["name"].(string); n == "" {
				errs.add("metadata.generateName", gn, "not supported; set metadata.name")
			}
		}
		for _, f := range ignoredMetadata {
			delete(md, f)
		}
	}
	if manifest {
		delete(m, "status")
	}
	strictCheck(&errs, "", m, reflect.TypeOf(o).Elem())
	if len(errs.list) > 0 {
		return nil, errs.list
	}
	b, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(b, o)
	}
	if err != nil {
		// Unreachable after strictCheck; reported rather than hidden.
		errs.add("", "", "cannot decode %s: %v", kind, err)
		return nil, errs.list
	}
	return o, nil
}

// document is one document of a manifest file, decoded into generic JSON
// values: nil for an empty document, err for one that is not YAML or JSON.
type document struct {
	index int // 1-based position in the file
	value any
	err   FieldErrors
}

// splitDocuments splits data into documents and decodes each into generic
// values. A YAML syntax error spoils one document; a JSON syntax error ends
// the stream.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		return splitJSON(data)
	}
	return splitYAML(data)
}

func splitJSON(data []byte) []document {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var docs []document
	for i := 1; ; i++ {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			msg := err.Error()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
				msg = fmt.Sprintf("line %d: %s", line, se.Error())
			}
			return append(docs, document{index: i, err: FieldErrors{{Message: "invalid JSON: " + msg}}})
		}
		if v != nil {
			docs = append(docs, document{index: i, value: v})
		}
	}
}

// yamlChunk is the raw text of one YAML document.
type yamlChunk struct {
	firstLine int // 1-based line of the file where the chunk starts
	text      []byte
}

func splitYAML(data []byte) []document {
	var chunks []yamlChunk
	cur := yamlChunk{firstLine: 1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Bytes()
		if isYAMLSeparator(l) {
			chunks = append(chunks, cur)
			cur = yamlChunk{firstLine: line + 1}
			continue
		}
		cur.text = append(cur.text, l...)
		cur.text = append(cur.text, '\n')
	}
	chunks = append(chunks, cur)
	// A file that starts with "---" (after comments, perhaps) has no document
	// before it: a reader counts the first real document as document 1.
	if len(chunks) > 1 && !hasYAMLContent(chunks[0].text) {
		chunks = chunks[1:]
	}

	var docs []document
	for i, c := range chunks {
		if !hasYAMLContent(c.text) {
			continue
		}
		j, err := yaml.YAMLToJSONStrict(c.text)
		if err != nil {
			docs = append(docs, document{index: i + 1, err: FieldErrors{{
				Message: "invalid YAML: " + yamlMessage(err, c.firstLine)}}})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			docs = append(docs, document{index: i + 1, err: FieldErrors{{Message: "invalid YAML: " + err.Error()}}})
			continue
		}
		docs = append(docs, document{index: i + 1, value: v})
	}
	return docs
}

// isYAMLSeparator reports whether a line is a document separator: "---",
// optionally followed by spaces and a comment.
func isYAMLSeparator(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := bytes.TrimSpace(l[3:])
	return len(rest) == 0 || (rest[0] == '#' && len(l) > 3 && (l[3] == ' ' || l[3] == '\t'))
}

// hasYAMLContent reports whether a chunk holds more than blank lines,
// comments and the document-end marker.
func hasYAMLContent(text []byte) bool {
	for l := range bytes.Lines(text) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("...")) {
			return true
		}
	}
	return false
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlMessage cleans a sigs.k8s.io/yaml error and makes its line numbers
// relative to the file rather than to the document.
func yamlMessage(err error, firstLine int) string {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	msg = strings.Join(strings.Fields(msg), " ")
	return yamlLineRe.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(s[len("line "):])
		return fmt.Sprintf("line %d", n+firstLine-1)
	})
}
