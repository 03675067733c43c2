package compile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Keys of a KafkaSink's spec.auth.secret, as Knative's eventing-kafka-broker
// reads them.
const (
	SecretKeyProtocol      = "protocol"
	SecretKeySASLMechanism = "sasl.mechanism"
	SecretKeyUser          = "user"
	SecretKeyPassword      = "password"
	SecretKeyCACert        = "ca.crt"
	SecretKeyUserCert      = "user.crt"
	SecretKeyUserKey       = "user.key"
)

// Values of the protocol key.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// saslMechanisms Weft's Kafka client speaks.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// KafkaSinkAuth is how the ingress reaches a KafkaSink's cluster: nil
// without spec.auth.secret.ref, else the Secret's settings. The error names
// the Secret and the key that is missing or wrong.
func KafkaSinkAuth(k *apis.KafkaSink, secrets []*apis.Secret) (*weftv1.KafkaAuth, error) {
	return resolver{secrets: secretsByName(secrets)}.kafkaSinkAuth(k)
}

func (r resolver) kafkaSinkAuth(k *apis.KafkaSink) (*weftv1.KafkaAuth, error) {
	a := k.Spec.Auth
	if a == nil || a.Secret == nil || a.Secret.Ref == nil || a.Secret.Ref.Name == "" {
		return nil, nil
	}
	ns, name := k.ObjectMeta.Namespace, a.Secret.Ref.Name
	s, ok := r.secrets[ns+"/"+name]
	if !ok {
		return nil, fmt.Errorf("spec.auth.secret.ref: secret %q not found in namespace %q", name, ns)
	}
	get := func(key string) string {
		if v, ok := s.StringData[key]; ok {
			return v
		}
		return string(s.Data[key])
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("spec.auth.secret.ref: secret %s/%s: key %q: %s", ns, name, key, fmt.Sprintf(format, args...))
	}
	out := &weftv1.KafkaAuth{}
	protocol := get(SecretKeyProtocol)
	switch protocol {
	case ProtocolPlaintext:
	case ProtocolSSL:
		out.Tls = true
	case ProtocolSASLPlaintext:
	case ProtocolSASLSSL:
		out.Tls = true
	case "":
		return nil, bad(SecretKeyProtocol, "required: one of %s, %s, %s, %s", ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL)
	default:
		return nil, bad(SecretKeyProtocol, "got %q, want one of %s, %s, %s, %s", protocol, ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL)
	}
	if strings.HasPrefix(protocol, "SASL_") {
		mech := get(SecretKeySASLMechanism)
		if mech == "" {
			mech = "PLAIN" // Knative's default
		}
		if !slices.Contains(saslMechanisms, mech) {
			return nil, bad(SecretKeySASLMechanism, "got %q, want one of %s", mech, strings.Join(saslMechanisms, ", "))
		}
		out.SaslMechanism, out.SaslUser, out.SaslPassword = mech, get(SecretKeyUser), get(SecretKeyPassword)
		if out.SaslUser == "" {
			return nil, bad(SecretKeyUser, "required with protocol %s", protocol)
		}
		if out.SaslPassword == "" {
			return nil, bad(SecretKeyPassword, "required with protocol %s", protocol)
		}
	}
	if out.Tls {
		out.CaCert, out.Cert, out.Key = get(SecretKeyCACert), get(SecretKeyUserCert), get(SecretKeyUserKey)
		if (out.Cert == "") != (out.Key == "") {
			return nil, bad(SecretKeyUserKey, "%s and %s come together (a client certificate and its key)", SecretKeyUserCert, SecretKeyUserKey)
		}
	}
	return out, nil
}

// kafkaSourceAuth is how the dispatchers reach a KafkaSource's cluster:
// nil unless spec.net enables SASL or TLS, else the values its
// secretKeyRefs name. The error says which field does not resolve.
func (r resolver) kafkaSourceAuth(k *apis.KafkaSource) (*weftv1.KafkaAuth, error) {
	n := k.Spec.Net
	if n == nil || ((n.SASL == nil || !n.SASL.Enable) && (n.TLS == nil || !n.TLS.Enable)) {
		return nil, nil
	}
	ns := k.ObjectMeta.Namespace
	out := &weftv1.KafkaAuth{}
	var err error
	field := func(path string, v *apis.SecretValueFromSource, dst *string) {
		if err != nil {
			return
		}
		if *dst, err = r.secretFrom(ns, v); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	if s := n.SASL; s != nil && s.Enable {
		field("spec.net.sasl.user", s.User, &out.SaslUser)
		field("spec.net.sasl.password", s.Password, &out.SaslPassword)
		field("spec.net.sasl.type", s.Type, &out.SaslMechanism)
		if err != nil {
			return nil, err
		}
		if out.SaslMechanism == "" {
			out.SaslMechanism = "PLAIN" // Knative's default
		}
		switch {
		case !slices.Contains(saslMechanisms, out.SaslMechanism):
			return nil, fmt.Errorf("spec.net.sasl.type: got %q, want one of %s", out.SaslMechanism, strings.Join(saslMechanisms, ", "))
		case out.SaslUser == "":
			return nil, fmt.Errorf("spec.net.sasl.user: required with spec.net.sasl.enable (a secretKeyRef to the user)")
		case out.SaslPassword == "":
			return nil, fmt.Errorf("spec.net.sasl.password: required with spec.net.sasl.enable (a secretKeyRef to the password)")
		}
	}
	if t := n.TLS; t != nil && t.Enable {
		out.Tls = true
		field("spec.net.tls.caCert", t.CACert, &out.CaCert)
		field("spec.net.tls.cert", t.Cert, &out.Cert)
		field("spec.net.tls.key", t.Key, &out.Key)
		if err != nil {
			return nil, err
		}
		if (out.Cert == "") != (out.Key == "") {
			return nil, fmt.Errorf("spec.net.tls: cert and key come together (a client certificate and its key)")
		}
	}
	return out, nil
}
