package filter

// Headers gives the raw string value of a CloudEvents context attribute or
// extension as a transport carries it (a Kafka record's ce_ headers), before
// the event is decoded. ok is false when the attribute is absent.
type Headers func(name string) (value string, ok bool)

// HeaderRejecter is implemented by filters that can turn some events away
// from their headers alone. The dispatcher asks it before decoding a record:
// with many triggers on one broker, most records fail most filters, and
// decoding them only to drop them is the bulk of the work.
//
// RejectHeaders returns true only when Match would certainly return false for
// the event those headers decode to; false means "decode and call Match". It
// reads only attributes whose decoded form is the header string verbatim
// (id, type, subject and lower-case extension names), so it never rejects an
// event that Match would accept.
type HeaderRejecter interface {
	RejectHeaders(h Headers) bool
}

// verbatim reports whether an attribute's decoded string is exactly its
// header value, so a header can decide a test on it.
func (a attr) verbatim() bool {
	switch a.kind {
	case attrID, attrType, attrSubject:
		return true
	case attrExtension:
		for i := 0; i < len(a.name); i++ {
			if c := a.name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return a.name != ""
	}
	return false
}

// rejectConds applies test to every verbatim condition: an absent attribute
// or a failed test rejects.
func rejectConds(cs []cond, h Headers, test func(v, want string) bool) bool {
	for i := range cs {
		if !cs[i].verbatim() {
			continue
		}
		v, ok := h(cs[i].name)
		if !ok || !test(v, cs[i].want) {
			return true
		}
	}
	return false
}

func equalTest(v, want string) bool   { return v == want }
func prefixTest(v, p string) bool     { return len(v) >= len(p) && v[:len(p)] == p }
func suffixTest(v, s string) bool     { return len(v) >= len(s) && v[len(v)-len(s):] == s }
func presentTest(v, want string) bool { return want == "" || v == want }

// RejectHeaders implements HeaderRejecter.
func (f exactFilter) RejectHeaders(h Headers) bool { return rejectConds(f, h, equalTest) }

// RejectHeaders implements HeaderRejecter.
func (f prefixFilter) RejectHeaders(h Headers) bool { return rejectConds(f, h, prefixTest) }

// RejectHeaders implements HeaderRejecter.
func (f suffixFilter) RejectHeaders(h Headers) bool { return rejectConds(f, h, suffixTest) }

// RejectHeaders implements HeaderRejecter: an empty value still needs the
// attribute present.
func (f attributesFilter) RejectHeaders(h Headers) bool { return rejectConds(f, h, presentTest) }

// RejectHeaders implements HeaderRejecter: all of them must match, so any
// operand that rejects rejects.
func (f allFilter) RejectHeaders(h Headers) bool {
	for _, c := range f {
		if r, ok := c.(HeaderRejecter); ok && r.RejectHeaders(h) {
			return true
		}
	}
	return false
}
