package kubemode_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/internal/testutil/kubetest"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// plane is a control plane in Kubernetes mode, in process (so the race
// detector sees the reconcilers), on a real API server and Kafka-protocol
// server.
type plane struct {
	kube *kubetest.Env
	srv  *controlplane.Server
	adm  *kadm.Client
	kcl  *kgo.Client
	ns   string
	stop func()
}

func startPlane(t *testing.T, mutate ...func(*controlplane.Config)) *plane {
	t.Helper()
	p := &plane{kube: kubetest.Start(t)}
	k := testutil.StartKafka(t)
	cfg := controlplane.DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(k)
	cfg.GRPCAddr, cfg.OpsAddr = "127.0.0.1:0", ""
	cfg.Store = controlplane.StoreKubernetes
	for _, m := range mutate {
		m(&cfg)
	}
	var err error
	if p.kcl, err = cfg.Kafka.NewClient(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kcl.Close)
	p.adm = kadm.NewClient(p.kcl)
	p.ns = p.kube.Namespace(t)
	p.start(t, cfg)
	// Runs before the control plane stops: nothing with its finalizer is
	// left on the API server the package's tests share.
	t.Cleanup(func() {
		ctx := context.Background()
		for _, l := range []client.ObjectList{&eventingv1.TriggerList{}, &eventingv1.BrokerList{}} {
			if err := p.cl().List(ctx, l, client.InNamespace(p.ns)); err != nil {
				t.Errorf("clean up: %v", err)
				continue
			}
			var objs []client.Object
			switch x := l.(type) {
			case *eventingv1.TriggerList:
				for i := range x.Items {
					objs = append(objs, &x.Items[i])
				}
			case *eventingv1.BrokerList:
				for i := range x.Items {
					objs = append(objs, &x.Items[i])
				}
			}
			for _, o := range objs {
				_ = p.cl().Delete(ctx, o)
				testutil.Eventually(t, 30*time.Second, "clean-up of "+o.GetName(), func() (bool, string) {
					err := p.cl().Get(ctx, client.ObjectKeyFromObject(o), o)
					return err != nil, ""
				})
			}
		}
	})
	return p
}

// start runs a control plane (again) with cfg until the test ends or stop.
func (p *plane) start(t *testing.T, cfg controlplane.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := testutil.Logger(t)
	srv, err := controlplane.New(ctx, cfg, controlplane.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := kubemode.NewManager(p.kube.Config, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := kubemode.Setup(mgr, srv); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = srv.Run(ctx); done <- struct{}{} }()
	go func() { _ = mgr.Start(ctx); done <- struct{}{} }()
	p.srv = srv
	var once bool
	p.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		<-done
		<-done
	}
	t.Cleanup(p.stop)
}

func (p *plane) cl() client.Client { return p.kube.Client }

func (p *plane) broker(name string, ann map[string]string) *eventingv1.Broker {
	return &eventingv1.Broker{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.ns, Annotations: ann}}
}

func (p *plane) trigger(name, broker string, mut ...func(*eventingv1.Trigger)) *eventingv1.Trigger {
	tr := &eventingv1.Trigger{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.ns},
		Spec: apis.TriggerSpec{Broker: broker, Subscriber: apis.Destination{URI: "http://sub.example/" + name}}}
	for _, m := range mut {
		m(tr)
	}
	return tr
}

var weftClass = map[string]string{apis.AnnotationBrokerClass: "Weft"}

func (p *plane) create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := p.cl().Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
}

// ready returns the Ready condition of obj as "Status Reason", "" without one.
func (p *plane) ready(obj client.Object) (string, client.Object) {
	o := obj.DeepCopyObject().(client.Object)
	if err := p.cl().Get(context.Background(), client.ObjectKeyFromObject(obj), o); err != nil {
		return "get: " + err.Error(), o
	}
	var conds []apis.Condition
	switch x := o.(type) {
	case *eventingv1.Broker:
		conds = x.Status.Conditions
	case *eventingv1.Trigger:
		conds = x.Status.Conditions
	}
	for _, c := range conds {
		if c.Type == "Ready" {
			return c.Status + " " + c.Reason, o
		}
	}
	return "", o
}

// modify updates obj with change, reading it again when the reconciler
// changed it in between.
func (p *plane) modify(t *testing.T, obj client.Object, change func(client.Object)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o := obj.DeepCopyObject().(client.Object)
		if err := p.cl().Get(context.Background(), client.ObjectKeyFromObject(obj), o); err != nil {
			return err
		}
		change(o)
		return p.cl().Update(context.Background(), o)
	})
	if err != nil {
		t.Fatalf("update %s: %v", obj.GetName(), err)
	}
}

func (p *plane) topicExists(t *testing.T, topic string) bool {
	ts, err := p.adm.ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return ts.Has(topic)
}

