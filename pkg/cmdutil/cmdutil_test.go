package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestApplyEnv(t *testing.T) {
	t.Setenv("WEFT_GRPC_ADDR", "0.0.0.0:1") // the flag given on the command line wins
	t.Setenv("WEFT_DRAIN_TIMEOUT", "3s")
	t.Setenv("WEFT_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	addr := fs.String("grpc-addr", "127.0.0.1:9090", "")
	drain := fs.Duration("drain-timeout", time.Second, "")
	servers := fs.StringSlice("bootstrap-servers", nil, "")
	untouched := fs.Int("partitions", 3, "")
	if err := fs.Parse([]string{"--grpc-addr", "127.0.0.1:7"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:7" || *drain != 3*time.Second || strings.Join(*servers, ",") != "k1:9092,k2:9092" || *untouched != 3 {
		t.Errorf("got addr %s drain %s servers %v partitions %d", *addr, *drain, *servers, *untouched)
	}
	t.Setenv("WEFT_PARTITIONS", "many")
	if err := ApplyEnv(fs); err == nil || !strings.Contains(err.Error(), "WEFT_PARTITIONS") {
		t.Errorf("bad value: %v, want an error naming the variable", err)
	}
	if got := EnvName("max-event-bytes"); got != "WEFT_MAX_EVENT_BYTES" {
		t.Errorf("EnvName = %s", got)
	}
}
