package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// The webhook sources of `weft source create webhook|gitlab|github`, and the
// `weft source list|describe|delete` commands that cover every source kind.

// sourceKinds are the kinds the `weft source` group lists, describes and
// deletes.
var sourceKinds = []string{apis.KindPingSource, apis.KindWebhookSource, apis.KindGitLabSource, apis.KindGitHubSource}

// webhookFlags are the flags of the webhook source types.
type webhookFlags struct {
	eventType, eventSource, user, password, passwordSecret, cors string
	projectURL, ownerRepo, secretToken, accessToken              string
	eventTypes                                                   []string
}

func addWebhookFlags(fs *pflag.FlagSet) *webhookFlags {
	wf := &webhookFlags{}
	fs.StringVar(&wf.eventType, "event-type", "", "webhook: the events' type (required)")
	fs.StringVar(&wf.eventSource, "event-source", "", "webhook: the events' source (default NAMESPACE.NAME)")
	fs.StringVar(&wf.user, "basic-auth-username", "", "webhook: user HTTP basic authentication requires")
	fs.StringVar(&wf.password, "basic-auth-password", "", "webhook: password HTTP basic authentication requires")
	fs.StringVar(&wf.passwordSecret, "basic-auth-password-secret", "", "webhook: the password, from SECRET:KEY (not with --basic-auth-password)")
	fs.StringVar(&wf.cors, "cors-allow-origin", "", "webhook: origin answered in Access-Control-Allow-Origin")
	fs.StringVar(&wf.projectURL, "project-url", "", "gitlab: the project's URL (required)")
	fs.StringVar(&wf.ownerRepo, "owner-and-repository", "", "github: OWNER/REPOSITORY or an organization (required)")
	fs.StringSliceVar(&wf.eventTypes, "event-types", nil, "gitlab, github: the hooks or events accepted, comma-separated (push_events,... / push,...)")
	fs.StringVar(&wf.secretToken, "secret-token-secret", "", "gitlab, github: SECRET:KEY holding the webhook's secret token (required)")
	fs.StringVar(&wf.accessToken, "access-token-secret", "", "gitlab, github: SECRET:KEY of an access token (accepted, not used: add the webhook yourself)")
	return wf
}

// secretKeyFlag parses SECRET:KEY.
func secretKeyFlag(flag, v string) (*apis.SecretKeySelector, error) {
	name, key, ok := strings.Cut(v, ":")
	if !ok || name == "" || key == "" {
		return nil, flagcheck.Errorf(flag, v, "be SECRET:KEY (a Secret in the source's namespace and the key of the value)")
	}
	return &apis.SecretKeySelector{Name: name, Key: key}, nil
}

