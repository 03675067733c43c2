package wire

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		BrokerTopic("ns", "b"):  "weft.broker.ns.b",
		TriggerGroup("ns", "t"): "weft.trigger.ns.t",
		BrokerPath("ns", "b"):   "/ns/b",
		RetryTopic("ns", "b"):   "weft.retry.ns.b",
		RetryGroup("ns", "b"):   "weft.dispatcher-retry.ns.b",

		ChannelTopic("ns", "c"):               "weft.channel.ns.c",
		ChannelPath("ns", "c"):                "/channels/ns/c",
		SubscriptionGroup("ns", "s"):          "weft.subscription.ns.s",
		SequenceTopic("ns", "q", 2):           "weft.sequence.ns.q.2",
		SequencePath("ns", "q"):               "/sequences/ns/q",
		ParallelTopic("ns", "p"):              "weft.parallel.ns.p.in",
		ParallelBranchTopic("ns", "p", 1):     "weft.parallel.ns.p.1",
		ParallelFilterGroup("ns", "p", 1):     "weft.parallel.ns.p.1.filter",
		ParallelSubscriberGroup("ns", "p", 1): "weft.parallel.ns.p.1",
		ParallelPath("ns", "p"):               "/parallels/ns/p",

		FleetGroupOf(BrokerTopic("ns", "b")):  DispatcherGroup("ns", "b"),
		RetryTopicOf(BrokerTopic("ns", "b")):  RetryTopic("ns", "b"),
		RetryGroupOf(BrokerTopic("ns", "b")):  RetryGroup("ns", "b"),
		FleetGroupOf(ChannelTopic("ns", "c")): "weft.dispatcher-channel.ns.c",
		RetryTopicOf(ChannelTopic("ns", "c")): "weft.retry-channel.ns.c",
		RetryGroupOf(ChannelTopic("ns", "c")): "weft.dispatcher-retry-channel.ns.c",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]struct {
		path, want, wantErr string
	}{
		"no file configured": {path: ""},
		"token":              {path: write("tok", "  s3cret\n"), want: "s3cret"},
		"empty file":         {path: write("empty", ""), wantErr: "is empty"},
		"white space only":   {path: write("blank", " \n\t\n"), wantErr: "is empty"},
		"missing file":       {path: filepath.Join(dir, "nope"), wantErr: "no such file"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ReadTokenFile(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	md, err := BearerToken("abc").GetRequestMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := md[AuthorizationHeader]
	if err := CheckBearer(h, "abc"); err != nil {
		t.Errorf("a token checked against itself: %v", err)
	}
	for header, want := range map[string]error{
		"":           ErrNoToken,
		"Bearer abd": ErrBadToken,
		"abc":        ErrBadToken,
		"Basic abc":  ErrBadToken,
	} {
		if err := CheckBearer(header, "abc"); !errors.Is(err, want) {
			t.Errorf("CheckBearer(%q) = %v, want %v", header, err, want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, ok := range []Role{RoleIngress, RoleDispatcher} {
		if r, err := ParseRole(string(ok)); err != nil || r != ok {
			t.Errorf("ParseRole(%q) = %q, %v", ok, r, err)
		}
	}
	if _, err := ParseRole("controller"); err == nil || !strings.Contains(err.Error(), `"controller"`) {
		t.Errorf("ParseRole(controller) = %v, want an error naming it", err)
	}
}
