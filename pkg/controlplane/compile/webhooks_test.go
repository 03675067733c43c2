package compile

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestCompileWebhookSources: each webhook source is an ingress entry at its
// source path writing to its internal topic, carrying what the ingress
// checks (basic auth from a literal or a Secret, the GitLab token, the
// GitHub HMAC key) and how it wraps requests (type, source, event types,
// extensions, CORS), with one ordered egress from the topic's start to the
// sink; a missing Secret, an empty token or a sink that does not resolve
// leave the source out of the contract with the reason.
func TestCompileWebhookSources(t *testing.T) {
	meta := func(name, uid string) apis.ObjectMeta {
		return apis.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 3}
	}
	sink := apis.Destination{URI: "http://display.ns/"}
	str := func(s string) *string { return &s }
	ref := func(name, key string) apis.SecretValueFromSource {
		return apis.SecretValueFromSource{SecretKeyRef: &apis.SecretKeySelector{Name: name, Key: key}}
	}
	res := Resources{
		Secrets: []*apis.Secret{
			{ObjectMeta: apis.ObjectMeta{Name: "hooks", Namespace: "ns"}, Data: map[string][]byte{"gitlab": []byte("gl-token"), "github": []byte("gh-key"), "empty": nil, "pw": []byte("s3cret")}},
		},
		WebhookSources: []*apis.WebhookSource{
			{ObjectMeta: meta("plain", "uw1"), Spec: apis.WebhookSourceSpec{Sink: sink, EventType: "com.example.hook",
				CloudEventOverrides: &apis.CloudEventOverrides{Extensions: map[string]string{"team": "ops"}}, CORSAllowOrigin: str("*")}},
			{ObjectMeta: meta("auth", "uw2"), Spec: apis.WebhookSourceSpec{Sink: sink, EventType: "t", EventSource: str("https://shop.example"),
				BasicAuthUsername: str("bob"), BasicAuthPassword: &apis.ValueFromField{ValueFromSecret: &apis.SecretKeySelector{Name: "hooks", Key: "pw"}}}},
			{ObjectMeta: meta("literal", "uw3"), Spec: apis.WebhookSourceSpec{Sink: sink, EventType: "t",
				BasicAuthUsername: str("bob"), BasicAuthPassword: &apis.ValueFromField{Value: "lit"}}},
			{ObjectMeta: meta("no-secret", "uw4"), Spec: apis.WebhookSourceSpec{Sink: sink, EventType: "t",
				BasicAuthUsername: str("bob"), BasicAuthPassword: &apis.ValueFromField{ValueFromSecret: &apis.SecretKeySelector{Name: "gone", Key: "pw"}}}},
		},
		GitLabSources: []*apis.GitLabSource{
			{ObjectMeta: meta("gl", "ugl1"), Spec: apis.GitLabSourceSpec{Sink: sink, ProjectURL: "https://gitlab.com/g/p",
				EventTypes: []string{"push_events", "job_events"}, SecretToken: ref("hooks", "gitlab"), AccessToken: ref("nowhere", "x")}},
			{ObjectMeta: meta("gl-empty", "ugl2"), Spec: apis.GitLabSourceSpec{Sink: sink, ProjectURL: "https://gitlab.com/g/p", SecretToken: ref("hooks", "empty")}},
		},
		GitHubSources: []*apis.GitHubSource{
			{ObjectMeta: meta("gh", "ugh1"), Spec: apis.GitHubSourceSpec{Sink: sink, OwnerAndRepository: "knative/eventing",
				EventTypes: []string{"push", "pull_request"}, SecretToken: ref("hooks", "github")}},
			{ObjectMeta: meta("gh-nokey", "ugh2"), Spec: apis.GitHubSourceSpec{Sink: sink, OwnerAndRepository: "knative",
				EventTypes: []string{"push"}, SecretToken: ref("hooks", "nokey")}},
			{ObjectMeta: meta("gh-nosink", "ugh3"), Spec: apis.GitHubSourceSpec{OwnerAndRepository: "knative",
				EventTypes: []string{"push"}, SecretToken: ref("hooks", "github")}},
		},
	}
	opts := Options{IngressURL: "http://in:8080/"}
	out := Compile(4, res, opts)
	x := indexContract(t, out.Contract)

	egress := func(kind, name, uid string) *weftv1.Egress {
		return &weftv1.Egress{Uid: uid, Kind: kind, Namespace: "ns", Name: name,
			ConsumerGroup: "weft.source." + strings.ToLower(kind) + ".ns." + name, Destination: "http://display.ns/",
			Delivery: sourceDelivery(), Order: weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST, Generation: 3}
	}
	entry := func(kind, name, uid string, wh *weftv1.Webhook) *weftv1.Ingress {
		lower := strings.ToLower(kind)
		return &weftv1.Ingress{Uid: uid, Kind: kind, Namespace: "ns", Name: name,
			Path: "/sources/" + lower + "/ns/" + name, Topic: "weft.source." + lower + ".ns." + name, Generation: 3,
			Webhook: wh, Egresses: []*weftv1.Egress{egress(kind, name, uid)}}
	}
	for uid, want := range map[string]*weftv1.Ingress{
		"uw1": entry(apis.KindWebhookSource, "plain", "uw1", &weftv1.Webhook{Type: "com.example.hook", Source: "ns.plain",
			Extensions: map[string]string{"team": "ops"}, CorsAllowOrigin: "*"}),
		"uw2": entry(apis.KindWebhookSource, "auth", "uw2", &weftv1.Webhook{Type: "t", Source: "https://shop.example",
			BasicAuthUsername: "bob", BasicAuthPassword: "s3cret"}),
		"uw3": entry(apis.KindWebhookSource, "literal", "uw3", &weftv1.Webhook{Type: "t", Source: "ns.literal",
			BasicAuthUsername: "bob", BasicAuthPassword: "lit"}),
		"ugl1": entry(apis.KindGitLabSource, "gl", "ugl1", &weftv1.Webhook{Source: "https://gitlab.com/g/p", Token: "gl-token",
			EventTypes: []string{"Push Hook", "Job Hook", "Build Hook"}}),
		"ugh1": entry(apis.KindGitHubSource, "gh", "ugh1", &weftv1.Webhook{Source: "https://github.com/knative/eventing", Token: "gh-key",
			EventTypes: []string{"push", "pull_request"}}),
	} {
		got := x.ingresses[uid]
		if got == nil {
			t.Errorf("no ingress entry %s", uid)
			continue
		}
		if !proto.Equal(got, want) {
			t.Errorf("ingress %s =\n%v\nwant\n%v", uid, got, want)
		}
	}
	for _, uid := range []string{"uw4", "ugl2", "ugh2", "ugh3"} {
		if x.ingresses[uid] != nil {
			t.Errorf("%s is in the contract; want it left out", uid)
		}
	}
	for key, want := range map[string]struct{ reason, msg string }{
		"WebhookSource/ns/no-secret": {ReasonSecretResolve, `spec.basicAuthPassword: secret "gone" not found in namespace "ns"`},
		"GitLabSource/ns/gl-empty":   {ReasonSecretResolve, "spec.secretToken: is empty"},
		"GitHubSource/ns/gh-nokey":   {ReasonSecretResolve, `spec.secretToken: secret ns/hooks has no key "nokey"`},
		"GitHubSource/ns/gh-nosink":  {ReasonSubscriberResolve, "sink: neither ref nor uri is set"},
		"GitLabSource/ns/gl":         {"", ""},
	} {
		r, ok := out.Webhooks[key]
		if !ok || r.Reason != want.reason || !strings.HasPrefix(r.Message, want.msg) {
			t.Errorf("resolution %s = %+v (found %v); want reason %q, message starting %q", key, r, ok, want.reason, want.msg)
		}
	}
	if r := out.Webhooks[WebhookKey(apis.KindGitHubSource, "ns", "gh")]; r.UID != "ugh1" || r.SubscriberURI != "http://display.ns/" {
		t.Errorf("GitHubSource resolution %+v", r)
	}
	if u := opts.SourceURL(apis.KindGitHubSource, "ns", "gh"); u != "http://in:8080/sources/githubsource/ns/gh" {
		t.Errorf("SourceURL = %q", u)
	}
}
