package dispatcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestKafkaSourceSecuredCluster: a KafkaSource whose cluster takes TLS
// and SCRAM-SHA-512 is read with kafka_source.auth (its consumer group
// committed there).
func TestKafkaSourceSecuredCluster(t *testing.T) {
	weft := newEnv(t)
	weft.createTopic(wire.KafkaSourceRetryTopic("ns", "src"), 1)
	sk := testutil.StartKafkaSecure(t, testutil.KafkaSecurity{TLS: true,
		Users: []testutil.KafkaUser{{Mechanism: "SCRAM-SHA-512", User: "reader", Password: "right"}}})
	kcfg := sk.Config()
	cl, err := kcfg.NewClient(nil, kgo.DefaultProduceTopic("unused"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	src := &env{t: t, kcfg: kcfg, cl: cl, adm: kadm.NewClient(cl)}
	src.createTopic("orders", 1)

	withAuth := func(version uint64, url string, auth *weftv1.KafkaAuth) *weftv1.Contract {
		c := sourceContract(version, src, url, []string{"orders"}, nil)
		c.Ingresses[0].KafkaSource.Auth = auth
		return c
	}

	sink := newSubscriber(t, nil)
	d := start(t, testConfig(weft.kcfg))
	d.apply(t, withAuth(1, sink.URL, sk.Auth()))
	rec := src.produceRaw(plain("orders", 0, "k", "secured"))[0]
	sink.waitIDs(t, kafkaEventID(rec))
	testutil.Eventually(t, 10*time.Second, "the source's group committed on its secured cluster", func() (bool, string) {
		offs, err := src.adm.FetchOffsets(context.Background(), sourceGroup)
		if err != nil {
			return false, err.Error()
		}
		o, ok := offs.Lookup("orders", 0)
		return ok && o.At == rec.Offset+1, fmt.Sprint(offs)
	})
}