// source builds the source of type typ (webhook, gitlab or github) the
// flags describe; ok is false for another type. The control plane's
// validation (run first by createOnly) checks the values.
func (wf *webhookFlags) source(typ, name, ns, sinkFlag string) (o apis.Object, ok bool, err error) {
	var errs []error
	var sink apis.Destination
	if sinkFlag == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sinkFlag); err != nil {
		errs = append(errs, err)
	} else {
		sink = *d
	}
	meta := apis.ObjectMeta{Name: name, Namespace: ns}
	secret := func(flag, v string, required bool) apis.SecretValueFromSource {
		if v == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s: must be set: SECRET:KEY of the webhook's secret token", flag))
			}
			return apis.SecretValueFromSource{}
		}
		sel, err := secretKeyFlag(flag, v)
		if err != nil {
			errs = append(errs, err)
		}
		return apis.SecretValueFromSource{SecretKeyRef: sel}
	}
	switch typ {
	case "webhook":
		w := &apis.WebhookSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesTriggermeshV1alpha1, Kind: apis.KindWebhookSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--event-type", wf.eventType); err != nil {
			errs = append(errs, err)
		}
		w.Spec.Sink, w.Spec.EventType = sink, wf.eventType
		if wf.eventSource != "" {
			w.Spec.EventSource = &wf.eventSource
		}
		if wf.cors != "" {
			w.Spec.CORSAllowOrigin = &wf.cors
		}
		if wf.user != "" {
			w.Spec.BasicAuthUsername = &wf.user
		}
		switch {
		case wf.password != "" && wf.passwordSecret != "":
			errs = append(errs, fmt.Errorf("--basic-auth-password-secret: not with --basic-auth-password"))
		case wf.password != "":
			w.Spec.BasicAuthPassword = &apis.ValueFromField{Value: wf.password}
		case wf.passwordSecret != "":
			sel, err := secretKeyFlag("--basic-auth-password-secret", wf.passwordSecret)
			if err != nil {
				errs = append(errs, err)
			}
			w.Spec.BasicAuthPassword = &apis.ValueFromField{ValueFromSecret: sel}
		}
		o = w
	case "gitlab":
		g := &apis.GitLabSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitLabSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--project-url", wf.projectURL); err != nil {
			errs = append(errs, err)
		}
		g.Spec.Sink, g.Spec.ProjectURL, g.Spec.EventTypes = sink, wf.projectURL, wf.eventTypes
		g.Spec.SecretToken = secret("--secret-token-secret", wf.secretToken, true)
		g.Spec.AccessToken = secret("--access-token-secret", wf.accessToken, false)
		o = g
	case "github":
		g := &apis.GitHubSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitHubSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--owner-and-repository", wf.ownerRepo); err != nil {
			errs = append(errs, err)
		}
		if len(wf.eventTypes) == 0 {
			errs = append(errs, fmt.Errorf("--event-types: must be set: the GitHub events accepted, e.g. push,pull_request"))
		}
		g.Spec.Sink, g.Spec.OwnerAndRepository, g.Spec.EventTypes = sink, wf.ownerRepo, wf.eventTypes
		g.Spec.SecretToken = secret("--secret-token-secret", wf.secretToken, true)
		g.Spec.AccessToken = secret("--access-token-secret", wf.accessToken, false)
		o = g
	default:
		return nil, false, nil
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, true, err
	}
	return o, true, nil
}

// sourceSink is a source's spec.sink (nil for a kind that is no source).
func sourceSink(o apis.Object) *apis.Destination {
	switch t := o.(type) {
	case *apis.PingSource:
		return &t.Spec.Sink
	case *apis.WebhookSource:
		return &t.Spec.Sink
	case *apis.GitLabSource:
		return &t.Spec.Sink
	case *apis.GitHubSource:
		return &t.Spec.Sink
	}
	return nil
}

// sourceCommands makes the list, describe and delete commands of c (the
// `weft source` group) cover every kind of sourceKinds: list shows them in
// one table (kind, sink, READY); describe and delete find each source by
// name among them.
func sourceCommands(g *globals, c *cobra.Command) {
	byName := func(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ns, _ := cmd.Flags().GetString("namespace")
			for _, name := range args {
				var kind string
				err := g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
					var err error
					kind, err = findSource(ctx, cl, ns, name)
					return err
				})
				if err != nil {
					return err
				}
				if err := run(cmd, []string{kind, name}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		switch sub.Name() {
		case "list":
			sub.Short = "List sources of every kind (kind, sink, READY)"
			sub.RunE = func(cmd *cobra.Command, _ []string) error {
				ns, _ := cmd.Flags().GetString("namespace")
				if all, _ := cmd.Flags().GetBool("all-namespaces"); all {
					ns = ""
				}
				return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
					return listSources(ctx, cl, g.out, g.errw, ns)
				})
			}
		case "describe", "delete":
			c.RemoveCommand(sub)
		}
	}
	desc := newDescribeCmd(g)
	desc.Use, desc.Short, desc.Args = "describe NAME", "Describe a source (of any kind)", cobra.ExactArgs(1)
	desc.RunE = byName(desc.RunE)
	del := newDeleteCmd(g)
	del.Use, del.Short, del.Args = "delete NAME...", "Delete sources (of any kind)", cobra.MinimumNArgs(1)
	del.RunE = byName(del.RunE)
	c.AddCommand(desc, del)
}

