package ceformat

import (
	"strings"
	"testing"
)

// TestWhitespaceOnlyRequired: an id or type of white space alone is
// refused, as the sdk-go bindings that read stored records trim them to
// nothing (an event accepted with one could never be read back).
func TestWhitespaceOnlyRequired(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"specversion":"1.0","id":" ","source":"s","type":"t"}`, "id: MUST be a non-empty string (not only white space)"},
		{`{"specversion":"0.3","id":"i","source":"s","type":"\t"}`, "type: MUST be a non-empty string (not only white space)"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.doc, err, tc.want)
		}
	}
}
