package eventmesh

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
)

// MissingTokenMessage is the plain-text body of a 401 for a request without
// a token (Knative's wording, byte for byte).
const MissingTokenMessage = "missing auth token. set the 'Authorization: Bearer YOUR_KEY' header"

// RequireToken serves next only to requests whose Authorization header
// carries token, as the Knative Event Mesh backend checks it: the "Bearer "
// prefix is removed when present; an empty or blank token is a 401 with
// MissingTokenMessage as plain text; a token that is not token is a 401
// with a JSON body {"error": "..."}. HTTP trims a header's trailing blanks,
// so "Bearer " arrives as "Bearer": that is a missing token too.
func RequireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.TrimSpace(got) == "" || got == "Bearer" {
			http.Error(w, MissingTokenMessage, http.StatusUnauthorized)
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves GET /v1/getEventMesh from objects (every stored object).
func Handler(objects func() []apis.Object) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, Build(objects()))
	})
}

// WriteJSON writes v as a JSON response with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
