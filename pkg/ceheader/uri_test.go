package ceheader

import (
	"net/url"
	"testing"
	"unicode/utf8"
)

// TestAppendURIRefEscapedHost: a URI-reference whose host percent-decodes to
// bytes that are not UTF-8 is written as url.URL.String writes it, escaped,
// so it reads back the same; ordinary ones are written as they were.
func TestAppendURIRefEscapedHost(t *testing.T) {
	for in, want := range map[string]string{
		"a0000://%80":                   "a0000://%80",
		"https://example.com/a%20b?x#f": "https://example.com/a%20b?x#f",
		"/relative/path":                "/relative/path",
		"urn:uuid:1234":                 "urn:uuid:1234",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got := string(AppendURIRef([]byte("prefix:"), u))
		if got != "prefix:"+want || !utf8.ValidString(got) {
			t.Errorf("AppendURIRef(%q) = %q, want %q", in, got, "prefix:"+want)
		}
	}
}
