package ceformat

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// validCases are documents on which fastjson's validator and encoding/json
// disagree or could: control characters in strings, white space, nesting
// deeper than fastjson's limit, and the grammar's corners.
var validCases = []string{
	`{"a":1}`, `[1,2,"x\u0041"]`, "\"a\x01\"", "\"\x15\\b\"", "\"tab\there\"", "{\n\t\"a\": 1\r\n}",
	`01`, `-0.5e+3`, `1.`, `"\x"`, `{"a" 1}`, `[1,]`, ` true `, "\"\xff\"", `nul`, `{"a":{"b":[[]]}}`,
	`"\ud800"`, `1e`, `-`, `[1 2]`, `{"a":1,}`, `""`, `"\u00zz"`, `1 2`, ``, ` `, `[`, `{"a":"b"}x`,
	strings.Repeat("[", 400) + strings.Repeat("]", 400),
	strings.Repeat(`{"a":`, 350) + "1" + strings.Repeat("}", 350),
	strings.Repeat("[", 400) + strings.Repeat("]", 399),
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func TestHasControl(t *testing.T) {
	for i := range 40 {
		for _, c := range []byte{0x00, 0x09, 0x0a, 0x1f} {
			b := bytes.Repeat([]byte{'x'}, 40)
			b[i] = c
			if !hasControl(b) {
				t.Errorf("byte %#x at %d not found", c, i)
			}
		}
		b := bytes.Repeat([]byte{0x20}, i)
		if hasControl(b) {
			t.Errorf("%d spaces: a control byte found", i)
		}
		if hasControl(bytes.Repeat([]byte{0xff}, i)) {
			t.Errorf("%d bytes 0xff: a control byte found", i)
		}
	}
}

// batchBody is 100 events of 1 KiB data, as weft bench's batch run sends.
var batchBody = func() []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"specversion":"1.0","id":"abc-123","source":"/bench","type":"bench.type.42","datacontenttype":"application/json","data":{"payload":"`)
		b.Write(bytes.Repeat([]byte("x"), 1000))
		b.WriteString(`","n":12345}}`)
	}
	b.WriteString("]")
	return b.Bytes()
}()

func BenchmarkValid(b *testing.B) {
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(batchBody)))
		for range b.N {
			json.Valid(batchBody)
		}
	})
	b.Run("ceformat", func(b *testing.B) {
		b.SetBytes(int64(len(batchBody)))
		for range b.N {
			Valid(batchBody)
		}
	})
}