// findSource is the kind of the source named name in ns.
func findSource(ctx context.Context, cl weftv1.ControlPlaneClient, ns, name string) (string, error) {
	var found []string
	for _, k := range sourceKinds {
		_, err := cl.Get(ctx, &weftv1.GetRequest{Kind: k, Namespace: ns, Name: name})
		switch status.Code(err) {
		case codes.OK:
			found = append(found, k)
		case codes.NotFound:
		default:
			return "", err
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no source named %q in namespace %q", name, ns)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("several sources are named %q in namespace %q (%s): use `weft describe|delete KIND %s`", name, ns, strings.Join(found, ", "), name)
}

// listSources prints the sources of every kind in ns ("" for all).
func listSources(ctx context.Context, cl weftv1.ControlPlaneClient, w, errw io.Writer, ns string) error {
	var objs []apis.Object
	for _, k := range sourceKinds {
		resp, err := cl.List(ctx, &weftv1.ListRequest{Kind: k, Namespace: ns})
		if err != nil {
			return err
		}
		for _, po := range resp.GetObjects() {
			o, err := apis.DecodeObject(po.GetJson())
			if err != nil {
				return fmt.Errorf("decode %s %s: %w", po.GetKind(), po.GetName(), err)
			}
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		where := fmt.Sprintf("in namespace %q", ns)
		if ns == "" {
			where = "in any namespace"
		}
		fmt.Fprintf(errw, "No sources found %s.\n", where)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	defer tw.Flush()
	cols := []string{"NAME", "KIND", "SINK", "AGE", "READY", "REASON"}
	if ns == "" {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, o := range objs {
		m := o.GetObjectMeta()
		row := []string{m.Name, apis.KindOf(o), formatDest(sourceSink(o), m.Namespace)}
		if ns == "" {
			row = append([]string{m.Namespace}, row...)
		}
		ready, reason := readyOf(o.GetConditions())
		row = append(row, age(m.CreationTimestamp), ready, reason)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return nil
}

// describeWebhookSource prints the spec and status fields of a webhook
// source for `weft describe`.
func describeWebhookSource(w io.Writer, o apis.Object) {
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", label, v)
		}
	}
	secretRef := func(v apis.SecretValueFromSource) string {
		if v.SecretKeyRef == nil {
			return ""
		}
		return "secret " + v.SecretKeyRef.Name + ", key " + v.SecretKeyRef.Key
	}
	var st *apis.WebhookSourceStatus
	var sink *apis.Destination
	var ce *apis.CloudEventOverrides
	ns := o.GetObjectMeta().Namespace
	switch t := o.(type) {
	case *apis.WebhookSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Event type", t.Spec.EventType)
		line("Event source", apis.WebhookSourceEventSource(t))
		if u := t.Spec.BasicAuthUsername; u != nil && *u != "" {
			auth := "basic, user " + *u
			if p := t.Spec.BasicAuthPassword; p != nil && p.ValueFromSecret != nil {
				auth += ", password from secret " + p.ValueFromSecret.Name + ", key " + p.ValueFromSecret.Key
			}
			line("Authentication", auth)
		}
		if c := t.Spec.CORSAllowOrigin; c != nil {
			line("CORS allow origin", *c)
		}
	case *apis.GitLabSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Project URL", t.Spec.ProjectURL)
		events := strings.Join(t.Spec.EventTypes, ", ")
		if events == "" {
			events = "all"
		}
		line("Event types", events)
		line("Secret token", secretRef(t.Spec.SecretToken))
		line("Access token", secretRef(t.Spec.AccessToken))
	case *apis.GitHubSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Owner and repository", t.Spec.OwnerAndRepository)
		line("Event types", strings.Join(t.Spec.EventTypes, ", "))
		line("Secret token", secretRef(t.Spec.SecretToken))
		line("Access token", secretRef(t.Spec.AccessToken))
	default:
		return
	}
	line("URL", urlOf(st.Address))
	if st.Address != nil && o.GetTypeMeta().Kind != apis.KindWebhookSource {
		line("Note", "Weft does not register the webhook: add the URL above as the webhook at the provider, with the secret token")
	}
	line("Sink", formatDest(sink, ns))
	line("Sink URI", st.SinkURI)
	printSpec(w, "CE overrides", ce)
	printSpec(w, "CE attributes", st.CloudEventAttributes)
}
