package apis

import (
	"regexp"
	"slices"
)

// secretKeyPattern is what Kubernetes allows as a key of a Secret's data.
var secretKeyPattern = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// validateSecret checks a Secret's keys (data and stringData), their total
// size and its type, as the Kubernetes API server does.
func validateSecret(errs *errorList, s *Secret) {
	size := 0
	check := func(field string, keys []string, sizeOf func(string) int) {
		slices.Sort(keys)
		for _, k := range keys {
			p := field + "[" + k + "]"
			switch {
			case len(k) > 253:
				errs.add(p, k, "a key must be at most 253 characters")
			case k == "." || k == "..":
				errs.add(p, k, "a key must not be %q", k)
			case !secretKeyPattern.MatchString(k):
				errs.add(p, k, "a key must consist of letters, digits, '-', '_' or '.'")
			}
			size += sizeOf(k)
		}
	}
	check("data", mapKeys(s.Data), func(k string) int { return len(s.Data[k]) })
	check("stringData", mapKeys(s.StringData), func(k string) int { return len(s.StringData[k]) })
	if size > MaxSecretBytes {
		errs.add("data", "", "the values total %d bytes; a Secret holds at most %d", size, MaxSecretBytes)
	}
	if len(s.Type) > 253 {
		errs.add("type", s.Type, "must be at most 253 characters")
	}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// validateSecretKeySelector checks a Secret name and key at path.
func validateSecretKeySelector(errs *errorList, path string, sel *SecretKeySelector) {
	if p := dns1123Subdomain(sel.Name); p == "required" {
		errs.add(path+".name", "", "required: the name of a Secret in the source's namespace")
	} else if p != "" {
		errs.add(path+".name", sel.Name, "%s", p)
	}
	switch {
	case sel.Key == "":
		errs.add(path+".key", "", "required: the key of the value in the Secret's data")
	case len(sel.Key) > 253 || !secretKeyPattern.MatchString(sel.Key):
		errs.add(path+".key", sel.Key, "must be a Secret data key: letters, digits, '-', '_' and '.' (e.g. \"token\")")
	}
}

// validateValueFrom checks a TriggerMesh ValueFromField: a value or a
// Secret key, not both.
func validateValueFrom(errs *errorList, path string, v *ValueFromField) {
	switch {
	case v.Value != "" && v.ValueFromSecret != nil:
		errs.add(path, "", "expected exactly one of value and valueFromSecret, got both")
	case v.Value == "" && v.ValueFromSecret == nil:
		errs.add(path, "", "expected one of value and valueFromSecret (e.g. valueFromSecret: {name: poller-creds, key: password})")
	case v.ValueFromSecret != nil:
		validateSecretKeySelector(errs, path+".valueFromSecret", v.ValueFromSecret)
	}
}

// validateSecretValue checks a Knative secretKeyRef at path; required says
// whether it must be set.
func validateSecretValue(errs *errorList, path string, v *SecretValueFromSource, required bool, what string) {
	if v == nil || v.SecretKeyRef == nil {
		if required {
			errs.add(path+".secretKeyRef", "", "required: %s, as {secretKeyRef: {name: <secret>, key: <key>}}", what)
		}
		return
	}
	validateSecretKeySelector(errs, path+".secretKeyRef", v.SecretKeyRef)
}

// validateCEOverrides checks a source's ceOverrides: extension names as
// CloudEvents allows them, none naming an attribute the source sets.
func validateCEOverrides(errs *errorList, path string, o *CloudEventOverrides) {
	if o == nil {
		return
	}
	for _, k := range sortedKeys(o.Extensions) {
		p := path + ".extensions[" + k + "]"
		switch {
		case !extensionNameRe.MatchString(k):
			errs.add(p, "", "invalid CloudEvents extension name: only lowercase letters and digits (e.g. \"team\", \"env2\")")
		case slices.Contains(coreAttributes, k):
			errs.add(p, "", "%q is a CloudEvents attribute the source sets; overrides add extensions only", k)
		}
	}
}
