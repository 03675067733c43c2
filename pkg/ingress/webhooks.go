package ingress

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/ceformat"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Webhook sources: a WebhookSource, GitLabSource or GitHubSource is served
// at /sources/{kind, lower case}/{namespace}/{name}. Every POST is
// authenticated (HTTP basic authentication, the X-Gitlab-Token, or the
// X-Hub-Signature-256 HMAC of the body), wrapped into one event, and
// stored in the source's internal topic like a broker's event: 202 once
// Kafka acknowledged it. A request that fails authentication is answered
// 401 and nothing is stored.

// Contract kinds of the webhook sources.
const (
	kindWebhookSource = "WebhookSource"
	kindGitLabSource  = "GitLabSource"
	kindGitHubSource  = "GitHubSource"
)

// Event type prefixes and provider headers of the GitLab and GitHub
// sources (Knative's eventing-gitlab and eventing-github adapters').
const (
	gitLabTypePrefix = "dev.knative.sources.gitlab."
	gitHubTypePrefix = "dev.knative.source.github."

	headerGitLabToken    = "X-Gitlab-Token"
	headerGitLabEvent    = "X-Gitlab-Event"
	headerGitHubEvent    = "X-GitHub-Event"
	headerGitHubDelivery = "X-GitHub-Delivery"
	headerGitHubSig256   = "X-Hub-Signature-256"

	// extGitLabEvent carries X-Gitlab-Event, as Knative's adapter sets it.
	extGitLabEvent = "comgitlabevent"
)

var (
	hdrBasicChallenge = []string{`Basic realm="weft", charset="UTF-8"`}
	hdrBearer         = []string{`Bearer realm="weft"`}
	hdrAllowPostOpts  = []string{"POST, OPTIONS"}
)

// webhook is a webhook source's compiled Webhook part.
type webhook struct {
	spec       *weftv1.Webhook
	kind       string
	eventTypes map[string]bool // nil: every type
	token      []byte
}

// isWebhookKind says whether kind is a webhook source's.
func isWebhookKind(kind string) bool {
	return kind == kindWebhookSource || kind == kindGitLabSource || kind == kindGitHubSource
}

// newWebhook checks a contract entry's Webhook part.
func newWebhook(kind string, spec *weftv1.Webhook) (*webhook, error) {
	switch {
	case spec == nil:
		return nil, errors.New("no webhook part")
	case kind == kindWebhookSource && spec.GetType() == "":
		return nil, errors.New("no event type")
	case spec.GetSource() == "":
		return nil, errors.New("no event source")
	}
	wh := &webhook{spec: spec, kind: kind, token: []byte(spec.GetToken())}
	if len(spec.GetEventTypes()) > 0 {
		wh.eventTypes = make(map[string]bool, len(spec.GetEventTypes()))
		for _, t := range spec.GetEventTypes() {
			wh.eventTypes[t] = true
		}
	}
	return wh, nil
}

// serveWebhook answers one request to a webhook source and returns the
// status code.
func (in *Ingress) serveWebhook(ctx context.Context, w http.ResponseWriter, r *http.Request, b *broker, span trace.Span) int {
	wh := b.webhook
	h := w.Header()
	cors := wh.spec.GetCorsAllowOrigin()
	if cors != "" {
		h["Access-Control-Allow-Origin"] = []string{cors}
	}
	switch {
	case r.Method == http.MethodPost:
	case r.Method == http.MethodOptions && cors != "":
		// A CORS pre-flight request.
		h["Allow"] = hdrAllowPostOpts
		h["Access-Control-Allow-Methods"] = hdrAllowPostOpts
		allow := r.Header.Get("Access-Control-Request-Headers")
		if allow == "" {
			allow = "Authorization, Content-Type"
		}
		h["Access-Control-Allow-Headers"] = []string{allow}
		h["Content-Length"] = hdrZero
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	default:
		h["Allow"] = hdrAllowPost
		return writeError(w, ErrMethodNotAllowed)
	}
	if err := wh.checkHeaders(r); err != nil {
		return wh.writeUnauthorized(w, err)
	}
	if b.target.state.Load() == kafkaDown {
		return writeError(w, ErrKafkaUnavailable)
	}
	if err := b.admit(1); err != nil {
		return writeError(w, err)
	}
	req := getRequest()
	defer req.release()
	if err := in.readBody(w, r, req, in.cfg.MaxEventBytes); err != nil {
		return writeError(w, err)
	}
	body := req.body.Bytes()
	if wh.kind == kindGitHubSource {
		if err := wh.checkSignature(r, body); err != nil {
			return wh.writeUnauthorized(w, err)
		}
	}
	e, skip, err := wh.event(r, body)
	if err != nil {
		return writeError(w, err)
	}
	if skip != "" {
		return writeText(w, http.StatusOK, skip+"\n")
	}
	if err := validate(e); err != nil {
		return writeError(w, err)
	}
	if err := in.acceptOne(ctx, b, e, len(body), req, span); err != nil {
		return writeError(w, err)
	}
	h["Content-Type"] = hdrTextPlain
	w.WriteHeader(http.StatusAccepted)
	w.Write(bodyStored)
	return http.StatusAccepted
}

