package apis

import (
	"strings"
	"testing"
)

// TestSecretDecode: a Secret's data is base64 in the manifest, stringData is
// merged into it by SetDefaults (the later wins on a shared key), and the
// type defaults to Opaque.
func TestSecretDecode(t *testing.T) {
	objs, err := DecodeManifests([]byte(`apiVersion: v1
kind: Secret
metadata:
  name: hooks
  namespace: src
data:
  token: czNjcjN0
  shared: b2xk
stringData:
  password: "p@ss word"
  shared: new
`))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := objs[0].(*Secret)
	if !ok {
		t.Fatalf("decoded %T", objs[0])
	}
	SetDefaults(s)
	if err := Validate(s); err != nil {
		t.Errorf("validate: %v", err)
	}
	s.MergeStringData()
	if s.Type != SecretTypeOpaque || s.StringData != nil {
		t.Errorf("type %q stringData %v", s.Type, s.StringData)
	}
	want := map[string]string{"token": "s3cr3t", "shared": "new", "password": "p@ss word"}
	if len(s.Data) != len(want) {
		t.Errorf("data %q, want %q", s.Data, want)
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}
	if KindOf(s) != KindSecret {
		t.Errorf("KindOf = %s", KindOf(s))
	}
	if k, err := ResolveKind("secrets"); err != nil || k != KindSecret {
		t.Errorf("ResolveKind(secrets) = %q, %v", k, err)
	}
}

func TestSecretInvalid(t *testing.T) {
	manifest := func(body string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n" + body
	}
	for _, tc := range []struct {
		name, manifest, path, message string
	}{
		{"bad key", manifest("stringData:\n  \"a/b\": x\n"), "stringData[a/b]", "letters, digits"},
		{"dot key", manifest("data:\n  \"..\": eA==\n"), "data[..]", `must not be ".."`},
		{"not base64", manifest("data:\n  k: \"***\"\n"), "data[k]", "expected base64"},
		{"too large", manifest("stringData:\n  k: " + strings.Repeat("x", MaxSecretBytes+1) + "\n"), "data", "at most 1048576"},
		{"number value", manifest("data:\n  k: 12\n"), "data[k]", "expected a base64 string"},
		{"wrong apiVersion", "apiVersion: core/v2\nkind: Secret\nmetadata:\n  name: s\n", "apiVersion", "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, _ := invalidManifest(t, tc.manifest, tc.path, tc.message)
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestSpecOnlyAndClearStatus: SpecOnly keeps what decides a new generation
// (the spec, a Secret's data) and drops metadata and status; ClearStatus
// zeroes a status and leaves a kind without one alone.
func TestSpecOnlyAndClearStatus(t *testing.T) {
	b := &Broker{TypeMeta: TypeMeta{Kind: KindBroker}, ObjectMeta: ObjectMeta{Name: "b", Generation: 3}}
	b.Status.Conditions = []Condition{{Type: "Ready"}}
	b.Spec.Delivery = &DeliverySpec{}
	so := SpecOnly(b).(*Broker)
	if so == b || so.ObjectMeta.Name != "" || so.ObjectMeta.Generation != 0 || len(so.Status.Conditions) != 0 || so.Spec.Delivery != b.Spec.Delivery || so.Kind != KindBroker {
		t.Errorf("SpecOnly(broker) = %+v", so)
	}
	if b.ObjectMeta.Name != "b" || len(b.Status.Conditions) != 1 {
		t.Errorf("SpecOnly changed its argument: %+v", b)
	}
	s := &Secret{ObjectMeta: ObjectMeta{Name: "s"}, Type: "Opaque", Data: map[string][]byte{"k": []byte("v")}}
	ss := SpecOnly(s).(*Secret)
	if ss.ObjectMeta.Name != "" || string(ss.Data["k"]) != "v" || ss.Type != "Opaque" {
		t.Errorf("SpecOnly(secret) = %+v", ss)
	}
	ClearStatus(b)
	if len(b.Status.Conditions) != 0 || b.ObjectMeta.Name != "b" {
		t.Errorf("ClearStatus(broker) = %+v", b)
	}
	ClearStatus(s) // no status: nothing happens
	if s.ObjectMeta.Name != "s" || len(s.Data) != 1 {
		t.Errorf("ClearStatus(secret) = %+v", s)
	}
	var nilBroker *Broker
	ClearStatus(nilBroker)
	if SpecOnly(nilBroker) != Object(nilBroker) {
		t.Error("SpecOnly(nil) is not nil")
	}
}
