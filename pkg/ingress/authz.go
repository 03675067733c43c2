package ingress

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/filter"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Default authorization modes, as the control plane compiles them.
const (
	modeAllowAll           = "allow-all"
	modeAllowSameNamespace = "allow-same-namespace"
	modeDenyAll            = "deny-all"
)

// entryAuth is who may send to one served entry (its Ingress.auth):
// senders with a token for audience whose subject a policy admits, and
// events that pass that policy's filters. Immutable once built.
type entryAuth struct {
	spec     *weftv1.IngressAuth
	audience string
	what     string // "broker ns/name", for messages
	policies []*authPolicy
	// byDefault admits senders when no policy applies (nil: deny-all).
	byDefault *authPolicy
}

// authPolicy is one compiled EventPolicy.
type authPolicy struct {
	name     string // "namespace/name", or the default mode's description
	subjects []string
	filter   filter.Filter // nil: every event
}

// newEntryAuth compiles an entry's auth (nil for none).
func newEntryAuth(kind, namespace, name string, spec *weftv1.IngressAuth) (*entryAuth, error) {
	if spec == nil {
		return nil, nil
	}
	if spec.GetAudience() == "" {
		return nil, fmt.Errorf("auth without an audience")
	}
	a := &entryAuth{spec: spec, audience: spec.GetAudience(), what: strings.ToLower(kind) + " " + namespace + "/" + name}
	for _, r := range spec.GetPolicies() {
		p := &authPolicy{name: "EventPolicy " + r.GetNamespace() + "/" + r.GetName(), subjects: r.GetSubjects()}
		if len(r.GetFilters()) > 0 {
			f, err := filter.FromEgress(&weftv1.Egress{Filters: r.GetFilters()})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			p.filter = f
		}
		a.policies = append(a.policies, p)
	}
	switch m := spec.GetDefaultMode(); m {
	case "", modeAllowAll:
		a.byDefault = &authPolicy{name: "default mode allow-all"}
	case modeAllowSameNamespace:
		a.byDefault = &authPolicy{name: "default mode allow-same-namespace", subjects: []string{"system:serviceaccount:" + namespace + ":*"}}
	case modeDenyAll:
	default:
		return nil, fmt.Errorf("default mode %q is none of %s, %s, %s", m, modeAllowAll, modeAllowSameNamespace, modeDenyAll)
	}
	return a, nil
}

// admits reports whether subject matches one of p's subjects (exact, or a
// prefix ending in "*"); no subjects admit everyone.
func (p *authPolicy) admits(subject string) bool {
	if len(p.subjects) == 0 {
		return true
	}
	for _, s := range p.subjects {
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			if strings.HasPrefix(subject, prefix) {
				return true
			}
		} else if s == subject {
			return true
		}
	}
	return false
}

// admit returns the policies admitting subject: the entry's policies that
// name it, or, when the entry has none, its default mode. The error wraps
// ErrForbidden and says why.
func (a *entryAuth) admit(subject string) ([]*authPolicy, error) {
	if len(a.policies) == 0 {
		switch {
		case a.byDefault == nil:
			return nil, fmt.Errorf("%w: no EventPolicy applies to %s and the default authorization mode is deny-all", ErrForbidden, a.what)
		case !a.byDefault.admits(subject):
			return nil, fmt.Errorf("%w: subject %q: no EventPolicy applies to %s and the default mode allow-same-namespace admits only %s",
				ErrForbidden, subject, a.what, a.byDefault.subjects[0])
		}
		return []*authPolicy{a.byDefault}, nil
	}
	var out []*authPolicy
	names := make([]string, 0, len(a.policies))
	for _, p := range a.policies {
		names = append(names, p.name)
		if p.admits(subject) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: subject %q is not admitted by any EventPolicy of %s (%s)", ErrForbidden, subject, a.what, strings.Join(names, ", "))
	}
	return out, nil
}

// authorizeEvent checks e against the filters of the policies that
// admitted its sender: it passes when one of them has no filters or all of
// its filters match. The error wraps ErrForbidden.
func authorizeEvent(admitted []*authPolicy, e *event.Event) error {
	if admitted == nil {
		return nil
	}
	names := make([]string, 0, len(admitted))
	for _, p := range admitted {
		if p.filter == nil || p.filter.Match(e) {
			return nil
		}
		names = append(names, p.name)
	}
	return fmt.Errorf("%w: event (id %q, type %q, source %q) does not pass the filters of %s", ErrForbidden,
		e.ID(), e.Type(), e.Source(), strings.Join(names, " nor of "))
}

// hdrBearerChallenge answers a 401 (RFC 6750).
var hdrBearerChallenge = []string{`Bearer realm="weft", error="invalid_token"`}

// authenticate checks the request's token against b's auth and returns the
// policies admitting its sender (nil when b has no auth: everyone is). It
// runs before the body is read, so nothing of a refused request is stored.
func (in *Ingress) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, b *broker) ([]*authPolicy, error) {
	if b.auth == nil {
		return nil, nil
	}
	raw, err := bearerToken(r)
	if err == nil && in.verifier == nil {
		err = fmt.Errorf("%w: this ingress has no --oidc-issuer to verify tokens against", ErrUnauthorized)
	}
	var subject string
	if err == nil {
		subject, err = in.verifier.verify(ctx, raw, b.auth.audience)
	}
	if err != nil {
		w.Header()["Www-Authenticate"] = hdrBearerChallenge
		return nil, err
	}
	return b.auth.admit(subject)
}
