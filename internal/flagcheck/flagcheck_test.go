package flagcheck

import (
	"strings"
	"testing"
	"time"
)

func TestMessages(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"required":          {Required("--type", ""), "--type: must be set"},
		"required ok":       {Required("--type", "x"), ""},
		"host:port":         {HostPort("--grpc-addr", "nowhere"), `--grpc-addr: must be host:port, got "nowhere"`},
		"host:port ok":      {HostPort("--grpc-addr", ":9090"), ""},
		"optional empty":    {OptionalHostPort("--ops-addr", ""), ""},
		"host:ports empty":  {HostPorts("--bootstrap-servers", nil), "--bootstrap-servers: must name at least one host:port"},
		"host:ports bad":    {HostPorts("--bootstrap-servers", []string{"k:1", "k2"}), `--bootstrap-servers: must be host:port, got "k2"`},
		"at least":          {AtLeast("--max-in-flight", 0, 1), "--max-in-flight: must be at least 1, got 0"},
		"positive duration": {Positive("--drain-timeout", -time.Second), "--drain-timeout: must be greater than 0s, got -1s"},
		"between":           {Between("--port", 70000, 0, 65535), "--port: must be between 0 and 65535, got 70000"},
		"replication":       {ReplicationFactor("--state-replication-factor", 0), "--state-replication-factor: must be -1 (the cluster's default) or at least 1, got 0"},
		"replication ok":    {ReplicationFactor("--state-replication-factor", -1), ""},
		"one of":            {OneOf("--mode", "xml", "binary", "structured"), `--mode: must be one of binary, structured, got "xml"`},
		"url":               {URL("--ingress-url", "localhost:8080", "http", "https"), `--ingress-url: must be an absolute http or https URL, got "localhost:8080"`},
		"url scheme":        {URL("--url", "ftp://h/x", "http", "https"), `--url: must be an absolute http or https URL, got "ftp://h/x"`},
		"url ok":            {URL("--url", "https://h/x", "http", "https"), ""},
		"join":              {Join(nil, Required("--a", ""), nil, AtLeast("--b", 0, 1)), "--a: must be set\n--b: must be at least 1, got 0"},
		"join none":         {Join(nil, nil), ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := ""
			if tc.err != nil {
				got = tc.err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if strings.HasSuffix(got, ".") {
				t.Errorf("message ends with a period: %q", got)
			}
		})
	}
}
