package compile

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func secretOf(name string, data map[string]string) *apis.Secret {
	s := &apis.Secret{ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func kafkaSinkWith(name, secret string) *apis.KafkaSink {
	k := &apis.KafkaSink{ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "ns", UID: "u-" + name},
		Spec: apis.KafkaSinkSpec{Topic: "t", BootstrapServers: []string{"other:9092"}}}
	if secret != "" {
		k.Spec.Auth = &apis.KafkaSinkAuth{Secret: &apis.KafkaSinkSecret{Ref: &apis.SecretReference{Name: secret}}}
	}
	return k
}

// TestCompileKafkaSinkAuth: spec.auth.secret's keys (Knative's: protocol,
// sasl.mechanism, user, password, ca.crt, user.crt, user.key) become the
// entry's kafka_auth; a Secret that is missing or wrong leaves the sink out
// with SecretResolveFailed naming the Secret and key.
func TestCompileKafkaSinkAuth(t *testing.T) {
	for name, tc := range map[string]struct {
		data map[string]string // nil: no Secret
		want *weftv1.KafkaAuth
		err  string
	}{
		"SASL_SSL SCRAM": {
			data: map[string]string{"protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "user": "u", "password": "p", "ca.crt": "CA"},
			want: &weftv1.KafkaAuth{Tls: true, CaCert: "CA", SaslMechanism: "SCRAM-SHA-512", SaslUser: "u", SaslPassword: "p"},
		},
		"SASL_PLAINTEXT defaults to PLAIN": {
			data: map[string]string{"protocol": "SASL_PLAINTEXT", "user": "u", "password": "p"},
			want: &weftv1.KafkaAuth{SaslMechanism: "PLAIN", SaslUser: "u", SaslPassword: "p"},
		},
		"SSL with a client certificate": {
			data: map[string]string{"protocol": "SSL", "ca.crt": "CA", "user.crt": "C", "user.key": "K"},
			want: &weftv1.KafkaAuth{Tls: true, CaCert: "CA", Cert: "C", Key: "K"},
		},
		"PLAINTEXT":             {data: map[string]string{"protocol": "PLAINTEXT"}, want: &weftv1.KafkaAuth{}},
		"missing Secret":        {err: `spec.auth.secret.ref: secret "creds" not found in namespace "ns"`},
		"no protocol":           {data: map[string]string{"user": "u"}, err: `key "protocol": required`},
		"unknown protocol":      {data: map[string]string{"protocol": "TLS"}, err: `key "protocol": got "TLS"`},
		"unknown mechanism":     {data: map[string]string{"protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI", "user": "u", "password": "p"}, err: `key "sasl.mechanism": got "GSSAPI"`},
		"SASL without password": {data: map[string]string{"protocol": "SASL_SSL", "user": "u"}, err: `key "password": required with protocol SASL_SSL`},
		"cert without key":      {data: map[string]string{"protocol": "SSL", "user.crt": "C"}, err: `user.crt and user.key come together`},
	} {
		t.Run(name, func(t *testing.T) {
			res := Resources{KafkaSinks: []*apis.KafkaSink{kafkaSinkWith("s", "creds"), kafkaSinkWith("plain", "")}}
			if tc.data != nil {
				res.Secrets = []*apis.Secret{secretOf("creds", tc.data)}
			}
			out := Compile(1, res, Options{})
			byName := map[string]*weftv1.Ingress{}
			for _, in := range out.Contract.Ingresses {
				byName[in.Name] = in
			}
			if in := byName["plain"]; in == nil || in.KafkaAuth != nil {
				t.Errorf("the sink without spec.auth: %v, want an entry without kafka_auth", in)
			}
			got := out.KafkaSinks["ns/s"]
			if tc.err != "" {
				if got.Reason != ReasonSecretResolve || !strings.Contains(got.Message, tc.err) {
					t.Errorf("resolution %+v, want %s saying %q", got, ReasonSecretResolve, tc.err)
				}
				if byName["s"] != nil {
					t.Errorf("a sink whose Secret does not resolve is in the contract")
				}
				return
			}
			if got.Reason != "" {
				t.Fatalf("resolution %+v, want none", got)
			}
			if in := byName["s"]; in == nil || !proto.Equal(in.KafkaAuth, tc.want) {
				t.Errorf("kafka_auth = %v, want %v", in.GetKafkaAuth(), tc.want)
			}
		})
	}
}

// TestCompileKafkaSourceNet: spec.net's secretKeyRefs become kafka_source's
// auth when SASL or TLS is enabled (ignored when not); a reference that
// does not resolve leaves the source out with SecretResolveFailed.
func TestCompileKafkaSourceNet(t *testing.T) {
	ref := func(key string) *apis.SecretValueFromSource {
		return &apis.SecretValueFromSource{SecretKeyRef: &apis.SecretKeySelector{Name: "creds", Key: key}}
	}
	secret := secretOf("creds", map[string]string{"user": "u", "password": "p", "type": "SCRAM-SHA-256", "ca": "CA", "crt": "C", "key": "K"})
	for name, tc := range map[string]struct {
		net  *apis.KafkaNetSpec
		want *weftv1.KafkaAuth
		err  string
	}{
		"none":                      {},
		"disabled refs are ignored": {net: &apis.KafkaNetSpec{SASL: &apis.KafkaSASLSpec{User: ref("nope")}}},
		"SASL and TLS": {
			net: &apis.KafkaNetSpec{
				SASL: &apis.KafkaSASLSpec{Enable: true, User: ref("user"), Password: ref("password"), Type: ref("type")},
				TLS:  &apis.KafkaTLSSpec{Enable: true, CACert: ref("ca"), Cert: ref("crt"), Key: ref("key")},
			},
			want: &weftv1.KafkaAuth{Tls: true, CaCert: "CA", Cert: "C", Key: "K", SaslMechanism: "SCRAM-SHA-256", SaslUser: "u", SaslPassword: "p"},
		},
		"SASL type defaults to PLAIN": {
			net:  &apis.KafkaNetSpec{SASL: &apis.KafkaSASLSpec{Enable: true, User: ref("user"), Password: ref("password")}},
			want: &weftv1.KafkaAuth{SaslMechanism: "PLAIN", SaslUser: "u", SaslPassword: "p"},
		},
		"TLS only": {net: &apis.KafkaNetSpec{TLS: &apis.KafkaTLSSpec{Enable: true}}, want: &weftv1.KafkaAuth{Tls: true}},
		"missing key": {
			net: &apis.KafkaNetSpec{SASL: &apis.KafkaSASLSpec{Enable: true, User: ref("user"), Password: ref("pass")}},
			err: `spec.net.sasl.password: secret ns/creds has no key "pass"`,
		},
		"no password": {
			net: &apis.KafkaNetSpec{SASL: &apis.KafkaSASLSpec{Enable: true, User: ref("user")}},
			err: "spec.net.sasl.password: required",
		},
		"bad type": {
			net: &apis.KafkaNetSpec{SASL: &apis.KafkaSASLSpec{Enable: true, User: ref("user"), Password: ref("password"), Type: ref("user")}},
			err: `spec.net.sasl.type: got "u"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			k := &apis.KafkaSource{ObjectMeta: apis.ObjectMeta{Name: "src", Namespace: "ns", UID: "u1"}, Spec: apis.KafkaSourceSpec{
				BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"}, ConsumerGroup: "g",
				Sink: apis.Destination{URI: "http://display.ns.svc/"}, Net: tc.net,
			}}
			out := Compile(1, Resources{KafkaSources: []*apis.KafkaSource{k}, Secrets: []*apis.Secret{secret}}, Options{})
			res := out.KafkaSources["ns/src"]
			if tc.err != "" {
				if res.Reason != ReasonSecretResolve || !strings.Contains(res.Message, tc.err) {
					t.Errorf("resolution %+v, want %s saying %q", res, ReasonSecretResolve, tc.err)
				}
				if len(out.Contract.Ingresses) != 0 {
					t.Errorf("a source whose spec.net does not resolve is in the contract")
				}
				return
			}
			if res.Reason != "" || len(out.Contract.Ingresses) != 1 {
				t.Fatalf("resolution %+v, %d entries; want the source compiled", res, len(out.Contract.Ingresses))
			}
			if got := out.Contract.Ingresses[0].GetKafkaSource().GetAuth(); !proto.Equal(got, tc.want) {
				t.Errorf("auth = %v, want %v", got, tc.want)
			}
		})
	}
}
