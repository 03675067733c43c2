package apis

import (
	"fmt"
	"regexp"
	"strings"
)

// Kubernetes naming rules (k8s.io/apimachinery/pkg/util/validation), as
// messages rather than booleans so callers can say what is allowed.

const (
	dns1123LabelMaxLength     = 63
	dns1123SubdomainMaxLength = 253
	qualifiedNameMaxLength    = 63
	labelValueMaxLength       = 63
	// totalAnnotationSizeLimit is Kubernetes' limit on all annotations of an object.
	totalAnnotationSizeLimit = 256 * 1024
)

var (
	dns1123LabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedNameRe    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRe       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

// dns1123Label returns why s is not a DNS-1123 label, or "" when it is.
// An empty s is reported as "required".
func dns1123Label(s string) string {
	switch {
	case s == "":
		return "required"
	case len(s) > dns1123LabelMaxLength:
		return fmt.Sprintf("must be no more than %d characters (got %d)", dns1123LabelMaxLength, len(s))
	case !dns1123LabelRe.MatchString(s):
		return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"my-name\")"
	}
	return ""
}

// dns1123Subdomain returns why s is not a DNS-1123 subdomain, or "".
func dns1123Subdomain(s string) string {
	switch {
	case s == "":
		return "required"
	case len(s) > dns1123SubdomainMaxLength:
		return fmt.Sprintf("must be no more than %d characters (got %d)", dns1123SubdomainMaxLength, len(s))
	case !dns1123SubdomainRe.MatchString(s):
		return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. \"example.com\")"
	}
	return ""
}

// qualifiedName returns why s is not a Kubernetes qualified name
// ("[prefix/]name", as label and annotation keys are), or "".
func qualifiedName(s string) string {
	const what = "must be a qualified name: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' and '.' starting and ending with a letter or digit (e.g. \"app.kubernetes.io/name\")"
	if s == "" {
		return "key must not be empty; " + what
	}
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	switch {
	case hasPrefix && prefix == "":
		return "key prefix before '/' must not be empty; " + what
	case hasPrefix && dns1123Subdomain(prefix) != "":
		return fmt.Sprintf("key prefix %q %s", prefix, dns1123Subdomain(prefix))
	case name == "":
		return "key name after '/' must not be empty; " + what
	case len(name) > qualifiedNameMaxLength:
		return fmt.Sprintf("key name part must be no more than %d characters (got %d)", qualifiedNameMaxLength, len(name))
	case !qualifiedNameRe.MatchString(name):
		return "invalid key: " + what
	}
	return ""
}

// labelValue returns why s is not a valid label value, or "".
func labelValue(s string) string {
	switch {
	case len(s) > labelValueMaxLength:
		return fmt.Sprintf("label value must be no more than %d characters (got %d)", labelValueMaxLength, len(s))
	case !labelValueRe.MatchString(s):
		return "label value must be empty or letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	}
	return ""
}
