package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The `weft source` group: PingSources, and the webhook sources of
// sources_webhooks.go.

func init() {
	extraCommands = append(extraCommands, newSourceCmd)
}

// sourceTypes are what `source create TYPE` accepts.
const sourceTypes = "ping, webhook, gitlab, github"

type sourceFlags struct {
	ns, schedule, sink, data, dataBase64, timezone, contentType string
}

// pingSource builds the PingSource the flags describe; the control plane's
// validation (run first by createOnly) checks the schedule and time zone.
func (sf *sourceFlags) pingSource(name string) (*apis.PingSource, error) {
	p := &apis.PingSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1, Kind: apis.KindPingSource},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	var errs []error
	if sf.schedule == "" {
		errs = append(errs, fmt.Errorf("--schedule: must be set: a cron schedule such as \"*/2 * * * *\""))
	}
	if sf.sink == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sf.sink); err != nil {
		errs = append(errs, err)
	} else {
		p.Spec.Sink = *d
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	p.Spec.Schedule, p.Spec.Timezone, p.Spec.Data, p.Spec.DataBase64, p.Spec.ContentType = sf.schedule, sf.timezone, sf.data, sf.dataBase64, sf.contentType
	return p, nil
}

func newSourceCmd(g *globals) *cobra.Command {
	sf := &sourceFlags{}
	var wf *webhookFlags
	create := &cobra.Command{
		Use: "create TYPE NAME --sink SINK ...",
		Example: `  weft source create ping NAME --schedule S --sink SINK [--data D | --data-base64 B] [--timezone TZ] [--content-type T]
  weft source create webhook NAME --event-type T [--event-source S] [--basic-auth-username U --basic-auth-password P] --sink SINK
  weft source create gitlab NAME --project-url URL --event-types push_events,merge_requests_events --secret-token-secret SECRET:KEY --sink SINK
  weft source create github NAME --owner-and-repository OWNER/REPO --event-types push,pull_request --secret-token-secret SECRET:KEY --sink SINK`,
		Short: "Create a source",
		Long: `Create a source:
  ping     a sources.knative.dev/v1 PingSource, which sends an event of type
           dev.knative.sources.ping to --sink on the cron --schedule (five
           fields or @hourly, @every 10m, ...; a time zone with --timezone or
           a CRON_TZ= prefix). Exactly one dispatcher produces each tick.
  webhook  a sources.triggermesh.io/v1alpha1 WebhookSource: every POST to its
           URL (weft source describe) becomes an event of --event-type,
           behind HTTP basic authentication when a user is given.
  gitlab   a sources.knative.dev/v1alpha1 GitLabSource, and
  github   a sources.knative.dev/v1alpha1 GitHubSource: the provider's
           webhooks, checked against the secret token, become
           dev.knative.sources.gitlab.* / dev.knative.source.github.* events.
           Weft does not call GitLab or GitHub: add the source's URL as the
           webhook there, with the same secret token.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "ping" {
				o, ok, err := wf.source(args[0], args[1], sf.ns, sf.sink)
				if !ok {
					return flagcheck.Errorf("TYPE", args[0], "be one of %s", sourceTypes)
				}
				if err != nil {
					return err
				}
				return g.createOnly(cmd.Context(), o)
			}
			p, err := sf.pingSource(args[1])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), p)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringVar(&sf.schedule, "schedule", "", "cron schedule (required), e.g. \"*/2 * * * *\" or \"@every 1m\"")
	fs.StringVar(&sf.sink, "sink", "", "where the events go (required): "+sinkSyntax)
	fs.StringVar(&sf.data, "data", "", "the events' data")
	fs.StringVar(&sf.dataBase64, "data-base64", "", "the events' data, base64-encoded (not with --data)")
	fs.StringVar(&sf.timezone, "timezone", "", "IANA time zone of the schedule (default UTC)")
	fs.StringVar(&sf.contentType, "content-type", "", "the events' datacontenttype")
	wf = addWebhookFlags(fs)
	c := kindCmd(g, apis.KindPingSource, create)
	c.Use, c.Short = "source", "Manage sources: PingSources, WebhookSources, GitLabSources, GitHubSources (kn-style shortcuts)"
	sourceCommands(g, c)
	return c
}

// describeSource prints the spec fields of a PingSource for `weft describe`.
func describeSource(w io.Writer, p *apis.PingSource) {
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", label, v)
		}
	}
	line("Schedule", p.Spec.Schedule)
	line("Timezone", p.Spec.Timezone)
	line("Sink", formatDest(&p.Spec.Sink, p.ObjectMeta.Namespace))
	line("Sink URI", p.Status.SinkURI)
	line("Content type", p.Spec.ContentType)
	line("Data", p.Spec.Data)
	line("Data (base64)", p.Spec.DataBase64)
	printSpec(w, "CE overrides", p.Spec.CloudEventOverrides)
}
