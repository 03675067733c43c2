package apis

import (
	"strings"
	"testing"
)

// httpPoller is an HTTPPollerSource manifest named "hp" in namespace "ns"
// with the given spec (flush-left YAML).
func httpPoller(spec string) string {
	return "apiVersion: sources.triggermesh.io/v1alpha1\nkind: HTTPPollerSource\nmetadata:\n  name: hp\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

// okPoller is a valid poller spec without optional fields.
const okPoller = okSink + "eventType: com.example.alerts\nendpoint: https://api.example.com/alerts\ninterval: 10s\n"

// TestDecodeManifestsHTTPPollerSourceInvalid feeds invalid HTTPPollerSources
// through DecodeManifests and checks each error's path and message.
func TestDecodeManifestsHTTPPollerSourceInvalid(t *testing.T) {
	const noEndpoint = okSink + "eventType: t\ninterval: 10s\n"
	const noInterval = okSink + "eventType: t\nendpoint: https://api.example.com/\n"
	tests := []struct {
		name, manifest, path, message string
	}{
		{"no eventType", httpPoller(okSink + "endpoint: https://a.example.com/\ninterval: 10s"), "spec.eventType", "required: the CloudEvents type"},
		{"no endpoint", httpPoller(noEndpoint), "spec.endpoint", "required: the http or https URL"},
		{"endpoint relative", httpPoller(noEndpoint + "endpoint: /alerts"), "spec.endpoint", "must be an absolute http or https URL"},
		{"endpoint ftp", httpPoller(noEndpoint + "endpoint: ftp://files.example.com/x"), "spec.endpoint", "must be an absolute http or https URL"},
		{"endpoint without host", httpPoller(noEndpoint + "endpoint: \"https:///alerts\""), "spec.endpoint", "must have a host"},
		{"endpoint with credentials", httpPoller(noEndpoint + "endpoint: https://u:p@api.example.com/"), "spec.endpoint", "must not carry credentials"},
		{"endpoint unparseable", httpPoller(noEndpoint + "endpoint: \"http://[::1\""), "spec.endpoint", "invalid URL"},
		{"method lower case", httpPoller(okPoller + "method: get"), "spec.method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
		{"method CONNECT", httpPoller(okPoller + "method: CONNECT"), "spec.method", "must be one of GET"},
		{"no interval", httpPoller(noInterval), "spec.interval", "required: how often to poll"},
		{"interval ISO-8601", httpPoller(noInterval + "interval: PT10S"), "spec.interval", "must be a Go duration of at least 1s"},
		{"interval without unit", httpPoller(noInterval + "interval: \"10\""), "spec.interval", "must be a Go duration"},
		{"interval 500ms", httpPoller(noInterval + "interval: 500ms"), "spec.interval", "too short: must be at least 1s"},
		{"interval negative", httpPoller(noInterval + "interval: -10s"), "spec.interval", "too short"},
		{"password without username", httpPoller(okPoller + "basicAuthPassword:\n  value: s3cret"), "spec.basicAuthPassword", "without spec.basicAuthUsername"},
		{"password value and secret", httpPoller(okPoller + "basicAuthUsername: u\nbasicAuthPassword:\n  value: s3cret\n  valueFromSecret:\n    name: creds\n    key: password"), "spec.basicAuthPassword", "got both"},
		{"password empty", httpPoller(okPoller + "basicAuthUsername: u\nbasicAuthPassword: {}"), "spec.basicAuthPassword", "expected one of value and valueFromSecret"},
		{"password secret without key", httpPoller(okPoller + "basicAuthUsername: u\nbasicAuthPassword:\n  valueFromSecret:\n    name: creds"), "spec.basicAuthPassword.valueFromSecret.key", "required"},
		{"password secret name invalid", httpPoller(okPoller + "basicAuthUsername: u\nbasicAuthPassword:\n  valueFromSecret:\n    name: My_Creds\n    key: password"), "spec.basicAuthPassword.valueFromSecret.name", "DNS-1123 subdomain"},
		{"username with a colon", httpPoller(okPoller + "basicAuthUsername: \"a:b\""), "spec.basicAuthUsername", "must not contain ':'"},
		{"header name with a space", httpPoller(okPoller + "headers:\n  \"X Api Key\": k"), "spec.headers[X Api Key]", "invalid HTTP header name"},
		{"header value with a newline", httpPoller(okPoller + "headers:\n  X-Api-Key: \"a\\nb\""), "spec.headers[X-Api-Key]", "invalid HTTP header value"},
		{"header Host", httpPoller(okPoller + "headers:\n  host: other.example.com"), "spec.headers[host]", "sets Host itself"},
		{"header Authorization with basic auth", httpPoller(okPoller + "basicAuthUsername: u\nheaders:\n  Authorization: Bearer x"), "spec.headers[Authorization]", "conflicts with spec.basicAuthUsername"},
		{"caCertificate not PEM", httpPoller(okPoller + "caCertificate: not a certificate"), "spec.caCertificate", "PEM-encoded certificates"},
		{"sink missing", httpPoller("eventType: t\nendpoint: https://a.example.com/\ninterval: 10s"), "spec.sink", "expected ref, uri, or both"},
		{"ceOverrides sets source", httpPoller(okPoller + "ceOverrides:\n  extensions:\n    source: x"), "spec.ceOverrides.extensions[source]", "overrides add extensions only"},
		{"ceOverrides extension with capitals", httpPoller(okPoller + "ceOverrides:\n  extensions:\n    Team: a"), "spec.ceOverrides.extensions[Team]", "invalid CloudEvents extension name"},
		{"unknown field frequency", httpPoller(okPoller + "frequency: 10s"), "spec.frequency", "unknown field"},
		{"skipVerify not a bool", httpPoller(okPoller + "skipVerify: sometimes"), "spec.skipVerify", "boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			invalidManifest(t, tc.manifest, tc.path, tc.message)
		})
	}
}

func TestDecodeManifestsHTTPPollerSourceValid(t *testing.T) {
	for _, spec := range []string{
		okPoller,
		okPoller + "method: POST\nheaders:\n  Accept: application/json\n  X-Api-Key: k1\n",
		okPoller + "eventSource: gov.weather\nbasicAuthUsername: u\nbasicAuthPassword:\n  valueFromSecret:\n    name: poller-creds\n    key: password\n",
		okPoller + "basicAuthUsername: u\nbasicAuthPassword:\n  value: s3cret\nskipVerify: true\nceOverrides:\n  extensions:\n    team: ops\n",
		okSink + "eventType: t\nendpoint: http://10.0.0.1:8080/x\ninterval: 1s\nmethod: HEAD\n",
	} {
		objs, err := DecodeManifests([]byte(httpPoller(spec)))
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		p := objs[0].(*HTTPPollerSource)
		if p.Spec.Method == "" {
			t.Errorf("method not defaulted")
		}
		if c := DeepCopy(p).(*HTTPPollerSource); c.Spec.Endpoint != p.Spec.Endpoint || c.Spec.Interval != p.Spec.Interval {
			t.Errorf("DeepCopy lost the spec")
		}
		if PollInterval(&p.Spec) < MinPollInterval {
			t.Errorf("PollInterval(%q) = %s", p.Spec.Interval, PollInterval(&p.Spec))
		}
	}
	objs, err := DecodeManifests([]byte(httpPoller(okPoller)))
	if err != nil {
		t.Fatal(err)
	}
	p := objs[0].(*HTTPPollerSource)
	if p.Spec.Method != "GET" || HTTPPollerEventSource(p) != "ns.hp" || KindOf(p) != KindHTTPPollerSource {
		t.Errorf("method %q, event source %q, kind %q; want GET, ns.hp, HTTPPollerSource", p.Spec.Method, HTTPPollerEventSource(p), KindOf(p))
	}
	for _, name := range []string{"httppollersource", "HTTPPollerSources", "httppollersources.sources.triggermesh.io"} {
		if k, err := ResolveKind(name); err != nil || k != KindHTTPPollerSource {
			t.Errorf("ResolveKind(%q) = %q, %v", name, k, err)
		}
	}
	if err := ValidateUpdate(p, DeepCopy(p)); err != nil {
		t.Errorf("update: %v", err)
	}
	if !strings.Contains(supportedKinds, "HTTPPollerSource (sources.triggermesh.io/v1alpha1)") {
		t.Errorf("supportedKinds = %s", supportedKinds)
	}
}
