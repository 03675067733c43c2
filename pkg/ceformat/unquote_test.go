package ceformat

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestUnquoteMatchesEncodingJSON checks the string decoder against
// encoding/json on valid UTF-8 strings with every kind of escape.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{`""`, `"plain"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00 smile"`,
		`"lone \ud83d surrogate"`, `"\u0000nul"`, `"h\u00e9llo ✓"`} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(err)
		}
		got, err := unquote([]byte(lit))
		if err != nil || got != want {
			t.Errorf("unquote(%s) = %q, %v; want %q", lit, got, err, want)
		}
	}
	// Bytes that are not UTF-8 are kept, not replaced.
	if got, _ := unquote([]byte("\"\xff\\n\xfe\"")); got != "\xff\n\xfe" || utf8.ValidString(got) {
		t.Errorf("non-UTF-8 bytes changed: %q", got)
	}
}
