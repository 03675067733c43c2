package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The `weft secret` group: Secrets that sources read (a webhook's token, a
// poller's password), as `kubectl create secret generic` makes them.

func init() {
	extraCommands = append(extraCommands, newSecretCmd)
}

type secretFlags struct {
	ns       string
	literals []string
	files    []string
	typ      string
}

// secret builds the Secret the flags describe, reporting every bad flag.
func (sf *secretFlags) secret(name string) (*apis.Secret, error) {
	s := &apis.Secret{TypeMeta: apis.TypeMeta{APIVersion: apis.CoreV1, Kind: apis.KindSecret},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}, Type: sf.typ, Data: map[string][]byte{}}
	var errs []error
	set := func(flag, entry, key string, v []byte) {
		if _, dup := s.Data[key]; dup {
			errs = append(errs, flagcheck.Errorf(flag, entry, "name each key once (%q is given twice)", key))
			return
		}
		s.Data[key] = v
	}
	for _, l := range sf.literals {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			errs = append(errs, flagcheck.Errorf("--from-literal", l, "be KEY=VALUE"))
			continue
		}
		set("--from-literal", l, k, []byte(v))
	}
	for _, f := range sf.files {
		k, path, ok := strings.Cut(f, "=")
		if !ok || k == "" || path == "" {
			errs = append(errs, flagcheck.Errorf("--from-file", f, "be KEY=PATH"))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("--from-file: %w", err))
			continue
		}
		set("--from-file", f, k, b)
	}
	if len(s.Data) == 0 && len(errs) == 0 {
		errs = append(errs, flagcheck.Errorf("--from-literal", "", "be given at least once (or --from-file)"))
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func newSecretCmd(g *globals) *cobra.Command {
	sf := &secretFlags{}
	create := &cobra.Command{
		Use:   "create NAME --from-literal KEY=VALUE... [--from-file KEY=PATH...]",
		Short: "Create a secret",
		Long: `Create a v1 Secret: named values that sources read (a webhook source's
token, a poller's password), referenced as secretKeyRef {name, key} or
valueFromSecret {name, key}. Weft stores it in its state topic, like any
resource; ` + "`weft get secrets`" + ` and ` + "`weft describe secret`" + ` show key names and sizes,
never values.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sf.secret(args[0])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), s)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringArrayVar(&sf.literals, "from-literal", nil, "a key and its value, KEY=VALUE (repeatable)")
	fs.StringArrayVar(&sf.files, "from-file", nil, "a key and the file holding its value, KEY=PATH (repeatable)")
	fs.StringVar(&sf.typ, "type", apis.SecretTypeOpaque, "the Secret's type")
	return kindCmd(g, apis.KindSecret, create)
}
