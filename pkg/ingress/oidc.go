package ingress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// signingAlgs are the JWS algorithms a sender's token may be signed with;
// "none" and the HMAC algorithms (a shared secret is no issuer key) are not
// among them.
var signingAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// discoveryTimeout bounds one OIDC discovery or JWKS request.
const discoveryTimeout = 10 * time.Second

// tokenVerifier verifies senders' OIDC tokens against the configured
// issuers: the signature with the issuer's keys (found through OIDC
// discovery and its JWKS, cached and refetched when a token names an
// unknown key; or a static JWKS file), the expiry and the issuer. Safe for
// concurrent use; it starts no goroutine that outlives a call.
type tokenVerifier struct {
	issuers []string
	// static, when set, holds the keys of every issuer (--oidc-jwks-file):
	// nothing is fetched.
	static oidc.KeySet
	// client fetches discovery documents and keys; keyCtx carries it to
	// the key sets.
	client *http.Client
	keyCtx context.Context

	mu        sync.Mutex
	verifiers map[string]*oidc.IDTokenVerifier
}

// newTokenVerifier builds the verifier of cfg's --oidc-* flags (nil when no
// issuer is configured).
func newTokenVerifier(cfg *Config) (*tokenVerifier, error) {
	if len(cfg.OIDCIssuers) == 0 {
		return nil, nil
	}
	tv := &tokenVerifier{issuers: slices.Clone(cfg.OIDCIssuers), verifiers: map[string]*oidc.IDTokenVerifier{}}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.OIDCCAFile != "" {
		pem, err := os.ReadFile(cfg.OIDCCAFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--oidc-ca-file: %s holds no PEM certificate", cfg.OIDCCAFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	tv.client = &http.Client{Transport: transport, Timeout: discoveryTimeout}
	tv.keyCtx = oidc.ClientContext(context.Background(), tv.client)
	if cfg.OIDCJWKSFile != "" {
		ks, err := readJWKS(cfg.OIDCJWKSFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-jwks-file: %w", err)
		}
		tv.static = ks
	}
	return tv, nil
}

// readJWKS reads a JSON Web Key Set of public keys.
func readJWKS(path string) (oidc.KeySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("%s is not a JSON Web Key Set: %w", path, err)
	}
	ks := &oidc.StaticKeySet{}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return nil, fmt.Errorf("%s: key %d (kid %q) is not a valid public key", path, i, k.KeyID)
		}
		ks.PublicKeys = append(ks.PublicKeys, k.Key)
	}
	if len(ks.PublicKeys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return ks, nil
}

// verifierFor returns the verifier of issuer, discovering its keys on
// first use; a failed discovery is retried on the next request.
func (tv *tokenVerifier) verifierFor(ctx context.Context, issuer string) (*oidc.IDTokenVerifier, error) {
	tv.mu.Lock()
	defer tv.mu.Unlock()
	if v := tv.verifiers[issuer]; v != nil {
		return v, nil
	}
	conf := &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: signingAlgs}
	var v *oidc.IDTokenVerifier
	if tv.static != nil {
		v = oidc.NewVerifier(issuer, tv.static, conf)
	} else {
		// Discovery runs under the request's deadline, but the key set it
		// returns keeps keyCtx's client for later fetches.
		dctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
		defer cancel()
		p, err := oidc.NewProvider(oidc.ClientContext(dctx, tv.client), issuer)
		if err != nil {
			return nil, fmt.Errorf("%w: OIDC discovery of %s: %v", ErrIssuerUnavailable, issuer, err)
		}
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
			return nil, fmt.Errorf("%w: OIDC discovery of %s: no jwks_uri", ErrIssuerUnavailable, issuer)
		}
		v = oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(tv.keyCtx, meta.JWKSURI), conf)
	}
	tv.verifiers[issuer] = v
	return v, nil
}

// verify checks a raw bearer token for audience and returns its subject.
// Errors wrap ErrUnauthorized and say what is wrong: malformed, bad
// signature (including alg none), wrong issuer, expired, wrong audience;
// or ErrIssuerUnavailable when the issuer's keys cannot be fetched.
func (tv *tokenVerifier) verify(ctx context.Context, raw, audience string) (string, error) {
	header, claims, err := peekJWT(raw)
	if err != nil {
		return "", fmt.Errorf("%w: malformed token: %v", ErrUnauthorized, err)
	}
	if !slices.Contains(signingAlgs, header.Alg) {
		return "", fmt.Errorf("%w: bad signature: tokens signed with alg %q are not accepted (want one of %s)",
			ErrUnauthorized, header.Alg, strings.Join(signingAlgs, ", "))
	}
	if !slices.Contains(tv.issuers, claims.Iss) {
		return "", fmt.Errorf("%w: wrong issuer %q: this ingress accepts tokens of %s", ErrUnauthorized, claims.Iss, strings.Join(tv.issuers, ", "))
	}
	v, err := tv.verifierFor(ctx, claims.Iss)
	if err != nil {
		return "", err
	}
	tok, err := v.Verify(ctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return "", fmt.Errorf("%w: token expired at %s", ErrUnauthorized, expired.Expiry.UTC().Format(time.RFC3339))
	case err != nil && strings.Contains(err.Error(), "signature"):
		return "", fmt.Errorf("%w: bad signature: the token is not signed by a key of %s", ErrUnauthorized, claims.Iss)
	case err != nil && strings.Contains(err.Error(), "fetching keys"):
		return "", fmt.Errorf("%w: keys of %s: %v", ErrIssuerUnavailable, claims.Iss, err)
	case err != nil:
		return "", fmt.Errorf("%w: invalid token: %v", ErrUnauthorized, err)
	}
	if !slices.Contains(tok.Audience, audience) {
		return "", fmt.Errorf("%w: wrong audience %q, want %q", ErrUnauthorized, strings.Join(tok.Audience, ","), audience)
	}
	if tok.Subject == "" {
		return "", fmt.Errorf("%w: invalid token: no subject (sub)", ErrUnauthorized)
	}
	return tok.Subject, nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
}

type jwtClaims struct {
	Iss string `json:"iss"`
}

// peekJWT decodes a compact JWS's header and claims without verifying
// anything, to pick the issuer and refuse an algorithm early.
func peekJWT(raw string) (jwtHeader, jwtClaims, error) {
	var h jwtHeader
	var c jwtClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return h, c, fmt.Errorf("want a JWT of three dot-separated parts, got %d", len(parts))
	}
	for i, dst := range []any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return h, c, fmt.Errorf("part %d is not base64url: %v", i+1, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return h, c, fmt.Errorf("part %d is not a JSON object: %v", i+1, err)
		}
	}
	return h, c, nil
}

// bearerToken is the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", fmt.Errorf("%w: missing token: send Authorization: Bearer <OIDC token>", ErrUnauthorized)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("%w: missing token: the Authorization header is not Bearer <OIDC token>", ErrUnauthorized)
	}
	return strings.TrimSpace(tok), nil
}
