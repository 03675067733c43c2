package observability

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /readyz names every failing check, in the order they were added, on one
// line; a replaced check counts once.
func TestReadyzNamesEveryFailingCheck(t *testing.T) {
	h := NewHealth()
	contract, kafka := errors.New("no contract applied yet"), errors.New("kafka is unreachable")
	h.AddCheck("contract", func() error { return contract })
	h.AddCheck("kafka", func() error { return kafka })
	h.AddCheck("shutdown", func() error { return nil })
	srv := httptest.NewServer(OpsMux(h, nil))
	defer srv.Close()
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	for range 20 { // map iteration once made the first failure random
		if code, body := get(); code != 503 || body != "not ready: contract: no contract applied yet; kafka: kafka is unreachable\n" {
			t.Fatalf("/readyz = %d %q", code, body)
		}
	}
	contract = nil
	h.AddCheck("contract", func() error { return contract })
	if code, body := get(); code != 503 || body != "not ready: kafka: kafka is unreachable\n" {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	kafka = nil
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Fatalf("/readyz = %d %q", code, body)
	}
}
