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
