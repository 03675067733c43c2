package compile

import (
	"fmt"

	"github.com/weft-dev/weft/pkg/apis"
)

func secretsByName(ss []*apis.Secret) map[string]*apis.Secret {
	out := make(map[string]*apis.Secret, len(ss))
	for _, s := range ss {
		out[nsName(&s.ObjectMeta)] = s
	}
	return out
}

// secretValue is the value of sel's key in the Secret sel names, in
// namespace; the error says which Secret or key is missing (a source
// naming it is not Ready, reason ReasonSecretResolve).
func (r resolver) secretValue(namespace string, sel *apis.SecretKeySelector) (string, error) {
	s, ok := r.secrets[namespace+"/"+sel.Name]
	if !ok {
		return "", fmt.Errorf("secret %q not found in namespace %q", sel.Name, namespace)
	}
	if v, ok := s.StringData[sel.Key]; ok {
		return v, nil
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		return "", fmt.Errorf("secret %s/%s has no key %q", namespace, sel.Name, sel.Key)
	}
	return string(v), nil
}

// valueFrom is v's value: v.Value, or the secret value it names ("" for
// nil).
func (r resolver) valueFrom(namespace string, v *apis.ValueFromField) (string, error) {
	switch {
	case v == nil:
		return "", nil
	case v.ValueFromSecret != nil:
		return r.secretValue(namespace, v.ValueFromSecret)
	}
	return v.Value, nil
}

// secretFrom is v's value ("" for nil or without a secretKeyRef).
func (r resolver) secretFrom(namespace string, v *apis.SecretValueFromSource) (string, error) {
	if v == nil || v.SecretKeyRef == nil {
		return "", nil
	}
	return r.secretValue(namespace, v.SecretKeyRef)
}