// writeUnauthorized answers 401 with err, and the challenge of basic
// authentication or a bearer token when the source uses one.
func (wh *webhook) writeUnauthorized(w http.ResponseWriter, err error) int {
	if wh.kind == kindWebhookSource {
		if wh.spec.GetBasicAuthUsername() != "" {
			w.Header()["Www-Authenticate"] = hdrBasicChallenge
		} else if len(wh.token) > 0 {
			w.Header()["Www-Authenticate"] = hdrBearer
		}
	}
	return writeError(w, fmt.Errorf("%w: %w", ErrUnauthorized, err))
}

// checkHeaders checks the credentials a request carries in its headers:
// basic authentication or a bearer token (WebhookSource), the
// X-Gitlab-Token (GitLabSource). A GitHubSource's signature covers the
// body: checkSignature.
func (wh *webhook) checkHeaders(r *http.Request) error {
	switch wh.kind {
	case kindWebhookSource:
		if u := wh.spec.GetBasicAuthUsername(); u != "" {
			user, pass, ok := r.BasicAuth()
			if !ok {
				return errors.New("this source requires HTTP basic authentication: send an Authorization: Basic header with its user and password")
			}
			userOK := subtle.ConstantTimeCompare([]byte(user), []byte(u))
			passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(wh.spec.GetBasicAuthPassword()))
			if userOK&passOK != 1 {
				return errors.New("wrong user or password")
			}
		}
		if len(wh.token) > 0 {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return errors.New("this source requires a token: send an Authorization: Bearer header")
			}
			if subtle.ConstantTimeCompare([]byte(tok), wh.token) != 1 {
				return errors.New("wrong token")
			}
		}
	case kindGitLabSource:
		if len(wh.token) == 0 {
			return errors.New("the source has no secret token to check requests against")
		}
		tok, ok := r.Header[headerGitLabToken]
		if !ok {
			return fmt.Errorf("missing %s header: set the hook's secret token at GitLab to the value of the source's spec.secretToken", headerGitLabToken)
		}
		if len(tok) != 1 || subtle.ConstantTimeCompare([]byte(tok[0]), wh.token) != 1 {
			return fmt.Errorf("%s does not match the source's secret token", headerGitLabToken)
		}
	}
	return nil
}

// checkSignature checks a GitHubSource request's X-Hub-Signature-256:
// "sha256=" and the hex HMAC-SHA256 of the body keyed with the secret
// token, compared in constant time.
func (wh *webhook) checkSignature(r *http.Request, body []byte) error {
	if len(wh.token) == 0 {
		return errors.New("the source has no secret token to check signatures with")
	}
	sig := r.Header.Get(headerGitHubSig256)
	if sig == "" {
		return fmt.Errorf("missing %s header: set the webhook's secret at GitHub to the value of the source's spec.secretToken", headerGitHubSig256)
	}
	hexSum, ok := strings.CutPrefix(sig, "sha256=")
	got, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("malformed %s header: want \"sha256=\" and 64 hex digits", headerGitHubSig256)
	}
	mac := hmac.New(sha256.New, wh.token)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%s does not match the body: signed with another secret, or the body was changed", headerGitHubSig256)
	}
	return nil
}

