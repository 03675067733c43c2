package kube

import (
	"testing"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
)

// sourceManifest is a source of apiVersion and kind named name with the
// given spec (flush-left YAML).
func sourceManifest(apiVersion, kind, name, spec string) string {
	return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + indent(spec)
}

const sourceSink = "sink:\n  ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}\n"

// The source CRDs store what Weft's own validation accepts (the README's
// examples and edge cases), and refuse — as Weft does — what their schemas
// can see, naming the field.
func TestSourceCRDsAgreeWithWeft(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	cert := pemCertificate(t)
	const (
		ping   = "sources.knative.dev/v1"
		knv1a1 = "sources.knative.dev/v1alpha1"
		tm     = "sources.triggermesh.io/v1alpha1"
	)
	token := "secretToken:\n  secretKeyRef: {name: hook, key: token}\n"
	accepted := []struct{ name, manifest string }{
		{"PingSource with data", sourceManifest(ping, "PingSource", "p1", "schedule: \"*/2 * * * *\"\ncontentType: application/json\ndata: '{\"message\": \"Hello world!\"}'\n"+sourceSink)},
		{"PingSource with CRON_TZ and dataBase64", sourceManifest(ping, "PingSource", "p2", "schedule: CRON_TZ=Europe/Paris 0 9 * * 1-5\ndataBase64: aGVsbG8=\nceOverrides:\n  extensions: {team: a}\n"+sourceSink)},
		{"PingSource with timezone and a descriptor", sourceManifest(ping, "PingSource", "p3", "schedule: \"@every 10m\"\ntimezone: America/New_York\n"+sourceSink)},
		{"HTTPPollerSource with every field", sourceManifest(tm, "HTTPPollerSource", "h1", "eventType: com.example.weather\neventSource: https://api.example.com/alerts\nendpoint: https://api.example.com/v1/alerts?area=KS\nmethod: POST\ninterval: 1m30s\nheaders: {Accept: application/json}\nbasicAuthUsername: weft\nbasicAuthPassword:\n  valueFromSecret: {name: weather-creds, key: password}\ncaCertificate: |\n"+indentBy(cert, 2)+sourceSink)},
		{"HTTPPollerSource with a fractional interval and skipVerify", sourceManifest(tm, "HTTPPollerSource", "h2", "eventType: t\nendpoint: http://10.0.0.1:8080\ninterval: 1.5h\nskipVerify: true\n"+sourceSink)},
		{"WebhookSource plain", sourceManifest(tm, "WebhookSource", "w1", "eventType: com.example.order\n"+sourceSink)},
		{"WebhookSource with basic auth, CORS and eventSource", sourceManifest(tm, "WebhookSource", "w2", "eventType: com.example.order\neventSource: /orders\nbasicAuthUsername: shop\nbasicAuthPassword:\n  value: s3cret\ncorsAllowOrigin: https://app.example.com\n"+sourceSink)},
		{"WebhookSource with CORS *, password from a Secret", sourceManifest(tm, "WebhookSource", "w3", "eventType: t\nbasicAuthUsername: shop\nbasicAuthPassword:\n  valueFromSecret: {name: shop-hook, key: password}\ncorsAllowOrigin: \"*\"\n"+sourceSink)},
		{"GitLabSource", sourceManifest(knv1a1, "GitLabSource", "g1", "projectUrl: https://gitlab.com/group/sub/project\neventTypes: [push_events, merge_requests_events]\naccessToken:\n  secretKeyRef: {name: gitlab, key: access}\nsslverify: true\n"+token+sourceSink)},
		{"GitLabSource without eventTypes", sourceManifest(knv1a1, "GitLabSource", "g2", "projectUrl: http://gitlab.internal:8080/group/project/\n"+token+sourceSink)},
		{"GitHubSource on a repository", sourceManifest(knv1a1, "GitHubSource", "gh1", "ownerAndRepository: knative/eventing\neventTypes: [push, pull_request]\ngithubAPIURL: https://github.example.com/api/v3/\nsecure: true\n"+token+sourceSink)},
		{"GitHubSource on an organization", sourceManifest(knv1a1, "GitHubSource", "gh2", "ownerAndRepository: knative\neventTypes: [ping]\nserviceAccountName: sa\n"+token+sourceSink)},
	}
	for _, tc := range accepted {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			createAccepted(t, env, tc.manifest, ns)
		})
	}

	rejected := []struct{ name, manifest, path string }{
		{"PingSource without schedule", sourceManifest(ping, "PingSource", "bad", sourceSink), "spec.schedule"},
		{"PingSource data and dataBase64", sourceManifest(ping, "PingSource", "bad", "schedule: \"* * * * *\"\ndata: x\ndataBase64: eA==\n"+sourceSink), "spec.dataBase64"},
		{"PingSource dataBase64 not base64", sourceManifest(ping, "PingSource", "bad", "schedule: \"* * * * *\"\ndataBase64: \"!!\"\n"+sourceSink), "spec.dataBase64"},
		{"PingSource timezone and CRON_TZ", sourceManifest(ping, "PingSource", "bad", "schedule: CRON_TZ=UTC * * * * *\ntimezone: UTC\n"+sourceSink), "spec.timezone"},
		{"HTTPPollerSource interval 500ms", sourceManifest(tm, "HTTPPollerSource", "bad", "eventType: t\nendpoint: http://a.example/\ninterval: 500ms\n"+sourceSink), "spec.interval"},
		{"HTTPPollerSource interval without unit", sourceManifest(tm, "HTTPPollerSource", "bad", "eventType: t\nendpoint: http://a.example/\ninterval: \"10\"\n"+sourceSink), "spec.interval"},
		{"HTTPPollerSource endpoint with credentials", sourceManifest(tm, "HTTPPollerSource", "bad", "eventType: t\nendpoint: http://u:p@a.example/\ninterval: 10s\n"+sourceSink), "spec.endpoint"},
		{"HTTPPollerSource skipVerify with caCertificate", sourceManifest(tm, "HTTPPollerSource", "bad", "eventType: t\nendpoint: https://a.example/\ninterval: 10s\nskipVerify: true\ncaCertificate: |\n"+indentBy(cert, 2)+sourceSink), "spec.skipVerify"},
		{"HTTPPollerSource password without username", sourceManifest(tm, "HTTPPollerSource", "bad", "eventType: t\nendpoint: https://a.example/\ninterval: 10s\nbasicAuthPassword: {value: p}\n"+sourceSink), "spec.basicAuthPassword"},
		{"WebhookSource password without username", sourceManifest(tm, "WebhookSource", "bad", "eventType: t\nbasicAuthPassword: {value: p}\n"+sourceSink), "spec.basicAuthPassword"},
		{"WebhookSource username with a colon", sourceManifest(tm, "WebhookSource", "bad", "eventType: t\nbasicAuthUsername: a:b\nbasicAuthPassword: {value: p}\n"+sourceSink), "spec.basicAuthUsername"},
		{"WebhookSource eventExtensionAttributes", sourceManifest(tm, "WebhookSource", "bad", "eventType: t\neventExtensionAttributes: {from: [path]}\n"+sourceSink), "spec.eventExtensionAttributes"},
		{"WebhookSource CORS origin with a path", sourceManifest(tm, "WebhookSource", "bad", "eventType: t\ncorsAllowOrigin: https://a.example/x\n"+sourceSink), "spec.corsAllowOrigin"},
		{"GitLabSource twice the same hook", sourceManifest(knv1a1, "GitLabSource", "bad", "projectUrl: https://gitlab.com/g/p\neventTypes: [push_events, push_events]\n"+token+sourceSink), "spec.eventTypes[1]"},
		{"GitLabSource secret name with capitals", sourceManifest(knv1a1, "GitLabSource", "bad", "projectUrl: https://gitlab.com/g/p\nsecretToken:\n  secretKeyRef: {name: Hook, key: token}\n"+sourceSink), "spec.secretToken.secretKeyRef.name"},
		{"GitHubSource unknown event", sourceManifest(knv1a1, "GitHubSource", "bad", "ownerAndRepository: a/b\neventTypes: [pushed]\n"+token+sourceSink), "spec.eventTypes[0]"},
		{"GitHubSource without secretToken", sourceManifest(knv1a1, "GitHubSource", "bad", "ownerAndRepository: a/b\neventTypes: [push]\n"+sourceSink), "spec.secretToken"},
		{"GitHubSource without sink", sourceManifest(knv1a1, "GitHubSource", "bad", "ownerAndRepository: a/b\neventTypes: [push]\n"+token), "spec.sink"},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			createRejected(t, env, tc.manifest, ns, tc.path)
		})
	}
}
