// Package flagcheck validates flag values with one message style for every
// Weft binary and command: "--flag: must <rule>, got <value>". A Validate
// method collects the problems of all its flags with Join, so a user sees
// every bad flag at once, each naming the flag, the value given and what is
// allowed.
package flagcheck

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Errorf is a problem with flag: "--flag: must <rule>, got <value>". got is
// quoted when it is a string.
func Errorf(flag string, got any, rule string, args ...any) error {
	if s, ok := got.(string); ok {
		got = fmt.Sprintf("%q", s)
	}
	return fmt.Errorf("%s: must %s, got %v", flag, fmt.Sprintf(rule, args...), got)
}

// Join returns the problems found (nil when there are none). Each problem
// stays its own line; the CLIs print them as one line separated by "; ".
func Join(errs ...error) error { return errors.Join(errs...) }

// Required: v must not be empty.
func Required(flag, v string) error {
	if v == "" {
		return fmt.Errorf("%s: must be set", flag)
	}
	return nil
}

// HostPort: v must be host:port (the host may be empty: every interface).
func HostPort(flag, v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return Errorf(flag, v, "be host:port")
	}
	return nil
}

// OptionalHostPort is HostPort for a flag where "" turns something off.
func OptionalHostPort(flag, v string) error {
	if v == "" {
		return nil
	}
	return HostPort(flag, v)
}

// HostPorts: every element of vs must be host:port, and there must be one.
func HostPorts(flag string, vs []string) error {
	if len(vs) == 0 {
		return fmt.Errorf("%s: must name at least one host:port", flag)
	}
	var errs []error
	for _, v := range vs {
		if i := strings.LastIndexByte(v, ':'); i <= 0 || i == len(v)-1 {
			errs = append(errs, Errorf(flag, v, "be host:port"))
		}
	}
	return errors.Join(errs...)
}

// AtLeast: v must be min or more.
func AtLeast[T cmp.Ordered](flag string, v, min T) error {
	if v < min {
		return Errorf(flag, v, "be at least %v", min)
	}
	return nil
}

// Positive: v must be greater than zero.
func Positive[T cmp.Ordered](flag string, v T) error {
	var zero T
	if v <= zero {
		return Errorf(flag, v, "be greater than %v", zero)
	}
	return nil
}

// Between: v must lie in [min, max].
func Between[T cmp.Ordered](flag string, v, min, max T) error {
	if v < min || v > max {
		return Errorf(flag, v, "be between %v and %v", min, max)
	}
	return nil
}

// ReplicationFactor: v must be -1 (the cluster's default) or at least 1.
func ReplicationFactor(flag string, v int) error {
	if v == 0 || v < -1 {
		return Errorf(flag, v, "be -1 (the cluster's default) or at least 1")
	}
	return nil
}

// OneOf: v must be one of allowed.
func OneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return Errorf(flag, v, "be one of %s", strings.Join(allowed, ", "))
}

// URL: v must be an absolute URL with one of schemes (any scheme when none
// is given) and a host.
func URL(flag, v string, schemes ...string) error {
	u, err := url.Parse(v)
	if err == nil && u.Host != "" && u.Scheme != "" {
		if len(schemes) == 0 {
			return nil
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return nil
			}
		}
	}
	if len(schemes) == 0 {
		return Errorf(flag, v, "be an absolute URL")
	}
	return Errorf(flag, v, "be an absolute %s URL", strings.Join(schemes, " or "))
}