// event wraps an authenticated request into the source's event; skip, when
// not "", says why the request is answered 200 and not stored (an event
// type the source does not accept).
func (wh *webhook) event(r *http.Request, body []byte) (e *event.Event, skip string, err error) {
	ev := event.New()
	e = &ev
	e.SetSource(wh.spec.GetSource())
	switch wh.kind {
	case kindWebhookSource:
		e.SetID(uuid.NewString())
		e.SetType(wh.spec.GetType())
		if ct := r.Header.Get("Content-Type"); ct != "" {
			e.SetDataContentType(ct)
		}
	case kindGitLabSource:
		hook := r.Header.Get(headerGitLabEvent)
		if hook == "" {
			return nil, "", fmt.Errorf("%w: missing %s header", ErrInvalidEvent, headerGitLabEvent)
		}
		base, ok := strings.CutSuffix(hook, " Hook")
		if !ok || base == "" {
			return nil, "", fmt.Errorf("%w: %s %q is not a GitLab hook (\"Push Hook\", \"Merge Request Hook\", ...)", ErrInvalidEvent, headerGitLabEvent, hook)
		}
		if wh.eventTypes != nil && !wh.eventTypes[hook] {
			return nil, fmt.Sprintf("%s %q is not among the source's spec.eventTypes; not stored", headerGitLabEvent, hook), nil
		}
		e.SetID(uuid.NewString())
		e.SetType(gitLabTypePrefix + strings.ToLower(strings.ReplaceAll(base, " ", "_")))
		e.SetExtension(extGitLabEvent, hook)
		if !ceformat.Valid(body) {
			return nil, "", fmt.Errorf("%w: the body of a GitLab hook must be JSON", ErrInvalidEvent)
		}
		e.SetDataContentType("application/json")
	case kindGitHubSource:
		typ := r.Header.Get(headerGitHubEvent)
		if typ == "" {
			return nil, "", fmt.Errorf("%w: missing %s header", ErrInvalidEvent, headerGitHubEvent)
		}
		if wh.eventTypes != nil && !wh.eventTypes[typ] {
			return nil, fmt.Sprintf("%s %q is not among the source's spec.eventTypes (%s); not stored",
				headerGitHubEvent, typ, strings.Join(wh.spec.GetEventTypes(), ", ")), nil
		}
		id := r.Header.Get(headerGitHubDelivery)
		if id == "" {
			return nil, "", fmt.Errorf("%w: missing %s header", ErrInvalidEvent, headerGitHubDelivery)
		}
		e.SetID(id)
		e.SetType(gitHubTypePrefix + typ)
		if mediaType(r.Header.Get("Content-Type")) == "application/x-www-form-urlencoded" {
			// A webhook set to send form data: the JSON is the payload field.
			form, err := url.ParseQuery(string(body))
			if err != nil || !form.Has("payload") {
				return nil, "", fmt.Errorf("%w: a form-encoded GitHub webhook must carry the JSON in its payload field", ErrInvalidEvent)
			}
			body = []byte(form.Get("payload"))
		}
		if !ceformat.Valid(body) {
			return nil, "", fmt.Errorf("%w: the body of a GitHub webhook must be JSON", ErrInvalidEvent)
		}
		e.SetDataContentType("application/json")
		if s := gitHubSubject(typ, body); s != "" {
			e.SetSubject(s)
		}
	}
	for k, v := range wh.spec.GetExtensions() {
		e.SetExtension(k, v)
	}
	if len(body) > 0 {
		e.DataEncoded = body
	}
	return e, "", nil
}

// gitHubSubject is the subject Knative's GitHub adapter gives an event of
// the common types: the compare range of a push, the number of a pull
// request or issue, the comment of a comment, the tag of a release, the
// hook of a ping, the ref type of a create or delete; "" for the others.
func gitHubSubject(typ string, body []byte) string {
	var p struct {
		Compare     string `json:"compare"`
		HookID      *int64 `json:"hook_id"`
		RefType     string `json:"ref_type"`
		Issue       *struct{ Number int64 }
		PullRequest *struct{ Number int64 } `json:"pull_request"`
		Comment     *struct {
			HTMLURL string `json:"html_url"`
		}
		Release *struct {
			TagName string `json:"tag_name"`
		}
	}
	if !slices.Contains([]string{"push", "pull_request", "issues", "issue_comment", "commit_comment", "release", "ping", "create", "delete"}, typ) {
		return ""
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	last := func(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }
	switch typ {
	case "push":
		return last(p.Compare)
	case "pull_request":
		if p.PullRequest != nil {
			return strconv.FormatInt(p.PullRequest.Number, 10)
		}
	case "issues":
		if p.Issue != nil {
			return strconv.FormatInt(p.Issue.Number, 10)
		}
	case "issue_comment", "commit_comment":
		if p.Comment != nil {
			return last(p.Comment.HTMLURL)
		}
	case "release":
		if p.Release != nil {
			return p.Release.TagName
		}
	case "ping":
		if p.HookID != nil {
			return strconv.FormatInt(*p.HookID, 10)
		}
	case "create", "delete":
		return p.RefType
	}
	return ""
}
