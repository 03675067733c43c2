package ingress_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/ingress"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// testIssuer is a local OIDC issuer: keys made by the test, served over
// HTTPS (its own certificate) at /.well-known/openid-configuration and
// /keys; it mints tokens with go-jose.
type testIssuer struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu      sync.Mutex
	keys    map[string]any // kid -> private key
	served  []string       // kids whose public keys /keys serves
	fetches int            // requests to /keys
}

func startIssuer(t *testing.T) *testIssuer {
	t.Helper()
	is := &testIssuer{t: t, keys: map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(is.jwks())
	})
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	is.caFile = filepath.Join(t.TempDir(), "issuer-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.srv.Certificate().Raw})
	if err := os.WriteFile(is.caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	is.addKey("rsa-1", mustRSA(t), true)
	return is
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// addKey makes kid's private key known; served: /keys publishes it.
func (is *testIssuer) addKey(kid string, key any, served bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = key
	if served {
		is.served = append(is.served, kid)
	}
}

func (is *testIssuer) jwks() jose.JSONWebKeySet {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.fetches++
	var set jose.JSONWebKeySet
	for _, kid := range is.served {
		var pub any
		switch k := is.keys[kid].(type) {
		case *rsa.PrivateKey:
			pub = &k.PublicKey
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig"})
	}
	return set
}

// token mints a token signed with kid's key.
func (is *testIssuer) token(kid string, c jwt.Claims) string {
	is.t.Helper()
	is.mu.Lock()
	key := is.keys[kid]
	is.mu.Unlock()
	alg := jose.RS256
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = jose.ES256
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		is.t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		is.t.Fatal(err)
	}
	return raw
}

// claims are valid claims of this issuer for subject and audience.
func (is *testIssuer) claims(subject, audience string) jwt.Claims {
	now := time.Now()
	return jwt.Claims{Issuer: is.srv.URL, Subject: subject, Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// eventPost posts a binary-mode event of type typ with a bearer token ("":
// no Authorization header).
func eventPost(t *testing.T, c *http.Client, url, token, id, typ string) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Source", "/test")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// storedCount is the sum of topic's partitions' end offsets: how many
// records it holds.
func storedCount(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

const (
	shopNS        = "shop"
	checkoutSA    = "system:serviceaccount:shop:checkout"
	strangerSA    = "system:serviceaccount:elsewhere:mallory"
	orderType     = "com.shop.order.created"
	shopAudience  = "eventing.knative.dev/broker/shop/default"
	sameAudience  = "eventing.knative.dev/broker/shop/same"
	denyAudience  = "eventing.knative.dev/broker/shop/closed"
	defaultTopic  = "weft.broker.shop.default"
	sameTopic     = "weft.broker.shop.same"
	closedTopic   = "weft.broker.shop.closed"
	partnerPrefix = "system:serviceaccount:partners:*"
)

// authContract is a contract as the control plane compiles it with
// --oidc-authentication: broker shop/default with one EventPolicy
// (checkout and partners' service accounts, events of type com.shop.*),
// shop/same with none under allow-same-namespace, shop/closed with none
// under deny-all.
func authContract() *weftv1.Contract {
	def := brokerEntry(shopNS, "default", defaultTopic)
	def.Auth = &weftv1.IngressAuth{Audience: shopAudience, DefaultMode: compile.AuthAllowAll, Policies: []*weftv1.EventPolicyRule{{
		Namespace: shopNS, Name: "orders", Subjects: []string{checkoutSA, partnerPrefix},
		Filters: []*weftv1.Filter{{Dialect: &weftv1.Filter_Prefix{Prefix: &weftv1.Attributes{Attributes: map[string]string{"type": "com.shop."}}}}},
	}}}
	same := brokerEntry(shopNS, "same", sameTopic)
	same.Auth = &weftv1.IngressAuth{Audience: sameAudience, DefaultMode: compile.AuthAllowSameNamespace}
	closed := brokerEntry(shopNS, "closed", closedTopic)
	closed.Auth = &weftv1.IngressAuth{Audience: denyAudience, DefaultMode: compile.AuthDenyAll}
	return contractOf(1, def, same, closed)
}

// TestOIDCAuthorization: with a local OIDC issuer over HTTPS (trusted
// through --oidc-ca-file, keys found by discovery): a valid token is
// accepted; a missing, expired, wrong-audience, wrong-issuer, unsigned
// (alg none) or tampered token gets 401 saying which; a subject no
// EventPolicy admits, or an event failing the policy's filter, gets 403;
// the default modes apply where no policy does; and nothing refused is
// stored (the topics' end offsets count only the 202s). A key the issuer
// adds later is fetched when a token names it.
func TestOIDCAuthorization(t *testing.T) {
	is := startIssuer(t)
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	for _, topic := range []string{defaultTopic, sameTopic, closedTopic} {
		createTopic(t, adm, topic, 2)
	}
	cfg := testConfig(kcfg)
	cfg.OIDCIssuers = []string{is.srv.URL}
	cfg.OIDCCAFile = is.caFile
	_, hs := serveIngress(t, cfg, authContract())

	valid := is.token("rsa-1", is.claims(checkoutSA, shopAudience))
	expired := is.claims(checkoutSA, shopAudience)
	expired.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	wrongIssuer := is.claims(checkoutSA, shopAudience)
	wrongIssuer.Issuer = "https://issuer.example.org"
	parts := strings.Split(valid, ".")
	tamperedClaims := is.claims(strangerSA, shopAudience)
	tampered := parts[0] + "." + b64(tamperedClaims) + "." + parts[2]
	unsigned := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(is.claims(checkoutSA, shopAudience)) + "."
	// A key the issuer never published signs a token claiming its name.
	is.addKey("rogue", mustRSA(t), false)
	rogue := is.token("rogue", is.claims(checkoutSA, shopAudience))

	stored := map[string]int64{}
	for _, tc := range []struct {
		name, broker, token, typ string
		code                     int
		body                     string
	}{
		{"valid", "default", valid, orderType, 202, "event stored"},
		{"partner by prefix", "default", is.token("rsa-1", is.claims("system:serviceaccount:partners:acme", shopAudience)), orderType, 202, "event stored"},
		{"missing", "default", "", orderType, 401, "missing token"},
		{"expired", "default", is.token("rsa-1", expired), orderType, 401, "token expired"},
		{"wrong audience", "default", is.token("rsa-1", is.claims(checkoutSA, "eventing.knative.dev/broker/shop/other")), orderType, 401, "wrong audience"},
		{"wrong issuer", "default", is.token("rsa-1", wrongIssuer), orderType, 401, "wrong issuer"},
		{"unsigned", "default", unsigned, orderType, 401, `bad signature: tokens signed with alg "none" are not accepted`},
		{"tampered", "default", tampered, orderType, 401, "bad signature"},
		{"unpublished key", "default", rogue, orderType, 401, "bad signature"},
		{"not a JWT", "default", "abc.def", orderType, 401, "malformed token"},
		{"subject not admitted", "default", is.token("rsa-1", is.claims(strangerSA, shopAudience)), orderType, 403, `subject "system:serviceaccount:elsewhere:mallory" is not admitted by any EventPolicy of broker shop/default (EventPolicy shop/orders)`},
		{"event fails the filter", "default", valid, "com.other.thing", 403, `does not pass the filters of EventPolicy shop/orders`},
		{"same namespace admitted", "same", is.token("rsa-1", is.claims("system:serviceaccount:shop:anyone", sameAudience)), orderType, 202, "event stored"},
		{"other namespace refused", "same", is.token("rsa-1", is.claims(strangerSA, sameAudience)), orderType, 403, "allow-same-namespace admits only system:serviceaccount:shop:*"},
		{"deny-all", "closed", is.token("rsa-1", is.claims(checkoutSA, denyAudience)), orderType, 403, "default authorization mode is deny-all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := eventPost(t, hs.Client(), hs.URL+"/shop/"+tc.broker, tc.token, "id-"+strings.ReplaceAll(tc.name, " ", "-"), tc.typ)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("%d %q, want %d containing %q", code, body, tc.code, tc.body)
			}
			if code == 401 && !strings.HasPrefix(h.Get("Www-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %v", h)
			}
			if code == 202 {
				stored[tc.broker]++
			}
		})
	}

	// A batch with one event failing the filter is refused whole.
	batch := `[{"specversion":"1.0","id":"b1","source":"/t","type":"com.shop.order.created"},{"specversion":"1.0","id":"b2","source":"/t","type":"com.other"}]`
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/shop/default", strings.NewReader(batch))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+valid)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "event 1 of the batch") {
		t.Errorf("batch with a filtered-out event: %d %q, want 403 naming event 1", resp.StatusCode, b)
	}

	// Key rotation: a token signed with a key the issuer published after
	// the ingress cached its keys is accepted (the key set is refetched).
	fetches := func() int { is.mu.Lock(); defer is.mu.Unlock(); return is.fetches }
	before := fetches()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.addKey("ec-2", ec, true)
	if code, _, body := eventPost(t, hs.Client(), hs.URL+"/shop/default", is.token("ec-2", is.claims(checkoutSA, shopAudience)), "rotated", orderType); code != 202 {
		t.Errorf("token of a rotated-in key: %d %q", code, body)
	} else {
		stored["default"]++
	}
	if fetches() == before {
		t.Error("the ingress accepted a new key without fetching the issuer's keys again")
	}

	for broker, topic := range map[string]string{"default": defaultTopic, "same": sameTopic, "closed": closedTopic} {
		if got := storedCount(t, adm, topic); got != stored[broker] {
			t.Errorf("%s holds %d records, want %d (only the accepted events)", topic, got, stored[broker])
		}
	}
}

// TestOIDCStaticKeys: with --oidc-jwks-file the ingress verifies tokens
// offline against the file's keys (the issuer is never contacted), and a
// request to an entry with auth on an ingress without --oidc-issuer is 401.
func TestOIDCStaticKeys(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, defaultTopic, 1)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, set, 0o600); err != nil {
		t.Fatal(err)
	}
	const issuer = "https://issuer.invalid"
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: issuer, Subject: checkoutSA, Audience: jwt.Audience{shopAudience},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		issuers []string
		code    int
		body    string
	}{
		{"static keys", []string{issuer}, 202, "event stored"},
		{"no issuer configured", nil, 401, "no --oidc-issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(kcfg)
			cfg.OIDCIssuers = tc.issuers
			if tc.issuers != nil {
				cfg.OIDCJWKSFile = file
			}
			_, hs := serveIngress(t, cfg, authContract())
			code, _, body := eventPost(t, hs.Client(), hs.URL+"/shop/default", tok, "s1", orderType)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("%d %q, want %d containing %q", code, body, tc.code, tc.body)
			}
		})
	}
	if got := storedCount(t, adm, defaultTopic); got != 1 {
		t.Errorf("%s holds %d records, want 1", defaultTopic, got)
	}
}

// TestOIDCConfig: the --oidc-* flags are checked.
func TestOIDCConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*ingress.Config)
		want string
	}{
		{"http issuer", func(c *ingress.Config) { c.OIDCIssuers = []string{"http://issuer.example"} }, "--oidc-issuer"},
		{"jwks without issuer", func(c *ingress.Config) { c.OIDCJWKSFile = "keys.json" }, "--oidc-issuer"},
		{"missing CA file", func(c *ingress.Config) {
			c.OIDCIssuers = []string{"https://issuer.example"}
			c.OIDCCAFile = filepath.Join(t.TempDir(), "missing.pem")
		}, "--oidc-ca-file"},
		{"bad JWKS file", func(c *ingress.Config) {
			c.OIDCIssuers = []string{"https://issuer.example"}
			c.OIDCJWKSFile = filepath.Join(t.TempDir(), "missing.json")
		}, "--oidc-jwks-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ingress.DefaultConfig()
			tc.mut(&cfg)
			_, err := ingress.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}
