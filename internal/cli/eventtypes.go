package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The `weft eventtype` group: EventTypes.

func init() {
	extraCommands = append(extraCommands, newEventTypeCmd)
}

type eventTypeFlags struct {
	ns, typ, source, schema, description, reference string
}

// eventType builds the EventType the flags describe, reporting every bad
// flag.
func (ef *eventTypeFlags) eventType(name string) (*apis.EventType, error) {
	e := &apis.EventType{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1beta2, Kind: apis.KindEventType},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: ef.ns},
		Spec:       apis.EventTypeSpec{Type: ef.typ, Source: ef.source, Schema: ef.schema, Description: ef.description}}
	var errs []error
	if ef.typ == "" {
		errs = append(errs, fmt.Errorf("--type: must be set: the CloudEvents type of the events (e.g. dev.knative.samples.helloworld)"))
	}
	if ef.reference != "" {
		prefix, refName, ok := strings.Cut(ef.reference, ":")
		switch {
		case !ok || refName == "":
			errs = append(errs, flagcheck.Errorf("--reference", ef.reference, "be broker:NAME or channel:NAME"))
		case prefix == "broker":
			e.Spec.Reference = &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: refName}
		case prefix == "channel":
			e.Spec.Reference = &apis.KReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: refName}
		default:
			errs = append(errs, flagcheck.Errorf("--reference", ef.reference, "be broker:NAME or channel:NAME (unknown prefix %q)", prefix))
		}
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

func newEventTypeCmd(g *globals) *cobra.Command {
	ef := &eventTypeFlags{}
	create := &cobra.Command{
		Use:   "create NAME --type TYPE [--source URI] [--schema URI] [--description TEXT] [--reference broker:NAME|channel:NAME]",
		Short: "Create an event type",
		Long: `Create an eventing.knative.dev/v1beta2 EventType: a type of event (its
CloudEvents type, source and schema) offered on a broker or a channel
(--reference). An EventType's spec cannot change afterwards (as in Knative):
delete it and create it again. With auto-registration (the annotation
weft.dev/eventtype-auto-create: "true" on a broker or channel, or the control
plane's --eventtype-auto-create), EventTypes are created from the events sent.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := ef.eventType(args[0])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), e)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &ef.ns)
	fs.StringVar(&ef.typ, "type", "", "CloudEvents type of the events (required)")
	fs.StringVar(&ef.source, "source", "", "CloudEvents source of the events (a URI reference)")
	fs.StringVar(&ef.schema, "schema", "", "URI of the events' data schema")
	fs.StringVar(&ef.description, "description", "", "what the events are")
	fs.StringVar(&ef.reference, "reference", "", "the broker or channel the events are offered on: broker:NAME or channel:NAME")
	c := kindCmd(g, apis.KindEventType, create)
	c.Short = "Manage event types: EventTypes (kn-style shortcuts)"
	return c
}

// describeEventType prints the spec fields of an EventType for `weft describe`.
func describeEventType(w io.Writer, e *apis.EventType) {
	line := fieldLine(w)
	line("Type", e.Spec.Type)
	line("Source", e.Spec.Source)
	line("Schema", e.Spec.Schema)
	line("Description", e.Spec.Description)
	if r := e.Spec.Reference; r != nil {
		line("Reference", fmt.Sprintf("%s %s (%s)", r.Kind, r.Name, r.APIVersion))
	}
	line("Schema data", e.Spec.SchemaData)
	for i, a := range e.Spec.Attributes {
		label := ""
		if i == 0 {
			label = "Attributes:"
		}
		req := ""
		if a.Required {
			req = " (required)"
		}
		fmt.Fprintf(w, "%s\t%s=%s%s\n", label, a.Name, a.Value, req)
	}
}

// eventTypeRow is an EventType's cells in `weft get eventtypes`, as
// kubectl prints Knative's: TYPE, SOURCE, SCHEMA, REFERENCE NAME,
// REFERENCE KIND, DESCRIPTION.
func eventTypeRow(e *apis.EventType) []string {
	refName, refKind := "", ""
	if r := e.Spec.Reference; r != nil {
		refName, refKind = r.Name, r.Kind
	}
	return []string{e.Spec.Type, e.Spec.Source, e.Spec.Schema, refName, refKind, e.Spec.Description}
}
