package ceformat

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"testing"
)

// decoderElems is what encoding/json's Decoder makes of body: its array's
// elements as RawMessages, ok false where it finds a fault.
func decoderElems(body []byte) (elems [][]byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, false
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		elems = append(elems, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return elems, true
}

var splitSeeds = []string{
	`[]`, ` [ ] `, `[{}]`, "[\n\t{\"a\":1} ,\r\n {\"b\":[1,{\"c\":\"]\"}]}\n]\n",
	`[{"s":"a \"quoted\" ] , { string"}, {"t":"ends in a backslash \\"}]`,
	`[{"s":"\\\"}"},{}]`, `[1, "two", true, null, [3, [4]], -5e3 ]`,
	`[{"data":{"d":"xxxxxxxx"},"id":"1"},{"data":{"d":"y"},"id":"2"}]`,
	// Not one valid array: the Decoder path names the fault.
	`[`, `[{}`, `[{},]`, `[{}] []`, `{}`, `[{"a":}]`, `[{}] x`, `"["`, ``, `  `, `[01]`, "[\"\x01\"]",
}

func TestSplitBatchMatchesDecoder(t *testing.T) {
	for _, s := range splitSeeds {
		checkSplit(t, []byte(s))
	}
}

func FuzzSplitBatch(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkSplit)
}

func checkSplit(t *testing.T, body []byte) {
	got, gotOK := splitBatch(body, nil)
	want, wantOK := decoderElems(body)
	if gotOK != wantOK {
		t.Fatalf("%q: split ok %v, the Decoder %v", body, gotOK, wantOK)
	}
	if gotOK && !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("%q: split %q, the Decoder %q", body, got, want)
	}
}