// A Broker of Weft's class gets the finalizer, its topic, and a status with
// its address and observedGeneration; deleting it deletes the topic before
// the object goes; a Broker of another class is not touched.
func TestBrokerLifecycle(t *testing.T) {
	p := startPlane(t)
	b := p.broker("mine", weftClass)
	other := p.broker("theirs", map[string]string{apis.AnnotationBrokerClass: "MTChannelBasedBroker"})
	unannotated := p.broker("plain", nil)
	p.create(t, b, other, unannotated)
	topic := "weft.broker." + p.ns + ".mine"
	testutil.Eventually(t, 30*time.Second, "the Broker reconciled", func() (bool, string) {
		r, o := p.ready(b)
		got := o.(*eventingv1.Broker)
		return r != "" && got.Status.Address != nil && got.Status.ObservedGeneration == got.Generation &&
			len(got.Finalizers) == 1 && got.Finalizers[0] == kubemode.Finalizer && p.topicExists(t, topic), testutil.JSON(got)
	})
	_, o := p.ready(b)
	if u := o.(*eventingv1.Broker).Status.Address.URL; u != "http://127.0.0.1:8080/"+p.ns+"/mine" {
		t.Errorf("address %s", u)
	}
	for _, x := range []*eventingv1.Broker{other, unannotated} {
		r, o := p.ready(x)
		if r != "" || len(o.GetFinalizers()) != 0 || p.topicExists(t, "weft.broker."+p.ns+"."+x.Name) {
			t.Errorf("Broker %s (not Weft's) was touched: ready %q, finalizers %v", x.Name, r, o.GetFinalizers())
		}
	}
	if err := p.cl().Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the Broker and its topic gone", func() (bool, string) {
		r, _ := p.ready(b)
		return r != "" && r[:4] == "get:" && !p.topicExists(t, topic), r
	})
	if p.srv.Stored(controlplane.Key{Kind: apis.KindBroker, Namespace: p.ns, Name: "mine"}) != nil {
		t.Error("the deleted Broker is still in the contract's store")
	}
}

// With --default-broker-class, a Broker without the annotation is Weft's;
// when its class changes to another, Weft lets go of it: out of the
// contract, topic deleted, finalizer removed.
func TestDefaultClassAndClassChange(t *testing.T) {
	p := startPlane(t, func(c *controlplane.Config) { c.DefaultBrokerClass = true })
	b := p.broker("plain", nil)
	p.create(t, b)
	topic := "weft.broker." + p.ns + ".plain"
	testutil.Eventually(t, 30*time.Second, "the unannotated Broker taken", func() (bool, string) {
		r, o := p.ready(b)
		return r != "" && len(o.GetFinalizers()) == 1 && p.topicExists(t, topic), r
	})
	p.modify(t, b, func(o client.Object) { o.SetAnnotations(map[string]string{apis.AnnotationBrokerClass: "Other"}) })
	testutil.Eventually(t, 30*time.Second, "the Broker released", func() (bool, string) {
		_, o := p.ready(b)
		return len(o.GetFinalizers()) == 0 && !p.topicExists(t, topic), fmt.Sprint(o.GetFinalizers())
	})
}

// A new Trigger's start position is fixed once, at admission (the end of
// the topic), before it enters the contract; an invalid change keeps the last
// valid spec running and shows InvalidSpec; deleting the Trigger deletes its
// consumer group.
func TestTriggerAdmissionInvalidChangeAndDelete(t *testing.T) {
	p := startPlane(t)
	b := p.broker("b", weftClass)
	p.create(t, b)
	topic := "weft.broker." + p.ns + ".b"
	testutil.Eventually(t, 30*time.Second, "the topic", func() (bool, string) { return p.topicExists(t, topic), "" })
	for i := range 5 {
		if err := p.kcl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Partition: int32(i % 3), Value: []byte("old")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	tr := p.trigger("t", "b")
	p.create(t, tr)
	group := "weft.trigger." + p.ns + ".t"
	key := controlplane.Key{Kind: apis.KindTrigger, Namespace: p.ns, Name: "t"}
	testutil.Eventually(t, 30*time.Second, "the Trigger admitted with its start offsets", func() (bool, string) {
		offs, err := p.adm.FetchOffsets(context.Background(), group)
		if err != nil {
			return false, err.Error()
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		_, o := p.ready(tr)
		return sum == 5 && len(o.GetFinalizers()) == 1 && p.srv.Stored(key) != nil, fmt.Sprint(sum, o.GetFinalizers())
	})

	// An invalid filter the API server cannot check.
	p.modify(t, tr, func(o client.Object) {
		o.(*eventingv1.Trigger).Spec.Filters = []apis.SubscriptionsAPIFilter{{CESQL: "type = = 'x'"}}
	})
	testutil.Eventually(t, 30*time.Second, "InvalidSpec on the Trigger", func() (bool, string) {
		r, o := p.ready(tr)
		return r == "False InvalidSpec" && o.(*eventingv1.Trigger).Status.ObservedGeneration == o.GetGeneration(), r
	})
	if st := p.srv.Stored(key).(*apis.Trigger); len(st.Spec.Filters) != 0 || st.ObjectMeta.Generation != 1 {
		t.Errorf("the store holds generation %d with filters %v, want the last valid spec (generation 1, no filters)", st.ObjectMeta.Generation, st.Spec.Filters)
	}

	if err := p.cl().Delete(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the Trigger, its group and its contract entry gone", func() (bool, string) {
		r, _ := p.ready(tr)
		gs, err := p.adm.ListGroups(context.Background())
		if err != nil {
			return false, err.Error()
		}
		_, has := gs[group]
		return r[:4] == "get:" && !has && p.srv.Stored(key) == nil, r
	})
}

// A control plane that starts takes out of the contract what the
// Kubernetes API no longer holds (a resource deleted while no control plane
// ran, its finalizer removed by hand).
func TestStaleMirrorSweptAtStart(t *testing.T) {
	p := startPlane(t)
	b := p.broker("gone", weftClass)
	p.create(t, b)
	key := controlplane.Key{Kind: apis.KindBroker, Namespace: p.ns, Name: "gone"}
	testutil.Eventually(t, 30*time.Second, "the Broker mirrored", func() (bool, string) { return p.srv.Stored(key) != nil, "" })
	cfg := p.srv.Config()
	p.stop()
	p.modify(t, b, func(o client.Object) { o.SetFinalizers(nil) })
	if err := p.cl().Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	p.start(t, cfg)
	testutil.Eventually(t, 30*time.Second, "the stale entry swept", func() (bool, string) { return p.srv.Stored(key) == nil, "" })
}
